"""Init-container waits of the Calories chart (the Dockerfile copies this file into the image).

    python wait.py database <service>   # its Postgres accepts the service's role
    python wait.py migrated <service>   # ... and is at the Alembic head of apis/<service>/migrations
    python wait.py kafka                # the Kafka bootstrap answers a metadata request
    python wait.py registry             # the schema registry answers

Polls every 2 s and gives up after CALORIES_WAIT_SECONDS (default 900) with the last error, so a
pod that cannot start says why in its init container's log.
"""

from __future__ import annotations

import os
import sys
import time


def database(service: str) -> None:
    from sqlalchemy import create_engine, pool, text

    from chassis.service import Service

    with create_engine(Service(service).database_url, poolclass=pool.NullPool).connect() as conn:
        conn.execute(text("select 1"))


def migrated(service: str) -> None:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine, pool

    from chassis.migrate import alembic_config
    from chassis.service import Service

    cfg = alembic_config(service)
    heads = set(ScriptDirectory.from_config(cfg).get_heads())
    with create_engine(Service(service).database_url, poolclass=pool.NullPool).connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": f"alembic_version_{service}"})
        current = set(context.get_current_heads())
    if current != heads:
        raise RuntimeError(f"{service} is at {sorted(current) or 'nothing'}, the head is {sorted(heads)}")


def kafka() -> None:
    from confluent_kafka.admin import AdminClient

    from chassis.settings import stack_settings

    AdminClient({"bootstrap.servers": stack_settings().kafka_bootstrap}).list_topics(timeout=5)


def registry() -> None:
    import requests

    from chassis.settings import stack_settings

    requests.get(f"{stack_settings().registry_url}/subjects", timeout=5).raise_for_status()


def main(argv: list[str]) -> int:
    check = {"database": database, "migrated": migrated, "kafka": kafka, "registry": registry}[argv[0]]
    deadline = time.monotonic() + float(os.environ.get("CALORIES_WAIT_SECONDS", "900"))
    while True:
        try:
            check(*argv[1:])
            print(f"[wait] {' '.join(argv)}: ready", flush=True)
            return 0
        except Exception as exc:
            if time.monotonic() > deadline:
                print(f"[wait] {' '.join(argv)}: gave up: {exc}", file=sys.stderr, flush=True)
                return 1
            print(f"[wait] {' '.join(argv)}: not yet ({type(exc).__name__}: {exc})", flush=True)
            time.sleep(2)


if __name__ == "__main__":
    sys.path.insert(0, os.getcwd())
    sys.exit(main(sys.argv[1:]))
