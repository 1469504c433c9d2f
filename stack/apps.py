"""The apps: one uvicorn process per service, one Faust worker per stream processor, and nginx as
the HTTP gateway. Which exist and their ports come from chassis/local.py."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import sys
import threading
import time

from chassis import local
from stack import forkserver
from stack.parts import DATA, LOGS, ROOT, RUN, STATE, Part, fail, fill, http_ok, render, spawn

VENV_PYTHON = ROOT / ".venv" / "bin" / "python"


def python() -> str:
    return str(VENV_PYTHON) if VENV_PYTHON.exists() else sys.executable


def app_env() -> dict[str, str]:
    """Every port of the stack, as the apps' settings read them (chassis/local.py, chassis/settings.py),
    and the places that move with the state folder."""
    ports = {
        "PG": local.PG_PORT, "KAFKA": local.KAFKA_PORT, "KAFKA_CONTROLLER": local.KAFKA_CONTROLLER_PORT,
        "KAFKA_PROXIED": local.KAFKA_PROXIED_PORT, "KAFKA_PROXY": local.KAFKA_PROXY_PORT,
        "CONNECT": local.CONNECT_PORT, "REGISTRY": local.REGISTRY_PORT,
        "REGISTRY_MANAGEMENT": local.REGISTRY_MANAGEMENT_PORT, "GATEWAY": local.GATEWAY_PORT,
        "PROMETHEUS": local.PROMETHEUS_PORT, "EXPORTER": local.EXPORTER_PORT,
        "KAFKA_JMX": local.KAFKA_JMX_PORT, "CONNECT_JMX": local.CONNECT_JMX_PORT,
        **{s.upper(): local.service_port(s) for s in local.SERVICES},
        **{p.upper(): local.processor_port(p) for p in local.PROCESSORS},
    }
    env = {f"CALORIES_{name}_PORT": str(port) for name, port in ports.items()}
    auth = local.service_port("auth")
    moved = {"CALORIES_AUTH_JWKS_URL": f"http://127.0.0.1:{auth}/auth/.well-known/jwks.json",
             "CALORIES_AUTH_SIGNING_KEY_FILE": str(STATE / "secrets" / "auth-signing-key.pem")}
    return {**env, **moved, **{k: os.environ[k] for k in moved if k in os.environ},  # a given value wins
            "PYTHONPATH": str(ROOT), "CALORIES_FAUST_DATA_DIR": str(DATA / "faust"),
            "CALORIES_ENVIRONMENT": os.environ.get("CALORIES_ENVIRONMENT", "development")}  # required setting


FORKSERVER = RUN / "forkserver.sock"
_forkserver_lock = threading.Lock()


def _forkserver_answers() -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(str(FORKSERVER))
        except OSError:
            return False
    return True


def ensure_forkserver() -> None:
    """Start the fork server (stack/forkserver.py) unless it answers. It has no part of its own: its
    pid file makes it a stray to `down` and `apps`, which stop it with the apps."""
    # A file lock as well as the thread lock: `make up` runs two `stack.py apps …` at once.
    with _forkserver_lock, (RUN / "forkserver.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _forkserver_answers():
            return
        FORKSERVER.unlink(missing_ok=True)
        spawn("forkserver", [python(), "-m", "stack.forkserver", str(FORKSERVER)], {"PYTHONPATH": str(ROOT)},
              cwd=ROOT)
        deadline = time.monotonic() + 60
        while not _forkserver_answers():
            if time.monotonic() > deadline:
                fail("the fork server did not start in 60 s", f"read {LOGS / 'forkserver.log'}")
            time.sleep(0.1)


def spawn_python(name: str, module_argv: list[str], env: dict[str, str]) -> None:
    """`python -m <module_argv>` as a child of the fork server, which has the libraries imported."""
    ensure_forkserver()
    pid = forkserver.spawn(str(FORKSERVER), module_argv, {**os.environ, **env}, str(ROOT), str(LOGS / f"{name}.log"))
    (RUN / f"{name}.pid").write_text(str(pid))


def service_part(name: str) -> Part:
    port = local.service_port(name)

    def start() -> None:
        spawn_python(name, ["uvicorn", f"apis.{name}.app:app", "--host", "127.0.0.1", "--port", str(port),
                            "--no-access-log"], app_env())

    return Part(name, start, lambda: http_ok(f"http://127.0.0.1:{port}/readyz"), (port,), 90, grace=5)


def processor_part(name: str) -> Part:
    """Ready when its web port answers /readyz with 200: the worker has its partitions and has
    recovered its tables (chassis/streams.py)."""
    port = local.processor_port(name)

    def start() -> None:
        spawn_python(name, ["faust", "-A", f"stream_processors.{name}", "worker", "-l", "info"],
                     {**app_env(), "CALORIES_FAUST_WEB_PORT": str(port), "CALORIES_FAUST_GROUP_INSTANCE_ID": name})

    return Part(name, start, lambda: http_ok(f"http://127.0.0.1:{port}/readyz"), (port,), 120,
                grace=5)


def route_settings(service: str) -> dict[str, object]:
    """What stack/etc/nginx-route.tmpl is filled with for one service."""
    return {"service": service}


def upstream_settings(service: str) -> dict[str, object]:
    """What stack/etc/nginx-upstream.tmpl is filled with for one service."""
    return {"service": service, "port": local.service_port(service)}


def gateway_settings() -> dict[str, object]:
    """What stack/etc/nginx.conf.tmpl is filled with: the port, a route per service, the 404 body."""
    routes = "".join(fill("nginx-route", **route_settings(s)) for s in local.SERVICES)
    upstreams = "".join(fill("nginx-upstream", **upstream_settings(s)) for s in local.SERVICES)
    not_found = json.dumps({"type": "about:blank", "title": "Not Found", "status": 404,
                            "detail": "No service serves this path; the prefixes are "
                                      + ", ".join(f"/{s}" for s in local.SERVICES) + "."})
    return {"gateway_port": local.GATEWAY_PORT, "routes": routes.rstrip("\n"), "upstreams": upstreams.rstrip("\n"),
            "not_found": not_found}


def gateway_start() -> None:
    (RUN / "nginx").mkdir(exist_ok=True)
    os.chmod(RUN / "nginx", 0o777)  # nginx's workers run as www-data when started as root
    conf = render("nginx.conf", **gateway_settings())
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    spawn("gateway", [nginx, "-c", str(conf), "-p", str(STATE), "-e", str(LOGS / "gateway.log")])


def app_parts(group: str = "all") -> list[Part]:
    """The apps: `processors`, `services` (the HTTP services and the gateway) or `all`."""
    if group not in ("all", "processors", "services"):
        fail(f"no group of apps named {group!r}", "one of: all, processors, services")
    processors = [processor_part(p) for p in local.PROCESSORS]
    services = [*(service_part(s) for s in local.SERVICES),
                Part("gateway", gateway_start, lambda: http_ok(f"http://127.0.0.1:{local.GATEWAY_PORT}/healthz"),
                     (local.GATEWAY_PORT,), 30, grace=5)]
    return {"processors": processors, "services": services}.get(group, [*services, *processors])
