"""The event codec and the schema rules, without a registry (a fake client stands in)."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

from chassis.avro import EventCodec, SchemaCatalog, UndecodableRecord
from tests.fakes import FakeRegistry
from tests.integration.probe import SCHEMA_DIRS, ProbeHappened


def test_encode_uses_the_confluent_wire_format_and_decodes_back() -> None:
    registry = FakeRegistry()
    codec = EventCodec(SchemaCatalog(SCHEMA_DIRS), client=registry)
    event = ProbeHappened(aggregate_id="a-1", seq=3, note="soup", correlation_id="c-9")
    data = codec.encode(event)
    assert data[0] == 0 and struct.unpack(">I", data[1:5])[0] == 40
    decoded = EventCodec(SchemaCatalog(SCHEMA_DIRS), client=registry).decode(data)
    assert decoded == {"event_id": event.event_id, "event_type": "ProbeHappened", "occurred_at": event.occurred_at,
                       "aggregate_id": "a-1", "correlation_id": "c-9", "seq": 3, "note": "soup"}


def test_decode_refuses_bytes_without_the_magic_byte() -> None:
    codec = EventCodec(SchemaCatalog(SCHEMA_DIRS), client=FakeRegistry())
    with pytest.raises(UndecodableRecord, match="wire format"):
        codec.decode(b'{"json": true}')


def test_event_without_a_schema_file_is_an_error() -> None:
    codec = EventCodec(SchemaCatalog([]), client=FakeRegistry())
    with pytest.raises(LookupError, match=re.escape("stacktest.probe/ProbeHappened.avsc")):
        codec.encode(ProbeHappened(aggregate_id="a", seq=1))


def test_schema_file_rules(tmp_path: Path) -> None:
    folder = tmp_path / "x.y"
    folder.mkdir()
    (folder / "Wrong.avsc").write_text(json.dumps({"type": "record", "name": "Right", "fields": []}))
    (folder / "Bad.avsc").write_text(json.dumps({"type": "record", "name": "Bad", "fields": [
        {"name": "event_id", "type": "nosuchtype"}]}))
    problems = [p for sf in SchemaCatalog([tmp_path]).files.values() for p in sf.problems()]
    assert any("file name must be the record name 'Right'" in p for p in problems)
    assert any("envelope fields missing" in p for p in problems)
    assert any("not valid Avro" in p for p in problems)


def test_repository_schemas_follow_the_rules() -> None:
    catalog = SchemaCatalog(["schemas", *SCHEMA_DIRS])
    assert [p for sf in catalog.files.values() for p in sf.problems()] == []
