"""The service tier: use cases run against the stack's real Postgres (each service's own database,
migrated by `make up`), each test inside one transaction that is rolled back at the end, with a
codec that records the events instead of asking the registry. Needs Postgres only; no Kafka."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from chassis.db import UnitOfWork
from chassis.events import Event
from chassis.settings import ServiceSettings


class RecordingCodec:
    """Stands in for the registry-backed codec: remembers every event a use case published."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def encode(self, event: Event) -> bytes:
        self.events.append(event)
        return b"\x00\x00\x00\x00\x00recorded"

    def of(self, cls: type[Event]) -> list:
        return [e for e in self.events if isinstance(e, cls)]


class Tier:
    """Units of work on one service database, all inside the test's outer transaction."""

    def __init__(self, sessions: sessionmaker, codec: RecordingCodec) -> None:
        self.sessions = sessions
        self.codec = codec

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.sessions, self.codec)  # type: ignore[arg-type]  # a duck-typed codec


@pytest.fixture(scope="session")
def engines() -> Iterator[dict]:
    made: dict = {}
    yield made
    for engine in made.values():
        engine.dispose()


@pytest.fixture
def tier(engines: dict) -> Iterator[Callable[[str], Tier]]:
    """`tier("orders")`: units of work on orders' database whose commits are savepoints of one
    outer transaction, rolled back when the test ends, so nothing a test writes stays."""
    opened = []

    def make(service: str) -> Tier:
        if service not in engines:
            engines[service] = create_engine(ServiceSettings().database_url(service))
        conn = engines[service].connect()
        outer = conn.begin()
        opened.append((conn, outer))
        sessions = sessionmaker(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)
        return Tier(sessions, RecordingCodec())

    yield make
    for conn, outer in opened:
        outer.rollback()
        conn.close()
