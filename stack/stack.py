"""The local event stack as real processes: provision, start, health-check, stop.

Postgres (and Prometheus) come from Debian's packages, Kafka, Kafka Connect, Debezium, Apicurio
Registry (and the JMX exporter agent) from Maven Central. Everything lives under one state folder
(`.stack/`, or CALORIES_STACK_DIR): downloads, engines, data, rendered settings (etc/, from the
templates in stack/etc/), pid files and logs. Ports and the lists of services and processors come
from chassis/local.py.

Standard library only, so it runs before any virtualenv exists.
Usage: python stack/stack.py {provision|up|apps [processors|services]|down|status|start NAME|stop NAME|
                              restart NAME|kill NAME|wait NAME...|strays}
  up: the engines (Postgres and Kafka, then the registry and Connect) and the monitoring (the exporter
  after Postgres and Kafka, Prometheus last); apps: (re)start the services, the stream processors
  and the HTTP gateway, all at once (or one group of them); down: everything, apps first;
  kill: SIGKILL, for crash tests; wait: until the named parts are healthy, whoever starts them;
  strays: stop what a pid file names that is no part (the fork server, a renamed app).
"""

from __future__ import annotations

import signal
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root: chassis, stack

from stack.apps import app_parts
from stack.engines import engine_parts, monitoring_parts
from stack.lifecycle import start_all, stop_all, wait_healthy
from stack.parts import RUN, STATE, Part, fail
from stack.provision import provision


def all_parts() -> list[Part]:
    return [*engine_parts(), *monitoring_parts(), *app_parts()]


def strays() -> list[Part]:
    """Pid files of parts that no longer exist (e.g. a processor renamed since it was started)."""
    known = {p.name for p in all_parts()} | {"nginx"}  # nginx.pid is nginx's own, under the gateway
    return [Part(f.stem, lambda: None, None, grace=5) for f in sorted(RUN.glob("*.pid")) if f.stem not in known]


def down() -> None:
    """The apps, the monitoring, Connect and the registry at once (nothing else uses them); then
    Kafka and Postgres."""
    engines = {p.name: p for p in engine_parts()}
    stop_all([*app_parts(), *strays(), *monitoring_parts(), engines["connect"], engines["registry"]])
    stop_all([engines["kafka"], engines["postgres"]])


def status() -> int:
    parts = [*all_parts(), *strays()]
    with ThreadPoolExecutor(8) as pool:
        health = list(pool.map(lambda p: (p.pid(), p.healthy()), parts))
    for part, (pid, ok) in zip(parts, health, strict=True):
        print(f"{part.name:26} {'up' if ok else 'DOWN':5} pid={pid or '-':<8} log={part.logfile}")
    return 0 if all(ok for _, ok in health) else 1


def named(names: list[str]) -> list[Part]:
    parts = {p.name: p for p in all_parts()}
    if unknown := [n for n in names if n not in parts]:
        fail(f"no part named {', '.join(unknown)} in {STATE}", "one of: " + ", ".join(parts))
    return [parts[n] for n in names]


def single(cmd: str, name: str) -> None:
    [part] = named([name])
    if cmd in ("stop", "restart"):
        stop_all([part])
    if cmd == "kill":
        stop_all([part], sig=signal.SIGKILL)
    if cmd in ("start", "restart"):
        start_all([part])


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "status"
    if cmd == "provision":
        provision()
    elif cmd == "up":
        provision()
        start_all([*engine_parts(), *monitoring_parts()])
    elif cmd == "apps" and len(argv) <= 2:
        # Restarted every time, so what runs is the code in the work tree. A group alone leaves the
        # strays (the fork server among them) to `apps` and `down`: the other group may be using it.
        group = argv[1] if len(argv) == 2 else "all"
        stop_all([*app_parts(group), *(strays() if group == "all" else [])])
        start_all(app_parts(group))
    elif cmd == "strays":
        stop_all(strays())
    elif cmd == "wait" and len(argv) >= 2:
        wait_healthy(named(argv[1:]))
    elif cmd == "down":
        down()
    elif cmd == "status":
        return status()
    elif cmd in ("start", "stop", "kill", "restart") and len(argv) == 2:
        single(cmd, argv[1])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
