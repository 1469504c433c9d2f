"""Database engines and the unit of work: one transaction, and the events it raised."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Engine, Table, create_engine
from sqlalchemy.dialects.postgresql import Insert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, sessionmaker

from chassis.avro import EventCodec
from chassis.events import Event
from chassis.outbox import first_delivery, write_events


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """`pool_size` connections kept open (a service's HTTP threads are as many, chassis/web.py), a
    few more opened for background work (pruning, probes) and closed after.

    No pre-ping: it cost a round trip on every checkout. A connection broken by a database restart
    fails its first statement instead (a service answers 503, a processor retries), and SQLAlchemy
    then invalidates every pooled connection opened before it."""
    # hide_parameters: a failing statement's error (logged, and the reason of a dead letter) names
    # the statement but not the row's values, which are personal data (names, phones, addresses).
    return create_engine(url, pool_size=pool_size, max_overflow=4, pool_pre_ping=False, hide_parameters=True)


class UnitOfWork:
    """`with uow:` opens a transaction; `uow.publish(event)` queues an event; `uow.commit()`
    writes the queued events to the outbox and commits, all in that one transaction.

    Leaving the block without commit rolls back: neither the change nor its events happen.
    """

    def __init__(self, session_factory: sessionmaker[Session], codec: EventCodec) -> None:
        self._session_factory = session_factory
        self._codec = codec
        self._events: list[Event] = []
        self.session: Session

    def __enter__(self) -> UnitOfWork:
        self.session = self._session_factory()
        self._events = []
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.session.rollback()
        self.session.close()

    def publish(self, event: Event) -> None:
        self._events.append(event)

    def first_delivery(self, consumer: str, event_id) -> bool:
        return first_delivery(self.session, consumer, event_id)

    def commit(self) -> None:
        write_events(self.session, self._codec, self._events)
        self._events = []
        self.session.commit()


def upsert_newer(table: Table, key: str, values: dict) -> Insert:
    """Insert a copy's row, or overwrite it only with a newer version: a duplicate or late event
    (a lower or equal `version`) changes nothing. For the read-only copies services keep of others."""
    stmt = pg_insert(table).values(values)
    return stmt.on_conflict_do_update(index_elements=[key], set_={k: v for k, v in values.items() if k != key},
                                      where=table.c.version < stmt.excluded.version)
