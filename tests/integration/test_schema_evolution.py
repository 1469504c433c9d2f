"""Defect: a producer may drop a field that has a default (the registry's BACKWARD rule allows it),
and a consumer then failed with KeyError. Consumers decode with the reader schema they were
written against (chassis/avro.py `decode(data, reader=...)`), so the old probe worker applies a
record written with the new schema, the dropped field taking its default."""

from __future__ import annotations

import io
import json
import struct
import uuid
from pathlib import Path

import fastavro
from confluent_kafka import Producer

from chassis.avro import MAGIC, SchemaCatalog
from chassis.catalog import register
from chassis.settings import stack_settings
from tests.integration import probe
from tests.integration.test_consumer_once import applied
from tests.support import poll_until

PROBE_SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "stacktest.probe" / "ProbeHappened.avsc"


def test_old_consumer_applies_an_event_whose_new_schema_dropped_a_defaulted_field(
        probe_worker, tmp_path: Path) -> None:
    settings = stack_settings()
    schema = json.loads(PROBE_SCHEMA.read_text())
    assert {"name": "note", "type": "string", "default": ""} in schema["fields"]
    schema["fields"] = [f for f in schema["fields"] if f["name"] != "note"]  # v2: `note` dropped
    folder = tmp_path / "stacktest.probe"
    folder.mkdir()
    (folder / "ProbeHappened.avsc").write_text(json.dumps(schema))
    [v2] = SchemaCatalog([tmp_path]).files.values()
    v2_id = register(probe.codec().client, v2, settings)  # raises IncompatibleSchema if refused

    key = f"evolved-{uuid.uuid4()}"
    event = probe.ProbeHappened(aggregate_id=key, seq=11)
    record = {k: v for k, v in event.to_record().items() if k != "note"}
    body = io.BytesIO()
    body.write(struct.pack(">bI", MAGIC, v2_id))
    fastavro.schemaless_writer(body, fastavro.parse_schema(schema), record)

    producer = Producer({"bootstrap.servers": settings.kafka_bootstrap})
    producer.produce(settings.topic(probe.ProbeHappened.aggregate_type), key=key.encode(), value=body.getvalue(),
                     headers=[("event_id", str(event.event_id).encode()), ("event_type", b"ProbeHappened"),
                              ("correlation_id", event.correlation_id.encode())])
    assert producer.flush(15) == 0

    poll_until(lambda: applied([key]) == (1, 1), 60, "the old consumer to apply the v2 record")
    decoded = probe.codec().decode(body.getvalue(), reader=(probe.ProbeHappened.aggregate_type, "ProbeHappened"))
    assert decoded["note"] == "" and decoded["seq"] == 11  # the default, as the consumer saw it
