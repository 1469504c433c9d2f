"""Alembic per service: `python -m chassis.migrate auth users ...` (or `--all`) upgrades each to head.

Each service keeps its revisions in `apis/<service>/migrations/versions/`; its `env.py` is one
call to `run_env(metadata)`. The chassis tables (outbox, inbox, heartbeat) are part of every
service's first revision through `create_chassis_tables`.
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData, engine_from_config, pool

from chassis.outbox import metadata as chassis_metadata
from chassis.settings import stack_settings

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(service: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "apis" / service / "migrations"))
    # Where the database is, nothing more: migrating needs no service settings (nor an environment).
    cfg.set_main_option("sqlalchemy.url", stack_settings().database_url(service).replace("%", "%%"))
    cfg.set_main_option("version_table", f"alembic_version_{service}")
    return cfg


def run_env(metadata: MetaData) -> None:
    """Body of every service's migrations/env.py (online mode only: we always have a database)."""
    cfg = context.config
    engine = engine_from_config(cfg.get_section(cfg.config_ini_section, {}), prefix="sqlalchemy.",
                                poolclass=pool.NullPool, hide_parameters=True)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=metadata,
                          version_table=cfg.get_main_option("version_table"))
        with context.begin_transaction():
            context.run_migrations()


def create_chassis_tables(op) -> None:
    chassis_metadata.create_all(op.get_bind())


def services_with_migrations() -> list[str]:
    return sorted(p.parent.name for p in (ROOT / "apis").glob("*/migrations"))


def upgrade(service: str) -> str:
    command.upgrade(alembic_config(service), "head")
    return service


def main(argv: list[str]) -> int:
    services = services_with_migrations() if argv == ["--all"] else argv
    # One process per service, forked once alembic and SQLAlchemy are imported: each database is
    # its own, and alembic's `context` is a module global, so threads could not share it.
    with ProcessPoolExecutor(min(len(services), 4) or 1, mp_context=multiprocessing.get_context("fork")) as pool:
        for service in pool.map(upgrade, services):
            print(f"[migrate] {service}: at head")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
