"""Settings shared by every service and processor, read from CALORIES_* environment variables."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from chassis import local


class StackSettings(BaseSettings):
    """Where the event stack is. Defaults match `make up` (stack/stack.py)."""

    model_config = SettingsConfigDict(env_prefix="CALORIES_", extra="ignore")

    kafka_bootstrap: str = f"127.0.0.1:{local.KAFKA_PORT}"
    registry_url: str = f"http://127.0.0.1:{local.REGISTRY_PORT}/apis/ccompat/v7"
    connect_url: str = f"http://127.0.0.1:{local.CONNECT_PORT}"
    pg_host: str = local.PG_HOST
    pg_port: int = local.PG_PORT
    topic_prefix: str = local.TOPIC_PREFIX
    # Where the Avro schemas live; tests add a folder of their own.
    schema_dirs: list[str] = ["schemas"]

    # Stream processors: where Faust keeps its state, and how many events one transaction applies.
    faust_data_dir: str = ".stack/data/faust"
    faust_web_port: int | None = None  # default: the processor's port in chassis/local.py
    # Static group membership (KIP-345): a worker that comes back under the same id within the
    # session timeout gets its partitions at once, instead of waiting out its dead predecessor's
    # session (a kill -9 and restart: ready in 2.0-2.3 s instead of 8.4-8.9 s). One id per running worker: `make up`
    # runs one worker per processor and names it after it. Unset (dynamic membership) in the chart:
    # a Deployment's pods are renamed at every restart, so a static id would buy nothing there.
    faust_group_instance_id: str | None = None
    stream_batch_max: int = 200
    # Database connections a process keeps; a service serves requests with as many threads, so a
    # request never waits for a connection and no more threads than connections fight for the GIL.
    db_pool_size: int = 10

    def database_url(self, database: str, password: str | None = None) -> str:
        """`CALORIES_<DATABASE>_DATABASE_URL` when set (Kubernetes: from a Secret); else the local
        convention, where database, role and password are named after the service."""
        url = os.environ.get(f"CALORIES_{database.upper()}_DATABASE_URL")
        if url and password is None:
            return url
        pw = password or local.db_password(database)
        return f"postgresql+psycopg://{database}:{pw}@{self.pg_host}:{self.pg_port}/{database}"

    def topic(self, aggregate_type: str) -> str:
        return f"{self.topic_prefix}.{aggregate_type}"


class ServiceSettings(StackSettings):
    """What every service and processor reads; services subclass it with their own settings."""

    # No default: an unset environment must not silently mean "development" (auth would then make
    # its own signing key and an admin with the placeholder password). `make up` sets it
    # (stack/apps.py), the chart sets it, the tests set it (tests/conftest.py).
    environment: str
    auth_jwks_url: str = f"http://127.0.0.1:{local.SERVICES['auth']}/auth/.well-known/jwks.json"
    token_issuer: str = "calories-auth"
    token_audience: str = "calories"

    # Retention of rows that would otherwise grow forever (chassis/retention.py says why these ages).
    prune_interval_seconds: float = 300.0
    outbox_retention_seconds: float = 15 * 60
    inbox_retention_seconds: float = 8 * 24 * 3600  # the topics keep events 7 days
    early_event_retention_seconds: float = 30 * 24 * 3600  # an early event whose cause never came

    @model_validator(mode="before")
    @classmethod
    def _environment_is_explicit(cls, data: Any) -> Any:
        if isinstance(data, dict) and not str(data.get("environment") or "").strip():
            raise ValueError("CALORIES_ENVIRONMENT is not set: set it to the environment this runs in "
                             "(development, test or production); refusing to start without it")
        return data


@lru_cache
def stack_settings() -> StackSettings:
    return StackSettings()
