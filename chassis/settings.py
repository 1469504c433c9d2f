"""Settings shared by every service and processor, read from CALORIES_* environment variables."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class StackSettings(BaseSettings):
    """Where the event stack is. Defaults match `make up` (stack/stack.py)."""

    model_config = SettingsConfigDict(env_prefix="CALORIES_", extra="ignore")

    kafka_bootstrap: str = "127.0.0.1:9092"
    registry_url: str = "http://127.0.0.1:8081/apis/ccompat/v7"
    connect_url: str = "http://127.0.0.1:8083"
    pg_host: str = "127.0.0.1"
    pg_port: int = 55432
    topic_prefix: str = "calories"
    # Where the Avro schemas live; tests add a folder of their own.
    schema_dirs: list[str] = ["schemas"]

    def database_url(self, database: str, password: str | None = None) -> str:
        """Local convention: database, role and password are named after the service."""
        pw = password or f"{database}-local"
        return f"postgresql+psycopg://{database}:{pw}@{self.pg_host}:{self.pg_port}/{database}"

    def topic(self, aggregate_type: str) -> str:
        return f"{self.topic_prefix}.{aggregate_type}"


@lru_cache
def stack_settings() -> StackSettings:
    return StackSettings()
