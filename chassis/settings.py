"""Settings shared by every service and processor, read from CALORIES_* environment variables."""

from __future__ import annotations

from functools import lru_cache

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

    def database_url(self, database: str, password: str | None = None) -> str:
        """Local convention: database, role and password are named after the service."""
        pw = password or local.db_password(database)
        return f"postgresql+psycopg://{database}:{pw}@{self.pg_host}:{self.pg_port}/{database}"

    def topic(self, aggregate_type: str) -> str:
        return f"{self.topic_prefix}.{aggregate_type}"


@lru_cache
def stack_settings() -> StackSettings:
    return StackSettings()
