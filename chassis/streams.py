"""Faust plumbing: apps, source topics of Avro events, and effects applied exactly once.

Faust acks a message even when the agent raised, so `apply_once` never lets a transient failure
escape: it retries with backoff (the partition waits, nothing is skipped). An event that can never
be applied (undecodable, or refused by the domain with `PermanentFailure`) goes to the dead-letter
topic `<prefix>.dlq.<consumer>` with the error, and the stream moves on.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import faust
from sqlalchemy.orm import Session, sessionmaker

from chassis.avro import EventCodec
from chassis.db import UnitOfWork
from chassis.events import correlation_id_var
from chassis.settings import StackSettings, stack_settings

log = logging.getLogger(__name__)


class PermanentFailure(Exception):
    """The event can never be applied; retrying would block its partition forever."""


@dataclass(frozen=True)
class IncomingEvent:
    event_id: uuid.UUID
    event_type: str
    correlation_id: str
    key: str
    value: dict[str, Any]
    topic: str
    partition: int
    offset: int


def create_app(name: str, settings: StackSettings | None = None, **options: Any) -> faust.App:
    settings = settings or stack_settings()
    web_port = os.environ.get("CALORIES_FAUST_WEB_PORT")
    datadir = os.path.join(os.environ.get("CALORIES_FAUST_DATA_DIR", ".stack/data/faust"), name)
    os.makedirs(datadir, exist_ok=True)  # Faust does not create the parents
    return faust.App(
        f"{settings.topic_prefix}-{name}",
        broker=f"kafka://{settings.kafka_bootstrap}",
        # json for tables and their changelogs; event topics carry raw Avro bytes (event_topic).
        key_serializer="json",
        value_serializer="json",
        topic_partitions=6,
        # Each worker's web server needs its own port; off unless one is given.
        web_enabled=web_port is not None,
        web_port=int(web_port or 6066),
        consumer_auto_offset_reset="earliest",
        # A crashed worker's partitions move to a live one after this long (Faust's default is 60 s).
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        datadir=datadir,
        **options,
    )


def event_topic(app: faust.App, aggregate_type: str, settings: StackSettings | None = None) -> faust.TopicT:
    settings = settings or stack_settings()
    return app.topic(settings.topic(aggregate_type), key_type=bytes, value_type=bytes,
                     key_serializer="raw", value_serializer="raw")


def _header(headers: Any, name: str) -> str | None:
    items = headers.items() if isinstance(headers, dict) else headers or ()
    for k, v in items:
        if k == name:
            return v.decode() if isinstance(v, bytes) else v
    return None


def decode(codec: EventCodec, event: faust.EventT) -> IncomingEvent:
    """Envelope from the Kafka headers the EventRouter set; body from the Avro value."""
    msg = event.message
    value = codec.decode(event.value)
    return IncomingEvent(
        event_id=uuid.UUID(_header(msg.headers, "event_id") or value["event_id"]),
        event_type=_header(msg.headers, "event_type") or value["event_type"],
        correlation_id=_header(msg.headers, "correlation_id") or value["correlation_id"],
        key=(msg.key or b"").decode(),
        value=value,
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
    )


Effect = Callable[[UnitOfWork, IncomingEvent], None]


class ExactlyOnceEffects:
    """Applies effects to one service database, each event at most once per consumer name."""

    def __init__(self, app: faust.App, consumer: str, session_factory: sessionmaker[Session],
                 codec: EventCodec, settings: StackSettings | None = None) -> None:
        self.consumer = consumer
        self.session_factory = session_factory
        self.codec = codec
        settings = settings or stack_settings()
        self.dlq = app.topic(f"{settings.topic_prefix}.dlq.{consumer}", key_type=bytes, value_type=bytes,
                             key_serializer="raw", value_serializer="raw")

    def _apply_sync(self, incoming: IncomingEvent, effect: Effect) -> bool:
        token = correlation_id_var.set(incoming.correlation_id)
        try:
            with UnitOfWork(self.session_factory, self.codec) as uow:
                if not uow.first_delivery(self.consumer, incoming.event_id):
                    return False
                effect(uow, incoming)
                uow.commit()
                return True
        finally:
            correlation_id_var.reset(token)

    async def apply(self, event: faust.EventT, effect: Effect) -> bool:
        """Decode and apply; True when the effect ran, False for a duplicate or a dead letter."""
        try:
            # Off the loop: the first record of a schema id fetches the schema from the registry.
            incoming = await asyncio.to_thread(decode, self.codec, event)
        except Exception as exc:  # an undecodable record can never succeed
            await self._dead_letter(event, f"undecodable: {exc!r}")
            return False
        delay = 0.2
        while True:
            try:
                # Sync SQLAlchemy off the event loop, so Kafka heartbeats keep flowing.
                return await asyncio.to_thread(self._apply_sync, incoming, effect)
            except PermanentFailure as exc:
                await self._dead_letter(event, f"{incoming.event_type} {incoming.event_id}: {exc}")
                return False
            except Exception:
                log.exception("%s: applying %s %s failed; retrying in %.1fs", self.consumer,
                              incoming.event_type, incoming.event_id, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    async def _dead_letter(self, event: faust.EventT, error: str) -> None:
        log.error("%s: dead-lettering %s[%s]@%s: %s", self.consumer, event.message.topic,
                  event.message.partition, event.message.offset, error)
        headers = [*list(event.message.headers or []), ("error", error.encode())]
        await self.dlq.send(key=event.message.key, value=event.value, headers=headers)


def by_event_type(handlers: dict[str, Effect]) -> Effect:
    """One effect per event type; other types on the topic are not this consumer's business."""

    def dispatch(uow: UnitOfWork, event: IncomingEvent) -> None:
        handler = handlers.get(event.event_type)
        if handler is not None:
            handler(uow, event)

    return dispatch
