"""A test-only event and the Faust worker that applies it, through the real stack.

The effect appends to `probe_effects` (no unique key, so a second effect would show as a second
row) and bumps a counter; the inbox is what must keep both at one per event.
Run as a worker: faust -A tests.integration.probe worker
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import BigInteger, Column, Integer, MetaData, Table, Text, Uuid, text, update
from sqlalchemy.orm import sessionmaker

from chassis.avro import EventCodec, SchemaCatalog
from chassis.catalog import ensure_topics, register
from chassis.db import UnitOfWork, make_engine
from chassis.events import Event
from chassis.outbox import metadata as outbox_metadata
from chassis.service import Service
from chassis.settings import ServiceSettings, stack_settings
from chassis.streams import Processor
from connectors.register import register as register_connector

SCHEMA_DIRS = ["tests/schemas"]
CONSUMER = "stacktest_probe"  # the processor's name: its inbox consumer and Faust app
PORT = 8299

probe_metadata = MetaData()
probe_effects = Table(
    "probe_effects", probe_metadata,
    Column("event_id", Uuid, nullable=False),
    Column("aggregate_id", Text, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("correlation_id", Text, nullable=False),
)
probe_totals = Table(
    "probe_totals", probe_metadata,
    Column("id", Integer, primary_key=True),
    Column("applied", BigInteger, nullable=False),
)


class ProbeHappened(Event):
    aggregate_type = "stacktest.probe"
    seq: int
    note: str = ""


@cache
def codec() -> EventCodec:
    return EventCodec(SchemaCatalog(SCHEMA_DIRS))


@cache
def sessions() -> sessionmaker:
    return sessionmaker(make_engine(stack_settings().database_url("stacktest")))


def prepare() -> None:
    """The stacktest database's tables, the probe schema and topic, and its outbox connector."""
    settings = stack_settings()
    engine = sessions().kw["bind"]
    outbox_metadata.create_all(engine)
    probe_metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO probe_totals (id, applied) VALUES (1, 0) ON CONFLICT DO NOTHING"))
    catalog = SchemaCatalog(SCHEMA_DIRS)
    for sf in catalog.files.values():
        register(codec().client, sf, settings)
    ensure_topics(catalog, settings)
    register_connector("stacktest", settings)


def record_probe(uow: UnitOfWork, event: ProbeHappened) -> None:
    uow.session.execute(probe_effects.insert().values(
        event_id=event.event_id, aggregate_id=event.aggregate_id, seq=event.seq,
        correlation_id=event.correlation_id))
    uow.session.execute(update(probe_totals).where(probe_totals.c.id == 1)
                        .values(applied=probe_totals.c.applied + 1))


processor = Processor(CONSUMER, Service("stacktest", ServiceSettings(schema_dirs=SCHEMA_DIRS, faust_web_port=PORT)))
processor.consume(ProbeHappened.aggregate_type, {ProbeHappened: record_probe})
app = processor.app
