"""Event fuzzing: random events, valid by their Avro schema and invalid, onto every topic a stream
processor reads, straight to Kafka (as if a producer had a bug).

- Invalid records (garbage bytes, a schema id the registry never issued, a truncated body, and an
  out-of-range timestamp) of a type the processor handles must land in `calories.dlq.<processor>`
  with an `error` header naming why and the source topic: dead-lettered, never retried forever.
- Valid-by-schema random events (random ids, so they touch nobody's data) must not crash or stall
  the processor: afterwards its /readyz answers 200 and it consumes (commits past) a marker event
  sent after the batch.

Marked `disruptive`: it floods every processor's topics and dead-letter topics, so it runs after the
parallel tests; each processor's cases run in the lane of the tests that kill that processor.
Valid values stay in moderate ranges (small numbers, dates within a few years): this runs on a
shared stack, and the range limits are checked by the invalid cases
and tests/fuzz/test_regressions.py; CALORIES_EVENT_FUZZ_EXTREMES=1 makes them full-range (for a
private stack). CALORIES_EVENT_FUZZ_EVENTS sets how many valid events per handled type (default 2);
CALORIES_EVENT_FUZZ_KINDS=garbage,unknown_schema_id,truncated restricts the invalid kinds.
"""

from __future__ import annotations

import importlib
import io
import os
import random
import string
import struct
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import fastavro
import httpx
import pytest
from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient

from chassis import local
from chassis.avro import SchemaCatalog, SchemaFile
from chassis.settings import stack_settings
from tests.support import lane_of, poll_until, without_logical_types

pytestmark = pytest.mark.disruptive

SETTINGS = stack_settings()
CATALOG = SchemaCatalog([local.ROOT / d for d in ["schemas"]])
EXTREMES = os.environ.get("CALORIES_EVENT_FUZZ_EXTREMES") == "1"
VALID_PER_TYPE = int(os.environ.get("CALORIES_EVENT_FUZZ_EVENTS", "2"))
DEADLINE = 120.0  # seconds for a processor to dead-letter or consume what was sent; polled, not slept
MARKER_TYPE = "EventFuzzMarker"  # no processor handles it: skipped by its header, offset committed


@dataclass(frozen=True)
class Subscription:
    processor: str
    aggregate_type: str
    event_types: tuple[str, ...]

    @property
    def topic(self) -> str:
        return SETTINGS.topic(self.aggregate_type)


def subscriptions_of(name: str) -> list[Subscription]:
    """What a processor reads, from the processor itself (stream_processors/<name>.py): imported
    when its test runs, not when the module is collected (each import builds a Faust app)."""
    processor = importlib.import_module(f"stream_processors.{name}").processor
    return [Subscription(name, aggregate_type, tuple(sorted(cls.__name__ for cls in handlers)))
            for aggregate_type, handlers in sorted(processor.subscriptions.items())]


PROCESSORS = [pytest.param(p, marks=lane_of(p)) for p in sorted(local.PROCESSORS)]

# ------------------------------------------------------------------ random records from a schema


def _number(low: int, high: int) -> int:
    return random.randint(low, high) if EXTREMES else random.randint(max(low, -1000), min(high, 1_000_000))


def random_value(avro_type: Any, field_name: str = "") -> Any:
    """A random value of an Avro type (as fastavro writes it: logical types as Python objects)."""
    if isinstance(avro_type, list):  # a union
        return random_value(random.choice(avro_type), field_name)
    if isinstance(avro_type, str) and avro_type not in ("null", "boolean", "int", "long", "float", "double",
                                                       "bytes", "string"):
        raise ValueError(f"named type reference {avro_type!r}: add it to the generator")
    kind = avro_type["type"] if isinstance(avro_type, dict) else avro_type
    logical = avro_type.get("logicalType") if isinstance(avro_type, dict) else None
    if logical == "uuid":
        return str(uuid.uuid4())
    # Dates and timestamps within what Python holds (beyond is an invalid case, below).
    if logical == "date":
        if EXTREMES:
            return date.fromordinal(random.randint(1, date.max.toordinal()))
        return date(2026, 11, 26) + timedelta(days=random.randint(-1000, 1000))
    if logical in ("timestamp-micros", "timestamp-millis"):
        if EXTREMES:
            return datetime.fromordinal(random.randint(719163, date.max.toordinal())).replace(tzinfo=UTC)
        return datetime.now(UTC) + timedelta(seconds=random.randint(-10**8, 10**8))
    if kind == "null":
        return None
    if kind == "boolean":
        return random.random() < 0.5
    if kind == "int":
        return _number(-2**31, 2**31 - 1)
    if kind == "long":
        return _number(-2**63, 2**63 - 1)
    if kind in ("float", "double"):
        return random.uniform(-1e6, 1e6)
    if kind == "bytes":
        return random.randbytes(random.randint(0, 20))
    if kind == "string":
        # Ids are often plain strings: half of them are UUIDs, so handlers get past their id checks.
        if field_name.endswith("_id") and random.random() < 0.5:
            return str(uuid.uuid4())
        return "".join(random.choices(string.printable + "éß€中", k=random.randint(0, 40)))
    if kind == "enum":
        return random.choice(avro_type["symbols"])
    if kind == "array":
        return [random_value(avro_type["items"], field_name) for _ in range(random.randint(0, 3))]
    if kind == "map":
        return {f"k{i}": random_value(avro_type["values"], field_name) for i in range(random.randint(0, 3))}
    if kind == "record":
        return {f["name"]: random_value(f["type"], f["name"]) for f in avro_type["fields"]}
    if kind == "fixed":
        return random.randbytes(avro_type["size"])
    raise ValueError(f"no generator for Avro type {avro_type!r}")


_ids: dict[tuple[str, str], int] = {}


def schema_id(sf: SchemaFile) -> int:
    key = (sf.aggregate_type, sf.event_type)
    if key not in _ids:
        client = SchemaRegistryClient({"url": SETTINGS.registry_url})
        found = client.lookup_schema(sf.subject(SETTINGS), Schema(sf.text, "AVRO")).schema_id
        assert found is not None, f"{sf.subject(SETTINGS)} is not registered (make up registers it)"
        _ids[key] = found
    return _ids[key]


def encode(sf: SchemaFile, record: dict[str, Any], writer: Any = None) -> bytes:
    buf = io.BytesIO()
    buf.write(struct.pack(">bI", 0, schema_id(sf)))
    fastavro.schemaless_writer(buf, writer or fastavro.parse_schema(sf.parsed), record)
    return buf.getvalue()


def valid_record(sf: SchemaFile) -> dict[str, Any]:
    record = random_value(sf.parsed)
    record["event_type"] = sf.event_type
    return record


def invalid_values(sf: SchemaFile) -> dict[str, bytes]:
    """Records of this type that can never be decoded, by kind."""
    good = encode(sf, valid_record(sf))
    # occurred_at (timestamp-micros) far past what a datetime holds: valid on the wire, never
    # readable. Written with the schema stripped of its logical types, so any long goes; the rest
    # of the record is a valid one read back the same way (dates and timestamps as plain numbers).
    plain = fastavro.parse_schema(without_logical_types(sf.parsed))
    overflowing = fastavro.schemaless_reader(io.BytesIO(good[5:]), plain)
    assert isinstance(overflowing, dict)
    overflowing["occurred_at"] = 2**62
    return {
        "garbage": random.randbytes(random.randint(1, 60)).lstrip(b"\x00") or b"\x01",
        "unknown_schema_id": struct.pack(">bI", 0, 2**31 - 1) + random.randbytes(20),
        "truncated": good[:max(5, len(good) // 2)],
        "out_of_range_timestamp": encode(sf, overflowing, plain),
    }


# ------------------------------------------------------------------ Kafka


def headers_for(event_type: str, event_id: str) -> list[tuple[str, bytes]]:
    return [("event_id", event_id.encode()), ("event_type", event_type.encode()),
            ("correlation_id", f"event-fuzz-{event_id}".encode())]


def dlq(processor: str) -> str:
    return f"{SETTINGS.topic_prefix}.dlq.{processor}"


def ensure_topic(name: str) -> None:
    # The dead-letter topic exists before the reader takes its end offsets (the processor would
    # create it on its first dead letter, after the reader looked).
    admin = AdminClient({"bootstrap.servers": SETTINGS.kafka_bootstrap})
    if name in admin.list_topics(timeout=10).topics:
        return
    for future in admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)]).values():
        try:
            future.result(15)
        except Exception as exc:
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise


class DeadLetters:
    """Reads one processor's dead-letter topic from its end at creation; indexes by event_id."""

    def __init__(self, processor: str) -> None:
        self.topic = dlq(processor)
        ensure_topic(self.topic)
        self.consumer = Consumer({"bootstrap.servers": SETTINGS.kafka_bootstrap, "group.id": f"test-{uuid.uuid4()}",
                                  "enable.auto.commit": False})
        partitions = self.consumer.list_topics(self.topic, timeout=10).topics[self.topic].partitions
        start = []
        for p in partitions:
            _, high = self.consumer.get_watermark_offsets(TopicPartition(self.topic, p), timeout=10)
            start.append(TopicPartition(self.topic, p, high))
        self.consumer.assign(start)
        self.by_event_id: dict[str, dict[str, str]] = {}

    def poll(self) -> None:
        for msg in self.consumer.consume(500, timeout=0.5):
            if msg.error() is None:
                heads = {k: (v or b"").decode(errors="replace") for k, v in msg.headers() or []}
                self.by_event_id[heads.get("event_id", "")] = heads

    def close(self) -> None:
        self.consumer.close()


def produce(producer: Producer, topic: str, value: bytes, event_type: str) -> str:
    event_id = str(uuid.uuid4())
    producer.produce(topic, key=str(uuid.uuid4()).encode(), value=value, headers=headers_for(event_type, event_id))
    return event_id


def committed_past(processor: str, topic: str, sent: Message) -> bool:
    """The processor's consumer group has committed beyond `sent`: it consumed it and all before it."""
    consumer = Consumer({"bootstrap.servers": SETTINGS.kafka_bootstrap,
                         "group.id": f"{SETTINGS.topic_prefix}-{processor}", "enable.auto.commit": False})
    try:
        [tp] = consumer.committed([TopicPartition(topic, sent.partition())], timeout=10)
        return tp.offset > sent.offset()
    finally:
        consumer.close()


def ready(processor: str) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{local.processor_port(processor)}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def producer() -> Iterator[Producer]:
    p = Producer({"bootstrap.servers": SETTINGS.kafka_bootstrap})
    yield p
    p.flush(10)


def _send_marker(producer: Producer, topic: str) -> list[Message]:
    delivered: list[Message] = []
    producer.produce(topic, key=str(uuid.uuid4()).encode(), value=b"\x00marker",
                     headers=headers_for(MARKER_TYPE, str(uuid.uuid4())),
                     on_delivery=lambda err, msg: err is None and delivered.append(msg))
    assert producer.flush(15) == 0
    assert delivered, f"the marker on {topic} was not acknowledged"
    return delivered


# ------------------------------------------------------------------ the tests

INVALID_KINDS = ("garbage", "unknown_schema_id", "truncated", "out_of_range_timestamp")
# A subset, e.g. "garbage,truncated": to run against processors deployed before a fix of one kind
# (an event of a kind they cannot dead-letter holds up its partition of the shared stack).
KINDS = tuple(os.environ.get("CALORIES_EVENT_FUZZ_KINDS", ",".join(INVALID_KINDS)).split(","))


@pytest.mark.parametrize("processor", PROCESSORS)
def test_invalid_events_are_dead_lettered_with_a_reason(processor: str, producer: Producer) -> None:
    letters = DeadLetters(processor)
    sent: dict[str, tuple[str, str, str]] = {}  # event_id -> (kind, topic, event type)
    try:
        for sub in subscriptions_of(processor):
            for event_type in sub.event_types:
                values = invalid_values(CATALOG.get(sub.aggregate_type, event_type))
                for kind in KINDS:
                    sent[produce(producer, sub.topic, values[kind], event_type)] = (kind, sub.topic, event_type)
        assert producer.flush(15) == 0

        deadline = time.monotonic() + DEADLINE
        missing = dict(sent)
        while missing and time.monotonic() < deadline:
            letters.poll()
            missing = {i: v for i, v in missing.items() if i not in letters.by_event_id}
        assert not missing, (f"{processor} did not dead-letter within {DEADLINE:.0f} s: "
                             f"{sorted({f'{k} {e} on {t}' for k, t, e in missing.values()})}")
        for event_id, (kind, topic, event_type) in sent.items():
            heads = letters.by_event_id[event_id]
            assert heads.get("error"), f"{processor}: the dead letter of a {kind} {event_type} has no reason: {heads}"
            assert heads.get("source_topic") == topic, heads
            assert heads.get("event_type") == event_type, heads
    finally:
        letters.close()
    poll_until(lambda: ready(processor), 30, f"{processor}'s /readyz to answer 200 after dead-lettering")


@pytest.mark.parametrize("processor", PROCESSORS)
def test_valid_random_events_neither_crash_nor_stall_the_processor(processor: str, producer: Producer) -> None:
    mine = subscriptions_of(processor)
    for sub in mine:
        for event_type in sub.event_types:
            sf = CATALOG.get(sub.aggregate_type, event_type)
            for _ in range(VALID_PER_TYPE):
                produce(producer, sub.topic, encode(sf, valid_record(sf)), event_type)
    assert producer.flush(15) == 0
    # One marker per topic, after the batch: consumed (committed past) means nothing before it stalls.
    markers = [(sub.topic, msg) for sub in mine for msg in _send_marker(producer, sub.topic)]
    started = time.monotonic()
    for topic, msg in markers:
        poll_until(lambda t=topic, m=msg: committed_past(processor, t, m),
                   max(5.0, DEADLINE - (time.monotonic() - started)),
                   f"{processor} to consume past its marker on {topic}[{msg.partition()}]", interval=1.0)
    poll_until(lambda: ready(processor), 30, f"{processor}'s /readyz to answer 200")
