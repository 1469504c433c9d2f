"""Every event class against its Avro schema: the same fields, and a record that survives the
trip through the wire format and back into the class (today's fields are declared twice, in a
dataclass and in its `.avsc`; this is what keeps them in agreement)."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest

from chassis.avro import EventCodec, SchemaCatalog
from chassis.events import Event, all_event_classes
from tests.fakes import FakeRegistry

CATALOG = SchemaCatalog(["schemas"])
CLASSES = all_event_classes()
SERVICE_EVENTS = {key: cls for key, cls in CLASSES.items() if key[0].split(".")[0] != "stacktest"}


def sample(avro: Any) -> Any:
    """A value of every Avro type our schemas use (non-null branch of a union)."""
    if isinstance(avro, list):
        return sample(next(t for t in avro if t != "null"))
    if isinstance(avro, dict):
        logical, kind = avro.get("logicalType"), avro["type"]
        if logical == "uuid":
            return str(uuid.uuid4())
        if logical == "date":
            return date(2026, 11, 26)
        if logical in ("timestamp-micros", "timestamp-millis"):
            return datetime(2026, 11, 26, 12, 30, 15, 123000, tzinfo=UTC)
        if kind == "array":
            return [sample(avro["items"])]
        if kind == "map":
            return {"k": sample(avro["values"])}
        if kind == "record":
            return {f["name"]: sample(f["type"]) for f in avro["fields"]}
        if kind == "enum":
            return avro["symbols"][0]
        return sample(kind)
    return {"string": "text", "int": 3, "long": 4, "float": 1.5, "double": 2.5, "boolean": True}[avro]


def test_every_schema_has_an_event_class_and_every_class_a_schema() -> None:
    schemas = {key for key in CATALOG.files}
    assert schemas == set(SERVICE_EVENTS), "schemas without a class / classes without a schema"


@pytest.mark.parametrize("key", sorted(SERVICE_EVENTS), ids=lambda k: f"{k[0]}/{k[1]}")
def test_class_fields_are_the_schema_fields(key: tuple[str, str]) -> None:
    cls = SERVICE_EVENTS[key]
    fields = {f["name"] for f in CATALOG.get(*key).parsed["fields"]}
    assert {f.name for f in dataclasses.fields(cls)} | {"event_type"} == fields


@pytest.mark.parametrize("key", sorted(SERVICE_EVENTS), ids=lambda k: f"{k[0]}/{k[1]}")
def test_event_survives_the_wire_format(key: tuple[str, str]) -> None:
    cls: type[Event] = SERVICE_EVENTS[key]
    record = sample(CATALOG.get(*key).parsed)
    record["event_type"] = cls.event_type()
    event = cls.from_record(record)
    codec = EventCodec(CATALOG, client=FakeRegistry())
    decoded = cls.from_record(codec.decode(codec.encode(event), reader=key))
    assert decoded == event
    assert decoded.to_record() == {**record, "event_id": str(event.event_id)}


def test_a_record_missing_a_field_is_refused() -> None:
    cls = SERVICE_EVENTS[("orders.order", "OrderCreated")]
    record = sample(CATALOG.get("orders.order", "OrderCreated").parsed)
    del record["total"]
    with pytest.raises(TypeError):
        cls.from_record(record)
