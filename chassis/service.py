"""A service's runtime: its settings, database, event codec and units of work."""

from __future__ import annotations

from functools import cached_property
from typing import Final, Generic, TypeVar, cast, overload

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from chassis.avro import EventCodec, SchemaCatalog
from chassis.db import UnitOfWork, make_engine
from chassis.settings import ServiceSettings

__all__ = ["Service", "ServiceSettings", "SettingsT"]

# A service's own settings class. Covariant, so `Service[OrderSettings]` is a `Service[ServiceSettings]`
# for the chassis, while the service's own code sees its settings' precise type; `settings` is Final.
SettingsT = TypeVar("SettingsT", bound=ServiceSettings, covariant=True)


class Service(Generic[SettingsT]):
    """What a request handler or a stream processor of one service needs: `service.uow()`."""

    @overload
    def __init__(self: Service[ServiceSettings], name: str, settings: None = None) -> None: ...
    @overload
    def __init__(self, name: str, settings: SettingsT) -> None: ...

    def __init__(self, name: str, settings: SettingsT | None = None) -> None:
        self.name = name
        # The overloads make SettingsT ServiceSettings whenever `settings` is left out.
        self.settings: Final = cast(SettingsT, settings or ServiceSettings())

    @property
    def database_url(self) -> str:
        return self.settings.database_url(self.name)

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.database_url, self.settings.db_pool_size)

    @cached_property
    def sessions(self) -> sessionmaker[Session]:
        return sessionmaker(self.engine, expire_on_commit=False)

    @cached_property
    def codec(self) -> EventCodec:
        return EventCodec(SchemaCatalog(self.settings.schema_dirs), self.settings)

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.codec)
