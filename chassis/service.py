"""A service's runtime: its settings, database, event codec and units of work."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy.orm import Session, sessionmaker

from chassis.avro import EventCodec, SchemaCatalog
from chassis.db import UnitOfWork, make_engine
from chassis.settings import ServiceSettings

__all__ = ["Service", "ServiceSettings"]


class Service:
    """What a request handler or a stream processor of one service needs: `service.uow()`."""

    def __init__(self, name: str, settings: ServiceSettings | None = None) -> None:
        self.name = name
        self.settings = settings or ServiceSettings()

    @property
    def database_url(self) -> str:
        return self.settings.database_url(self.name)

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
