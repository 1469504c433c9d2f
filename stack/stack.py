"""The local event stack as real processes: provision, start, health-check, stop.

Postgres comes from Debian's packages, Kafka, Kafka Connect, Debezium and Apicurio Registry
from Maven Central (run with the machine's Java 17). Everything lives under one state folder
(`.stack/` by default): downloads, unpacked engines, data, pid files and one log folder.

Standard library only, so it runs before any virtualenv exists.
Usage: python stack/stack.py {provision|up|apps|down|status|start NAME|stop NAME|restart NAME|kill NAME}
  up: the engines (Postgres, Kafka, registry, Connect); apps: (re)start the services, the stream
  processors and the HTTP gateway; kill: SIGKILL, for crash tests.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATE = Path(os.environ.get("CALORIES_STACK_DIR", ROOT / ".stack")).resolve()
LOGS, RUN, DATA, ETC = STATE / "logs", STATE / "run", STATE / "data", STATE / "etc"
DOWNLOADS, LIB, PLUGINS = STATE / "downloads", STATE / "lib", STATE / "plugins"

PG_PORT = int(os.environ.get("CALORIES_PG_PORT", "55432"))
KAFKA_PORT = int(os.environ.get("CALORIES_KAFKA_PORT", "9092"))
CONTROLLER_PORT = int(os.environ.get("CALORIES_KAFKA_CONTROLLER_PORT", "9093"))
CONNECT_PORT = int(os.environ.get("CALORIES_CONNECT_PORT", "8083"))
REGISTRY_PORT = int(os.environ.get("CALORIES_REGISTRY_PORT", "8081"))
REGISTRY_MGMT_PORT = int(os.environ.get("CALORIES_REGISTRY_MANAGEMENT_PORT", "8084"))

# One database (and one role owning it) per service, plus the registry's storage and a
# scratch database the stack's own integration tests write their outbox rows to.
SERVICES = ("auth", "users", "records", "restaurants", "recommendations", "orders", "payments",
            "delivery", "notifications")
DATABASES = (*SERVICES, "registry", "stacktest")

KAFKA_VERSION = "4.3.1"
DEBEZIUM_VERSION = "3.6.1.Final"
APICURIO_VERSION = "3.3.3"
PG_BIN = Path(os.environ.get("CALORIES_PG_BIN", "/usr/lib/postgresql/15/bin"))


def log(msg: str) -> None:
    print(f"[stack] {msg}", flush=True)


def fail(msg: str, fix: str) -> None:
    print(f"[stack] FAILED: {msg}\n[stack] how to fix: {fix}", file=sys.stderr, flush=True)
    sys.exit(1)


def run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def db_password(name: str) -> str:
    # Local-only credentials; the Helm charts take theirs from Kubernetes secrets.
    return f"{name}-local"


# --------------------------------------------------------------------------- provisioning

def provision_postgres() -> None:
    if (PG_BIN / "postgres").exists():
        return
    log("PostgreSQL not found: installing Debian's postgresql package (apt-get)")
    if os.geteuid() != 0:
        fail("PostgreSQL is not installed and this user cannot apt-get",
             "sudo apt-get install -y postgresql, or set CALORIES_PG_BIN to a PostgreSQL bin folder")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env)
    run(["apt-get", "install", "-y", "-q", "postgresql"], env=env)
    # Debian starts a cluster of its own on 5432; ours is separate, so leave theirs alone.
    if not (PG_BIN / "postgres").exists():
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
        if not found:
            fail("apt-get installed postgresql but no server binary was found", "check apt's output above")
        fail(f"PostgreSQL installed at {found[-1].parent}, not {PG_BIN}",
             f"export CALORIES_PG_BIN={found[-1].parent}")


def provision_nginx() -> None:
    if shutil.which("nginx") or Path("/usr/sbin/nginx").exists():
        return
    log("nginx not found: installing Debian's nginx package (apt-get) for the HTTP gateway")
    if os.geteuid() != 0:
        fail("nginx is not installed and this user cannot apt-get", "sudo apt-get install -y nginx")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "nginx"], env=env, stdout=subprocess.DEVNULL)


def maven(args: list[str], what: str) -> None:
    log(f"fetching {what} from Maven Central (first run only; cached in ~/.m2)")
    try:
        run(["mvn", "-B", "-q", "-Dstyle.color=never", "-f", str(ROOT / "stack" / "maven" / "pom.xml"), *args])
    except FileNotFoundError:
        fail("mvn is not installed", "apt-get install -y maven")
    except subprocess.CalledProcessError:
        fail(f"Maven could not fetch {what}", "check network access to Maven Central and re-run `make up`")


def provision_jvm_parts() -> None:
    kafka_lib = LIB / "kafka"
    if not (kafka_lib / f"kafka_2.13-{KAFKA_VERSION}.jar").exists():
        shutil.rmtree(kafka_lib, ignore_errors=True)
        maven(["dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={kafka_lib}"],
              f"Kafka {KAFKA_VERSION} broker and Connect runtime")
    plugin = PLUGINS / "debezium-connector-postgres"
    if not (plugin / f"debezium-connector-postgres-{DEBEZIUM_VERSION}.jar").exists():
        coords = f"io.debezium:debezium-connector-postgres:{DEBEZIUM_VERSION}:tar.gz:plugin"
        maven(["dependency:copy", f"-Dartifact={coords}", f"-DoutputDirectory={DOWNLOADS}"],
              f"Debezium PostgreSQL connector {DEBEZIUM_VERSION}")
        unpack(DOWNLOADS / f"debezium-connector-postgres-{DEBEZIUM_VERSION}-plugin.tar.gz", PLUGINS)
    registry = LIB / "apicurio"
    if not (registry / "quarkus-run.jar").exists():
        coords = f"io.apicurio:apicurio-registry-app:{APICURIO_VERSION}:tar.gz:all"
        maven(["dependency:copy", f"-Dartifact={coords}", f"-DoutputDirectory={DOWNLOADS}"],
              f"Apicurio Registry {APICURIO_VERSION}")
        shutil.rmtree(registry, ignore_errors=True)
        unpack(DOWNLOADS / f"apicurio-registry-app-{APICURIO_VERSION}-all.tar.gz", registry)


def unpack(archive: Path, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")


def provision() -> None:
    for d in (LOGS, RUN, DATA, ETC, DOWNLOADS, LIB, PLUGINS):
        d.mkdir(parents=True, exist_ok=True)
    if shutil.which("java") is None:
        fail("java is not installed", "apt-get install -y openjdk-17-jre-headless")
    provision_postgres()
    provision_nginx()
    provision_jvm_parts()


# --------------------------------------------------------------------------- processes

@dataclass
class Part:
    name: str
    start: Callable[[], None]
    check: Callable[[], bool] | None  # None: alive is all that can be checked
    timeout: float = 120.0

    def healthy(self) -> bool:
        return self.check() if self.check else self.pid() is not None

    @property
    def pidfile(self) -> Path:
        return RUN / f"{self.name}.pid"

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text())
            os.kill(pid, 0)
            return pid
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None


def spawn(name: str, cmd: list[str], env: dict[str, str] | None = None, cwd: Path = STATE) -> None:
    logfile = open(LOGS / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child process
    proc = subprocess.Popen(cmd, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            cwd=cwd, env={**os.environ, **(env or {})}, start_new_session=True)
    (RUN / f"{name}.pid").write_text(str(proc.pid))


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return 200 <= resp.status < 300
    except (urllib.error.URLError, OSError):
        return False


def java(heap: str, classpath: str, main: str, *args: str) -> list[str]:
    return ["java", f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={ETC / 'log4j2.properties'}", "-cp", classpath, main, *args]


# Postgres refuses to run as root; as root we run it as Debian's `postgres` user.
def as_pg_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


PGDATA = DATA / "pg"


def pg_start() -> None:
    if not (PGDATA / "PG_VERSION").exists():
        PGDATA.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(PGDATA, "postgres", "postgres")
            os.chmod(RUN, 0o777)  # the server's unix socket and lock file go there
        log("initialising the PostgreSQL cluster")
        run(as_pg_user([str(PG_BIN / "initdb"), "-D", str(PGDATA), "-U", "postgres", "-A", "trust",
                        "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"]),
            stdout=subprocess.DEVNULL)
        with open(PGDATA / "postgresql.conf", "a") as conf:
            conf.write(f"""
# calories local stack
listen_addresses = '127.0.0.1'
port = {PG_PORT}
unix_socket_directories = '{RUN}'
wal_level = logical
max_replication_slots = 20
max_wal_senders = 20
max_connections = 300
shared_buffers = 128MB
logging_collector = off
""")
        with open(PGDATA / "pg_hba.conf", "a") as hba:
            hba.write("host replication all 127.0.0.1/32 scram-sha-256\n")
    pglog = LOGS / "postgres.log"
    pglog.touch()
    if os.geteuid() == 0:
        shutil.chown(pglog, "postgres", "postgres")
    subprocess.run(as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(PGDATA), "-l", str(pglog),
                               "-w", "start"]), check=True, stdout=subprocess.DEVNULL)
    pid = (PGDATA / "postmaster.pid").read_text().split()[0]
    (RUN / "postgres.pid").write_text(pid)
    pg_create_databases()


def psql(sql: str, db: str = "postgres") -> str:
    out = subprocess.run(as_pg_user(["psql", "-h", str(RUN), "-p", str(PG_PORT), "-U", "postgres", "-d", db,
                                     "-tAq", "-v", "ON_ERROR_STOP=1", "-c", sql]),
                         check=True, capture_output=True, text=True)
    return out.stdout.strip()


def pg_create_databases() -> None:
    existing = set(psql("SELECT datname FROM pg_database").split())
    for name in DATABASES:
        if name in existing:
            continue
        # REPLICATION: the service's own role is the one its Debezium connector logs in with,
        # because a filtered publication can only be created by the owner of the outbox table.
        psql(f"CREATE ROLE {name} LOGIN REPLICATION PASSWORD '{db_password(name)}'")
        psql(f"CREATE DATABASE {name} OWNER {name}")
        log(f"created database and role {name}")


def pg_healthy() -> bool:
    return subprocess.run([str(PG_BIN / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(PG_PORT)]).returncode == 0


def write_log4j() -> None:
    (ETC / "log4j2.properties").write_text("""\
status = error
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.stdout.ref = STDOUT
logger.kafka.name = kafka
logger.kafka.level = WARN
logger.kafkaorg.name = org.apache.kafka
logger.kafkaorg.level = WARN
logger.reflections.name = org.reflections
logger.reflections.level = ERROR
logger.connect.name = org.apache.kafka.connect.runtime.rest
logger.connect.level = WARN
logger.debezium.name = io.debezium
logger.debezium.level = INFO
""")


def kafka_start() -> None:
    write_log4j()
    props = ETC / "kafka.properties"
    props.write_text(f"""\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{CONTROLLER_PORT}
listeners=PLAINTEXT://127.0.0.1:{KAFKA_PORT},CONTROLLER://127.0.0.1:{CONTROLLER_PORT}
advertised.listeners=PLAINTEXT://127.0.0.1:{KAFKA_PORT}
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs={DATA / 'kafka'}
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
log.retention.hours=168
""")
    cp = str(LIB / "kafka" / "*")
    if not (DATA / "kafka" / "meta.properties").exists():
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
        log("formatting Kafka's KRaft storage")
        run(java("128m", cp, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)),
            stdout=subprocess.DEVNULL)
    spawn("kafka", java("512m", cp, "kafka.Kafka", str(props)))


def connect_start() -> None:
    write_log4j()
    props = ETC / "connect.properties"
    props.write_text(f"""\
bootstrap.servers=127.0.0.1:{KAFKA_PORT}
group.id=calories-connect
listeners=http://127.0.0.1:{CONNECT_PORT}
rest.advertised.host.name=127.0.0.1
plugin.path={PLUGINS}
key.converter=org.apache.kafka.connect.storage.StringConverter
value.converter=org.apache.kafka.connect.converters.ByteArrayConverter
config.storage.topic=_calories.connect.configs
offset.storage.topic=_calories.connect.offsets
status.storage.topic=_calories.connect.status
config.storage.replication.factor=1
offset.storage.replication.factor=1
offset.storage.partitions=5
status.storage.replication.factor=1
status.storage.partitions=1
# Source offsets are flushed every second: after a crash at most ~1 s of events is re-sent
# (consumers dedupe on the event id), instead of Connect's default 60 s.
offset.flush.interval.ms=1000
# Idempotent producer: a retried send after a broker hiccup is not written twice.
producer.enable.idempotence=true
producer.acks=all
producer.max.in.flight.requests.per.connection=5
producer.linger.ms=5
""")
    spawn("connect", java("640m", str(LIB / "kafka" / "*"), "org.apache.kafka.connect.cli.ConnectDistributed",
                          str(props)))


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
    env = {
        "QUARKUS_MANAGEMENT_PORT": str(REGISTRY_MGMT_PORT),
        "QUARKUS_MANAGEMENT_HOST": "127.0.0.1",
        "QUARKUS_HTTP_PORT": str(REGISTRY_PORT),
        "QUARKUS_HTTP_HOST": "127.0.0.1",
        # Postgres storage: schema ids must survive a registry restart, or every event already
        # on Kafka (which carries its schema id) would become undecodable.
        "APICURIO_STORAGE_KIND": "sql",
        "APICURIO_STORAGE_SQL_KIND": "postgresql",
        "APICURIO_DATASOURCE_URL": f"jdbc:postgresql://127.0.0.1:{PG_PORT}/registry",
        "APICURIO_DATASOURCE_USERNAME": "registry",
        "APICURIO_DATASOURCE_PASSWORD": db_password("registry"),
        "APICURIO_RULES_GLOBAL_COMPATIBILITY": "BACKWARD",
        "APICURIO_RULES_GLOBAL_VALIDITY": "FULL",
        # The default pool keeps 20 Postgres connections open; a local registry needs a few.
        "APICURIO_DATASOURCE_JDBC_INITIAL_SIZE": "2",
        "APICURIO_DATASOURCE_JDBC_MIN_SIZE": "2",
        "APICURIO_DATASOURCE_JDBC_MAX_SIZE": "10",
        # io.apicurio is pinned to INFO in the bundled config and logs every request otherwise.
        "QUARKUS_LOG_LEVEL": "WARN",
        "QUARKUS_LOG_CATEGORY__IO_APICURIO__LEVEL": "WARN",
        "QUARKUS_HTTP_ACCESS_LOG_ENABLED": "false",
    }
    spawn("registry", [registry_java(), "-Xms32m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                       "-XX:ReservedCodeCacheSize=48m", "-XX:MaxMetaspaceSize=160m",
                       "-jar", str(LIB / "apicurio" / "quarkus-run.jar")], env)


# ----------------------------------------------------------------------------- the apps

GATEWAY_PORT = int(os.environ.get("CALORIES_GATEWAY_PORT", "8000"))
# Each service's own port; the gateway routes /<service>/... to it (as the Kubernetes ingress does).
SERVICE_PORTS = {name: 8101 + i for i, name in enumerate(SERVICES)}


def built_services() -> list[str]:
    return [s for s in SERVICES if (ROOT / "apis" / s / "app.py").exists()]


def stream_processors() -> list[str]:
    return sorted(p.stem for p in (ROOT / "stream_processors").glob("*.py") if not p.stem.startswith("_"))


def app_env() -> dict[str, str]:
    return {"PYTHONPATH": str(ROOT), "CALORIES_FAUST_DATA_DIR": str(DATA / "faust")}


def service_part(name: str) -> Part:
    port = SERVICE_PORTS[name]

    def start() -> None:
        spawn(name, [sys.executable, "-m", "uvicorn", f"apis.{name}.app:app", "--host", "127.0.0.1",
                     "--port", str(port), "--no-access-log"], app_env(), cwd=ROOT)

    return Part(name, start, lambda: http_ok(f"http://127.0.0.1:{port}/readyz"), 60)


def processor_part(module: str) -> Part:
    name = module.replace("_", "-")
    logfile = LOGS / f"{name}.log"
    started_at = {"offset": 0}

    def start() -> None:
        started_at["offset"] = logfile.stat().st_size if logfile.exists() else 0
        spawn(name, [sys.executable, "-m", "faust", "-A", f"stream_processors.{module}", "worker", "-l", "info",
                    "--without-web"],
              app_env(), cwd=ROOT)

    def ready() -> bool:
        # A worker has no port of its own: ready is alive and Faust having logged "Worker: Ready"
        # since this start (after partitions were assigned and recovery finished).
        part = Part(name, start, None)
        if part.pid() is None or not logfile.exists():
            return False
        with open(logfile, "rb") as f:
            f.seek(started_at["offset"])
            return b"[^Worker]: Ready" in f.read()

    return Part(name, start, ready, 60)


def gateway_start() -> None:
    # Both /records (collections: POST /records) and /records/... go to the service.
    routes = "".join(f"""
    location = /{svc} {{ proxy_pass http://127.0.0.1:{SERVICE_PORTS[svc]}; }}
    location /{svc}/ {{ proxy_pass http://127.0.0.1:{SERVICE_PORTS[svc]}; }}""" for svc in built_services())
    temp = RUN / "nginx"
    temp.mkdir(exist_ok=True)
    os.chmod(temp, 0o777)
    not_found = json.dumps({"type": "about:blank", "title": "Not Found", "status": 404,
                            "detail": "No service serves this path; the prefixes are "
                                      + ", ".join(f"/{s}" for s in SERVICES) + "."})
    conf = ETC / "nginx.conf"
    conf.write_text(f"""daemon off;
worker_processes 1;
pid {RUN / 'nginx.pid'};
error_log {LOGS / 'gateway.log'} warn;
events {{ worker_connections 1024; }}
http {{
  access_log {LOGS / 'gateway-access.log'};
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  client_max_body_size 1m;
  proxy_http_version 1.1;
  proxy_set_header Connection "";
  proxy_set_header Host $host;
  proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
  proxy_set_header X-Forwarded-Proto $scheme;
  # Server-Sent Events: pass each event through at once, keep the stream open.
  proxy_buffering off;
  proxy_read_timeout 1h;
  server {{
    listen 127.0.0.1:{GATEWAY_PORT};
    location = /healthz {{ default_type application/json; return 200 '{{"status":"ok"}}'; }}{routes}
    location / {{
      default_type application/problem+json;
      return 404 '{not_found}';
    }}
  }}
}}
""")
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    spawn("gateway", [nginx, "-c", str(conf), "-p", str(STATE), "-e", str(LOGS / "gateway.log")])


def app_parts() -> list[Part]:
    return [*(service_part(s) for s in built_services()), *(processor_part(m) for m in stream_processors()),
            Part("gateway", gateway_start, lambda: http_ok(f"http://127.0.0.1:{GATEWAY_PORT}/healthz"), 30)]


PARTS = [
    Part("postgres", pg_start, pg_healthy, 60),
    Part("kafka", kafka_start, lambda: _port_open(KAFKA_PORT), 90),
    Part("registry", registry_start, lambda: http_ok(f"http://127.0.0.1:{REGISTRY_MGMT_PORT}/health/ready"), 180),
    Part("connect", connect_start, lambda: http_ok(f"http://127.0.0.1:{CONNECT_PORT}/connectors"), 180),
]


def all_parts() -> list[Part]:
    return [*PARTS, *app_parts()]


def _port_open(port: int) -> bool:
    import socket
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def start_part(part: Part) -> None:
    if part.pid() and part.healthy():
        log(f"{part.name}: already running (pid {part.pid()})")
        return
    if part.pid() is None and part.healthy():
        fail(f"{part.name}: something not started from {STATE} already answers on its port",
             "stop it (`make down` in the other checkout) or move ours with the CALORIES_*_PORT variables")
    log(f"{part.name}: starting")
    t0 = time.monotonic()
    part.start()
    while not part.healthy():
        if part.name != "postgres" and part.pid() is None:
            fail(f"{part.name} exited during start-up", f"read {LOGS / (part.name + '.log')}")
        if time.monotonic() - t0 > part.timeout:
            fail(f"{part.name} not healthy after {part.timeout:.0f}s", f"read {LOGS / (part.name + '.log')}")
        time.sleep(0.5)
    log(f"{part.name}: healthy in {time.monotonic() - t0:.1f}s (log: {LOGS / (part.name + '.log')})")


def stop_part(part: Part, sig: int = signal.SIGTERM) -> None:
    if part.name == "postgres" and sig == signal.SIGTERM:
        if (PGDATA / "postmaster.pid").exists():
            subprocess.run(as_pg_user([str(PG_BIN / "pg_ctl"), "-D", str(PGDATA), "-m", "fast", "-w", "stop"]),
                           stdout=subprocess.DEVNULL)
        part.pidfile.unlink(missing_ok=True)
        return
    pid = part.pid()
    if pid is None:
        return
    os.killpg(pid, sig) if part.name != "postgres" else os.kill(pid, sig)
    deadline = time.monotonic() + 30
    while part.pid() is not None and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    if part.pid() is not None:
        os.killpg(pid, signal.SIGKILL)
    part.pidfile.unlink(missing_ok=True)
    log(f"{part.name}: stopped")


def status() -> int:
    bad = 0
    for part in all_parts():
        pid, ok = part.pid(), part.healthy()
        bad += not ok
        print(f"{part.name:22} {'up' if ok else 'DOWN':5} pid={pid or '-':<8} log={LOGS / (part.name + '.log')}")
    return 1 if bad else 0


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "status"
    if cmd == "provision":
        provision()
    elif cmd == "up":
        provision()
        for part in PARTS:
            start_part(part)
    elif cmd == "apps":
        # Restarted every time, so what runs is the code in the work tree.
        for part in app_parts():
            stop_part(part)
            start_part(part)
    elif cmd == "down":
        for part in reversed(all_parts()):
            stop_part(part)
    elif cmd == "status":
        return status()
    elif cmd in ("start", "stop", "kill", "restart"):
        part = {p.name: p for p in all_parts()}[argv[1]]
        if cmd in ("stop", "restart"):
            stop_part(part)
        if cmd == "kill":
            stop_part(part, signal.SIGKILL)
        if cmd in ("start", "restart"):
            start_part(part)
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
