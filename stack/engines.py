"""The engines: Postgres (Debian's), Kafka in KRaft mode, Apicurio Registry and Kafka Connect with
Debezium (jars from Maven Central). Their settings are templates in stack/etc/. And the monitoring
(monitoring/local_stack.py): the project's exporter and Prometheus, with the JMX exporter agent
inside Kafka and Connect."""

from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import uuid
from pathlib import Path

from chassis import local
from monitoring import local_stack as mon
from stack.parts import DATA, ETC, LIB, LOGS, ROOT, RUN, STATE, Part, fail, fill, http_ok, log, port_open, render, spawn
from stack.provision import PG_BIN

PGDATA = DATA / "pg"
INCLUDE = f"include '{ETC / 'postgresql.conf'}'  # calories local stack\n"


def engine_settings() -> dict[str, dict[str, object]]:
    """What each engine's template (stack/etc/<name>.tmpl) is filled with, besides fill()'s defaults:
    the one place, so that a unit test fills every template with exactly these."""
    return {
        "pg_hba.conf": {},
        "postgresql.conf": {"pg_port": local.PG_PORT},
        "log4j2.properties": {},
        "kafka.properties": {"kafka_port": local.KAFKA_PORT, "controller_port": local.KAFKA_CONTROLLER_PORT,
                             "kafka_proxied_port": local.KAFKA_PROXIED_PORT,
                             "kafka_proxy_port": local.KAFKA_PROXY_PORT},
        "connect.properties": {"kafka_port": local.KAFKA_PORT, "connect_port": local.CONNECT_PORT},
        "registry.env": {"pg_port": local.PG_PORT, "registry_port": local.REGISTRY_PORT,
                         "registry_management_port": local.REGISTRY_MANAGEMENT_PORT,
                         "registry_password": local.db_password("registry")},
    }


def render_engine(template: str) -> Path:
    return render(template, **engine_settings()[template])


def as_pg_user(cmd: list[str]) -> list[str]:
    """Postgres refuses to run as root; as root it runs as Debian's `postgres` user."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def psql(sql: str, db: str = "postgres") -> str:
    out = subprocess.run(as_pg_user(["psql", "-h", str(RUN), "-p", str(local.PG_PORT), "-U", "postgres", "-d", db,
                                     "-tAq", "-v", "ON_ERROR_STOP=1", "-c", sql]),
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def pg_init() -> None:
    PGDATA.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(PGDATA, "postgres", "postgres")
        os.chmod(RUN, 0o777)  # the server's unix socket and lock file go there
    log("initialising the PostgreSQL cluster")
    subprocess.run(as_pg_user([str(PG_BIN / "initdb"), "-D", str(PGDATA), "-U", "postgres", "-A", "trust",
                               "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]),
                   check=True, stdout=subprocess.DEVNULL)
    with open(PGDATA / "pg_hba.conf", "a") as hba:
        hba.write(fill("pg_hba.conf", **engine_settings()["pg_hba.conf"]))


def pg_start() -> None:
    if not (PGDATA / "PG_VERSION").exists():
        pg_init()
    render_engine("postgresql.conf")  # the port and the rest, at every start
    conf = PGDATA / "postgresql.conf"
    if INCLUDE not in conf.read_text():
        with open(conf, "a") as f:
            f.write("\n" + INCLUDE)
    pglog = LOGS / "postgres.log"
    pglog.touch()
    if os.geteuid() == 0:
        shutil.chown(pglog, "postgres", "postgres")
    subprocess.run(as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(PGDATA), "-l", str(pglog), "-w", "start"]),
                   check=True, stdout=subprocess.DEVNULL)
    (RUN / "postgres.pid").write_text((PGDATA / "postmaster.pid").read_text().split()[0])
    existing = set(psql("SELECT datname FROM pg_database").split())
    for name in (n for n in local.DATABASES if n not in existing):
        # REPLICATION: the service's own role is the one its Debezium connector logs in with,
        # because a filtered publication can only be created by the owner of the outbox table.
        psql(f"CREATE ROLE {name} LOGIN REPLICATION PASSWORD '{local.db_password(name)}'")
        psql(f"CREATE DATABASE {name} OWNER {name}")
        log(f"created database and role {name}")


def pg_healthy() -> bool:
    ready = [str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(local.PG_PORT)]
    return subprocess.run(ready).returncode == 0


def java(heap: str, main: str, *args: str, flags: tuple[str, ...] | list[str] = ()) -> list[str]:
    """`flags` go before the main class (the JMX exporter agent: `mon.jvm_flags(part)`)."""
    return ["java", f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={render_engine('log4j2.properties')}", "-cp", str(LIB / "kafka" / "*"),
            *flags, main, *args]


def kafka_start() -> None:
    props = str(render_engine("kafka.properties"))
    if not (DATA / "kafka" / "meta.properties").exists():
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        log("formatting Kafka's KRaft storage")
        subprocess.run(java("128m", "kafka.tools.StorageTool", "format",
                            # `=`: a random id may start with "-", which argparse takes for an option.
                            f"--cluster-id={cluster_id}", "-c", props),
                       check=True, stdout=subprocess.DEVNULL)
    spawn("kafka", java("512m", "kafka.Kafka", props, flags=mon.jvm_flags("kafka")))


def connect_start() -> None:
    props = render_engine("connect.properties")
    spawn("connect", java("640m", "org.apache.kafka.connect.cli.ConnectDistributed", str(props),
                          flags=mon.jvm_flags("connect")))


def java_major(java_bin: str) -> int:
    out = subprocess.run([java_bin, "-version"], capture_output=True, text=True).stderr
    version = out.split('"')[1] if '"' in out else "0"
    return int(version.split(".")[0])


def registry_java() -> str:
    """Apicurio 3.3 is compiled for Java 21; Kafka and Connect run on the default Java 17."""
    candidates = [os.environ.get("CALORIES_REGISTRY_JAVA", ""), "java",
                  *sorted(map(str, Path("/usr/lib/jvm").glob("*/bin/java")), reverse=True)]
    for candidate in filter(None, candidates):
        if shutil.which(candidate) and java_major(candidate) >= 21:
            return candidate
    fail("Apicurio Registry 3.3 needs Java 21 or newer, and none was found",
         "install one (e.g. a Temurin JDK in /usr/lib/jvm) or point CALORIES_REGISTRY_JAVA at its bin/java")
    raise AssertionError


def registry_start() -> None:
    settings = render_engine("registry.env")
    lines = (line.strip() for line in settings.read_text().splitlines())
    env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    spawn("registry", [registry_java(), "-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                       "-XX:ReservedCodeCacheSize=48m", "-XX:MaxMetaspaceSize=160m",
                       "-jar", str(LIB / "apicurio" / "quarkus-run.jar")], env)


def engine_parts() -> list[Part]:
    """Postgres and Kafka start together; the registry needs Postgres, Connect needs Kafka.
    Postgres stops on SIGINT (its fast shutdown) to its postmaster alone."""
    return [
        Part("postgres", pg_start, pg_healthy, (local.PG_PORT,), 60, stop_signal=signal.SIGINT, group=False),
        Part("kafka", kafka_start, lambda: port_open(local.KAFKA_PORT),
             (local.KAFKA_PORT, local.KAFKA_CONTROLLER_PORT, local.KAFKA_PROXIED_PORT, local.KAFKA_JMX_PORT), 90),
        Part("registry", registry_start,
             lambda: http_ok(f"http://127.0.0.1:{local.REGISTRY_MANAGEMENT_PORT}/health/ready"),
             (local.REGISTRY_PORT, local.REGISTRY_MANAGEMENT_PORT), 180, after=("postgres",)),
        Part("connect", connect_start, lambda: http_ok(f"http://127.0.0.1:{local.CONNECT_PORT}/connectors"),
             (local.CONNECT_PORT, local.CONNECT_JMX_PORT), 180, after=("kafka",)),
    ]


def exporter_start() -> None:
    argv, env = mon.exporter_args(STATE)
    spawn("exporter", argv, env, cwd=ROOT)


def prometheus_start() -> None:
    spawn("prometheus", mon.prometheus_args(STATE))


def monitoring_parts() -> list[Part]:
    """The project's exporter (it reads Postgres and Kafka) and Prometheus, started last: it scrapes
    every service, processor, JMX agent and the exporter (ports in chassis/local.py)."""
    return [
        Part("exporter", exporter_start, mon.exporter_ready, (local.EXPORTER_PORT,), 60,
             after=("postgres", "kafka"), grace=5),
        Part("prometheus", prometheus_start, mon.prometheus_ready, (local.PROMETHEUS_PORT,), 60,
             after=("postgres", "kafka", "registry", "connect", "exporter")),
    ]
