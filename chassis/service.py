"""A service's runtime: its settings, database, event codec and units of work."""

from __future__ import annotations

from functools import cached_property

from pydantic_settings import SettingsConfigDict
from sqlalchemy.orm import Session, sessionmaker

from chassis.avro import EventCodec, SchemaCatalog
from chassis.db import UnitOfWork, make_engine
from chassis.settings import StackSettings


class ServiceSettings(StackSettings):
    model_config = SettingsConfigDict(env_prefix="CALORIES_", extra="ignore")

    environment: str = "development"
    auth_jwks_url: str = "http://127.0.0.1:8101/auth/.well-known/jwks.json"
    token_issuer: str = "calories-auth"
    token_audience: str = "calories"


class Service:
    """What a request handler or a stream processor of one service needs: `service.uow()`."""

    def __init__(self, name: str, settings: ServiceSettings | None = None) -> None:
        self.name = name
        self.settings = settings or ServiceSettings()

    @property
    def database_url(self) -> str:
        import os

        return os.environ.get(f"CALORIES_{self.name.upper()}_DATABASE_URL") or self.settings.database_url(self.name)

    @cached_property
    def engine(self):
        return make_engine(self.database_url)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return sessionmaker(self.engine, expire_on_commit=False)

    @cached_property
    def codec(self) -> EventCodec:
        return EventCodec(SchemaCatalog(self.settings.schema_dirs), self.settings)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.codec)
