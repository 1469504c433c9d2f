"""Downloads and installs, once: Postgres and nginx from Debian's packages, Kafka, Connect, Debezium
and Apicurio Registry from Maven Central (through `mvn`, cached in ~/.m2 and the state folder); and
the monitoring's tools (`monitoring/local_stack.py`: Debian's prometheus, its daemon never started,
and the JMX exporter agent jar into lib/monitoring/)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from monitoring import local_stack as mon
from stack.parts import DATA, DOWNLOADS, ETC, LIB, LOGS, PLUGINS, ROOT, RUN, fail, log

KAFKA_VERSION = "4.3.1"
DEBEZIUM_VERSION = "3.6.1.Final"
APICURIO_VERSION = "3.3.3"
PG_BIN = Path(os.environ.get("CALORIES_PG_BIN", "/usr/lib/postgresql/15/bin"))


def apt_install(package: str, why: str, fix: str) -> None:
    log(f"{package} not found: installing Debian's {package} package (apt-get) {why}")
    if os.geteuid() != 0:
        fail(f"{package} is not installed and this user cannot apt-get", fix)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-q"], env=env, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", package], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def provision_postgres() -> None:
    if (PG_BIN / "postgres").exists():
        return
    apt_install("postgresql", "for the databases",
                "sudo apt-get install -y postgresql, or set CALORIES_PG_BIN to a PostgreSQL bin folder")
    # Debian starts a cluster of its own on 5432; ours is separate, so leave theirs alone.
    if not (PG_BIN / "postgres").exists():
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"))
        if not found:
            fail("apt-get installed postgresql but no server binary was found", "check apt's output above")
        fail(f"PostgreSQL installed at {found[-1].parent}, not {PG_BIN}",
             f"export CALORIES_PG_BIN={found[-1].parent}")


def provision_nginx() -> None:
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        apt_install("nginx", "for the HTTP gateway", "sudo apt-get install -y nginx")


def maven(args: list[str], what: str) -> None:
    log(f"fetching {what} from Maven Central (first run only; cached in ~/.m2)")
    try:
        subprocess.run(["mvn", "-B", "-q", "-Dstyle.color=never", "-f", str(ROOT / "stack" / "maven" / "pom.xml"),
                        *args], check=True)
    except FileNotFoundError:
        fail("mvn is not installed", "apt-get install -y maven")
    except subprocess.CalledProcessError:
        fail(f"Maven could not fetch {what}", "check network access to Maven Central and re-run `make up`")


def unpack(archive: Path, into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")


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


def provision() -> None:
    for d in (LOGS, RUN, DATA, ETC, DOWNLOADS, LIB, PLUGINS):
        d.mkdir(parents=True, exist_ok=True)
    if shutil.which("java") is None:
        fail("java is not installed", "apt-get install -y openjdk-17-jre-headless")
    provision_postgres()
    provision_nginx()
    provision_jvm_parts()
    mon.ensure_tools()
