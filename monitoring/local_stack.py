"""Monitoring for the local stack: provision, render and start Prometheus, the project's exporter
and the JMX exporter agents of Kafka and Kafka Connect.

Standard library only (like `stack/stack.py`, which calls these functions):

    from monitoring import local_stack as mon

    mon.ensure_tools()                                   # Prometheus + promtool (Debian), the JMX agent jar (Maven)
    kafka_cmd = [..., *mon.jvm_flags("kafka"), ...]      # before the main class of Kafka ...
    connect_cmd = [..., *mon.jvm_flags("connect"), ...]  # ... and of Kafka Connect
    argv, env = mon.exporter_args(state_dir)             # the part named "exporter"
    argv = mon.prometheus_args(state_dir)                # and the part named "prometheus"
    mon.prometheus_ready(), mon.exporter_ready()         # health checks for `make status`

Ports (in chassis/local.py, each moves with its variable): Prometheus `CALORIES_PROMETHEUS_PORT`
(9090), the project's exporter `CALORIES_EXPORTER_PORT` (9310), Kafka's JMX agent
`CALORIES_KAFKA_JMX_PORT` (9404), Connect's `CALORIES_CONNECT_JMX_PORT` (9405). The scrape targets
come from `chassis.local` (SERVICES, PROCESSORS), each labelled `process="<part name>"` and
`service="<owning service>"`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from string import Template

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # stack/stack.py runs as a script
    sys.path.insert(0, str(ROOT))

from chassis import local  # noqa: E402 - stdlib-only module
from stack.parts import STATE, http_ok  # noqa: E402 - the stack's state folder and health check

HERE = Path(__file__).resolve().parent
PROMETHEUS_DIR = HERE / "prometheus"
JMX_DIR = HERE / "jmx"

# The ports live with every other local port in chassis/local.py (each moves with its variable).
PROMETHEUS_PORT = local.PROMETHEUS_PORT
EXPORTER_PORT = local.EXPORTER_PORT
JMX_PORTS = {"kafka": local.KAFKA_JMX_PORT, "connect": local.CONNECT_JMX_PORT}
JMX_AGENT = ("io.prometheus.jmx", "jmx_prometheus_javaagent", "1.0.1")  # newest Maven Central serves here
SCRAPE_INTERVAL = os.environ.get("CALORIES_SCRAPE_INTERVAL", "5s")
# The payment deadline the saga alert compares with (apis/orders/settings.py, same variable).
DEFAULT_PAYMENT_DEADLINE = 900


def log(msg: str) -> None:
    print(f"[monitoring] {msg}", flush=True)


# ----------------------------------------------------------------------------------- tools

def apt_install(*packages: str) -> None:
    """`apt-get install` without letting a package start its own daemon (Debian's prometheus
    package would start one on :9090): a policy-rc.d that refuses every start, for this run."""
    if os.geteuid() != 0:
        raise SystemExit(f"[monitoring] {' '.join(packages)} missing: as root, `apt-get install "
                         f"--no-install-recommends {' '.join(packages)}` (or run `make monitoring-tools` as root)")
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        policy.write_text("#!/bin/sh\n# written by monitoring/local_stack.py for one apt-get run\nexit 101\n")
        policy.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        log(f"installing {' '.join(packages)} from Debian's packages")
        done = subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:  # an old package list: update once, then retry
            subprocess.run(["apt-get", "update", "-q"], env=env, check=True, capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
                           env=env, check=True, capture_output=True)
    finally:
        if ours:
            policy.unlink(missing_ok=True)
    if "prometheus" in packages:
        stop_debian_prometheus()


def stop_debian_prometheus() -> None:
    """Debian's own prometheus service must never hold :9090; stop and disable it if it runs."""
    if shutil.which("systemctl") and Path("/run/systemd/system").exists():
        subprocess.run(["systemctl", "disable", "--now", "prometheus"], capture_output=True)
    pidfile = Path("/run/prometheus.pid")
    if pidfile.exists() and shutil.which("invoke-rc.d"):
        subprocess.run(["invoke-rc.d", "--force", "prometheus", "stop"], capture_output=True)


def prometheus_bin() -> str:
    return shutil.which("prometheus") or "/usr/bin/prometheus"


def promtool_bin() -> str:
    return shutil.which("promtool") or "/usr/bin/promtool"


def ensure_prometheus() -> tuple[str, str]:
    """Prometheus and promtool (Debian's `prometheus` package, 2.42): installed when missing."""
    if not (Path(prometheus_bin()).exists() and Path(promtool_bin()).exists()):
        apt_install("prometheus")
    return prometheus_bin(), promtool_bin()


def ensure_graphviz() -> str:
    """Graphviz's `dot` (Debian), for the service map's PNG."""
    if not shutil.which("dot"):
        apt_install("graphviz")
    return shutil.which("dot") or "/usr/bin/dot"


def jmx_agent_jar(lib: Path | None = None) -> Path:
    _, artifact, version = JMX_AGENT
    return (lib or STATE / "lib" / "monitoring") / f"{artifact}-{version}.jar"


def ensure_jmx_agent(lib: Path | None = None) -> Path:
    """The Prometheus JMX exporter Java agent from Maven Central (through `mvn`, like the engines)."""
    jar = jmx_agent_jar(lib)
    if jar.exists():
        return jar
    jar.parent.mkdir(parents=True, exist_ok=True)
    group, artifact, version = JMX_AGENT
    log(f"fetching {group}:{artifact}:{version} from Maven Central")
    subprocess.run(["mvn", "-q", "-B", "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy",
                    f"-Dartifact={group}:{artifact}:{version}", f"-DoutputDirectory={jar.parent}"],
                   check=True, cwd=jar.parent)
    if not jar.exists():
        raise SystemExit(f"[monitoring] {jar} missing after mvn dependency:copy")
    return jar


def ensure_tools() -> None:
    ensure_prometheus()
    ensure_jmx_agent()


def jvm_flags(part: str, lib: Path | None = None) -> list[str]:
    """The JVM flag that loads the JMX exporter agent into Kafka (`part="kafka"`) or Connect
    (`"connect"`), serving /metrics on 127.0.0.1:<port> with the rules in monitoring/jmx/<part>.yml."""
    jar = ensure_jmx_agent(lib)
    return [f"-javaagent:{jar}=127.0.0.1:{JMX_PORTS[part]}:{JMX_DIR / f'{part}.yml'}"]


# ------------------------------------------------------------------------- configuration

def part_service(part: str) -> str:
    if part in local.SERVICES:
        return part
    if part in local.PROCESSORS:
        return local.owner(part)
    engines = {"kafka": "kafka", "connect": "connect", "exporter": "monitoring", "prometheus": "monitoring"}
    return engines.get(part, part)


def _targets(parts: dict[str, int]) -> str:
    """A static_configs list (JSON is YAML), one target per part with its labels."""
    return json.dumps([{"targets": [f"127.0.0.1:{port}"], "labels": {"process": name, "service": part_service(name)}}
                       for name, port in parts.items()])


def payment_deadline() -> int:
    return int(os.environ.get("CALORIES_ORDER_PAYMENT_DEADLINE_SECONDS", str(DEFAULT_PAYMENT_DEADLINE)))


def render_config(out_dir: Path, rules_dir: Path | None = None, *, exporter_port: int | None = None,
                  prometheus_port: int | None = None, scrape_interval: str | None = None) -> Path:
    """Write `prometheus.yml` (from monitoring/prometheus/prometheus.yml.tmpl) and the rule files
    into `out_dir`; return the config's path. Ports follow chassis.local and the variables above
    (a test running its own Prometheus and exporter passes theirs)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    rules_dir = rules_dir or out_dir / "rules"
    rules_dir.mkdir(parents=True, exist_ok=True)
    for rules in sorted((PROMETHEUS_DIR / "rules").glob("*.yml")):
        text = rules.read_text()
        if rules.name == "settings.yml":  # the saga deadline, from the same variable orders reads
            text = text.replace("vector(900)", f"vector({payment_deadline()})")
        (rules_dir / rules.name).write_text(text)
    services = {name: local.service_port(name) for name in local.SERVICES}
    processors = {name: local.processor_port(name) for name in local.PROCESSORS}
    text = Template((PROMETHEUS_DIR / "prometheus.yml.tmpl").read_text()).substitute(
        scrape_interval=scrape_interval or SCRAPE_INTERVAL,
        rules_glob=str(rules_dir / "*.yml"),
        api_targets=_targets(services),
        processor_targets=_targets(processors),
        kafka_jmx_targets=_targets({"kafka": JMX_PORTS["kafka"]}),
        connect_jmx_targets=_targets({"connect": JMX_PORTS["connect"]}),
        exporter_targets=_targets({"exporter": exporter_port or EXPORTER_PORT}),
        prometheus_targets=_targets({"prometheus": prometheus_port or PROMETHEUS_PORT}),
    )
    config = out_dir / "prometheus.yml"
    config.write_text(text)
    return config


# ------------------------------------------------------------------------------ processes

def prometheus_args(state: Path = STATE, port: int | None = None, data_dir: Path | None = None,
                    retention: str = "2d") -> list[str]:
    """argv for Prometheus with the rendered config, its data under `<state>/data/prometheus`,
    listening on 127.0.0.1 only. `/-/reload` is enabled: re-render and POST it after a change."""
    port = port or PROMETHEUS_PORT
    config = render_config(state / "etc" / "prometheus")
    data = data_dir or state / "data" / "prometheus"
    data.mkdir(parents=True, exist_ok=True)
    return [prometheus_bin(), f"--config.file={config}", f"--storage.tsdb.path={data}",
            f"--storage.tsdb.retention.time={retention}", f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle", "--log.level=warn"]


def exporter_args(state: Path = STATE, port: int | None = None) -> tuple[list[str], dict[str, str]]:
    """argv and extra environment for the project's exporter (runs in the project's virtualenv)."""
    python = ROOT / ".venv" / "bin" / "python"
    argv = [str(python if python.exists() else sys.executable), "-m", "monitoring.exporter",
            "--port", str(port or EXPORTER_PORT), "--run-dir", str(state / "run")]
    return argv, {"PYTHONPATH": str(ROOT)}


def spawn_args_prometheus(state: Path = STATE) -> tuple[list[str], dict[str, str]]:
    return prometheus_args(state), {}


def spawn_args_exporter(state: Path = STATE) -> tuple[list[str], dict[str, str]]:
    return exporter_args(state)


def prometheus_ready(port: int | None = None) -> bool:
    return http_ok(f"http://127.0.0.1:{port or PROMETHEUS_PORT}/-/ready")


def exporter_ready(port: int | None = None) -> bool:
    # Its /metrics is all it serves, computed at each request (the whole stack's /proc, Postgres and
    # Kafka): seconds on a busy machine, so it gets Prometheus' scrape timeout for it (8 s), not 2 s.
    return http_ok(f"http://127.0.0.1:{port or EXPORTER_PORT}/metrics", timeout=8)


def jmx_ready(part: str) -> bool:
    return http_ok(f"http://127.0.0.1:{JMX_PORTS[part]}/metrics")


def main(argv: list[str]) -> int:
    """`python monitoring/local_stack.py tools|render DIR|flags PART` — for make targets and humans."""
    if argv[:1] == ["tools"]:
        ensure_tools()
        return 0
    if argv[:1] == ["render"] and len(argv) == 2:
        print(render_config(Path(argv[1])))
        return 0
    if argv[:1] == ["flags"] and len(argv) == 2:
        print(" ".join(jvm_flags(argv[1])))
        return 0
    print(main.__doc__)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
