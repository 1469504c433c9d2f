"""The transactional outbox and inbox tables every service database has.

The outbox row is written in the caller's transaction, so an event exists if and only if the
change it describes committed; Debezium reads the rows from the WAL and the EventRouter turns
each into a Kafka record (topic from `aggregatetype`, key `aggregateid`, value `payload` bytes).
The inbox records processed event ids in the consumer's transaction, so a redelivery is a no-op.
"""

from __future__ import annotations

import uuid

from prometheus_client import Counter
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    ScalarResult,
    Table,
    Text,
    Uuid,
    func,
    insert,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from chassis.avro import EventCodec
from chassis.events import Event

metadata = MetaData()

outbox = Table(
    "outbox", metadata,
    Column("id", Uuid, primary_key=True),  # the event id; travels as the `event_id` header
    Column("aggregatetype", Text, nullable=False),
    Column("aggregateid", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),  # Confluent wire-format Avro
    Column("correlation_id", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

inbox = Table(
    "inbox", metadata,
    Column("consumer", Text, primary_key=True),
    Column("event_id", Uuid, primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Written by Debezium's heartbeat.action.query: on a quiet database the replication slot still
# advances (Postgres 15's pgoutput skips transactions with no published change).
debezium_heartbeat = Table(
    "debezium_heartbeat", metadata,
    Column("id", Integer, primary_key=True),
    Column("beat_at", DateTime(timezone=True), nullable=False),
)


OUTBOX_ROWS = Counter("calories_outbox_rows_written_total", "Events written to an outbox (committed or not).",
                      ["service", "event_type"])


# Built once: a statement made per event (`insert(outbox).values(...)`) costs its construction and
# its cache key on every call, a tenth of a diary write's Python time.
_INSERT_OUTBOX = insert(outbox)


def write_events(session: Session, codec: EventCodec, events: list[Event]) -> None:
    """The events' outbox rows, in the caller's transaction (one statement for all of them)."""
    if not events:
        return
    rows = []
    for event in events:
        OUTBOX_ROWS.labels(event.aggregate_type.split(".", 1)[0], event.event_type()).inc()
        rows.append({"id": event.event_id, "aggregatetype": event.aggregate_type, "aggregateid": event.aggregate_id,
                     "type": event.event_type(), "payload": codec.encode(event),
                     "correlation_id": event.correlation_id})
    session.execute(_INSERT_OUTBOX, rows)


# One statement whatever the batch's size, executed with a row per event (SQLAlchemy sends them as
# one multi-row INSERT ... RETURNING): an INSERT built with `.values([...])` is a new statement,
# compiled anew, for every batch size, a tenth of a processor's CPU.
_CLAIM = pg_insert(inbox).on_conflict_do_nothing().returning(inbox.c.event_id)


def first_deliveries(session: Session, consumer: str, event_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Claim a batch of events for `consumer` in one statement; the ids not processed before."""
    if not event_ids:
        return set()
    rows: ScalarResult[uuid.UUID] = session.execute(
        _CLAIM, [{"consumer": consumer, "event_id": e} for e in dict.fromkeys(event_ids)]).scalars()
    return set(rows)


def first_delivery(session: Session, consumer: str, event_id: uuid.UUID) -> bool:
    """Claim an event for `consumer` in the current transaction; False if it was already processed.

    Concurrent deliveries of the same event block on the primary key until the first commits
    or rolls back, so exactly one of them goes on to apply its effect.
    """
    claimed = session.execute(
        pg_insert(inbox).values(consumer=consumer, event_id=event_id)
        .on_conflict_do_nothing().returning(inbox.c.event_id)
    ).first()
    return claimed is not None
