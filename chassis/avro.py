"""Avro schemas from `schemas/`, the Schema Registry, and the Confluent wire format.

Wire format: magic byte 0, the schema id as 4 big-endian bytes, then the Avro binary body.
Subjects follow TopicRecordNameStrategy (`<topic>-<record full name>`) because one topic carries
every event type of its aggregate, each with its own schema and compatibility history.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, cast

import fastavro
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from chassis.events import ENVELOPE_FIELDS, Event
from chassis.settings import StackSettings, stack_settings

MAGIC = 0


@dataclass(frozen=True)
class SchemaFile:
    path: Path
    aggregate_type: str  # the folder name, e.g. "orders.order"
    text: str

    @cached_property
    def parsed(self) -> dict[str, Any]:
        return json.loads(self.text)

    @property
    def full_name(self) -> str:
        ns = self.parsed.get("namespace")
        return f"{ns}.{self.parsed['name']}" if ns else self.parsed["name"]

    @property
    def event_type(self) -> str:
        return self.parsed["name"]

    def subject(self, settings: StackSettings) -> str:
        return f"{settings.topic(self.aggregate_type)}-{self.full_name}"

    def problems(self) -> list[str]:
        """Rules every event schema follows, beyond being valid Avro."""
        out = []
        if self.path.stem != self.event_type:
            out.append(f"{self.path}: file name must be the record name {self.event_type!r}")
        names = [f["name"] for f in self.parsed.get("fields", [])]
        missing = [f for f in ENVELOPE_FIELDS if f not in names]
        if missing:
            out.append(f"{self.path}: envelope fields missing: {', '.join(missing)}")
        try:
            fastavro.parse_schema(self.parsed)
        except Exception as exc:  # fastavro raises several types for a bad schema
            out.append(f"{self.path}: not valid Avro: {exc}")
        return out


class SchemaCatalog:
    """Every `<dir>/<aggregate_type>/<EventType>.avsc` under the configured schema folders."""

    def __init__(self, dirs: Sequence[str | Path]) -> None:
        self.files: dict[tuple[str, str], SchemaFile] = {}
        for d in dirs:
            for path in sorted(Path(d).glob("*/*.avsc")):
                sf = SchemaFile(path, path.parent.name, path.read_text())
                self.files[(sf.aggregate_type, sf.event_type)] = sf

    def get(self, aggregate_type: str, event_type: str) -> SchemaFile:
        try:
            return self.files[(aggregate_type, event_type)]
        except KeyError:
            raise LookupError(f"no schema file for {aggregate_type}/{event_type}.avsc") from None

    def aggregate_types(self) -> set[str]:
        return {a for a, _ in self.files}


class EventCodec:
    """Encodes events for the outbox and decodes what consumers read, through the registry.

    Schema ids and parsed schemas are cached: the registry is asked once per schema per process.
    Encoding only looks schemas up; registering them is the deploy step's job
    (`python -m chassis.catalog sync`), so a service can never publish an unchecked schema.
    """

    def __init__(self, catalog: SchemaCatalog, settings: StackSettings | None = None,
                 client: SchemaRegistryClient | None = None) -> None:
        self.settings = settings or stack_settings()
        self.catalog = catalog
        self.client = client or SchemaRegistryClient({"url": self.settings.registry_url})
        self._ids: dict[tuple[str, str], tuple[int, Any]] = {}
        self._by_id: dict[int, Any] = {}
        self._readers: dict[tuple[str, str], Any] = {}

    def _writer(self, aggregate_type: str, event_type: str) -> tuple[int, Any]:
        key = (aggregate_type, event_type)
        if key not in self._ids:
            sf = self.catalog.get(aggregate_type, event_type)
            registered = self.client.lookup_schema(sf.subject(self.settings), Schema(sf.text, "AVRO"))
            if registered.schema_id is None:
                raise LookupError(f"the registry answered {sf.subject(self.settings)} without a schema id")
            self._ids[key] = (registered.schema_id, fastavro.parse_schema(sf.parsed))
        return self._ids[key]

    def encode(self, event: Event) -> bytes:
        schema_id, parsed = self._writer(event.aggregate_type, event.event_type())
        buf = io.BytesIO()
        buf.write(struct.pack(">bI", MAGIC, schema_id))
        fastavro.schemaless_writer(buf, parsed, event.to_record())
        return buf.getvalue()

    def _reader(self, aggregate_type: str, event_type: str) -> Any:
        key = (aggregate_type, event_type)
        if key not in self._readers:
            self._readers[key] = fastavro.parse_schema(self.catalog.get(aggregate_type, event_type).parsed)
        return self._readers[key]

    def decode(self, data: bytes, reader: tuple[str, str] | None = None) -> dict[str, Any]:
        """The record in `data`. With `reader` = (aggregate type, event type), it is resolved
        against that event's schema in `schemas/` — the one the consumer was written against — so
        a field a newer producer dropped (with a default) still arrives, as Avro's rules say.

        Raises `UndecodableRecord` when the bytes can never be read (poison); registry and network
        errors propagate as they are, for the caller to retry.
        """
        if len(data) < 5 or data[0] != MAGIC:
            raise UndecodableRecord("not in the Confluent Avro wire format (magic byte 0 + schema id)")
        schema_id = struct.unpack(">I", data[1:5])[0]
        if schema_id not in self._by_id:
            try:
                schema = self.client.get_schema(schema_id)
            except SchemaRegistryError as exc:
                if exc.http_status_code == 404:  # the registry answered: no such schema, ever
                    raise UndecodableRecord(f"schema id {schema_id} is unknown to the registry") from exc
                raise
            if schema.schema_str is None:
                raise LookupError(f"the registry answered schema id {schema_id} without its text")
            self._by_id[schema_id] = fastavro.parse_schema(json.loads(schema.schema_str))
        try:
            # Every schema in schemas/ is a record, so the body reads as a dict.
            return cast(dict[str, Any], fastavro.schemaless_reader(
                io.BytesIO(data[5:]), self._by_id[schema_id], self._reader(*reader) if reader else None))
        # OverflowError: a date or timestamp the schema allows (any int / long) but Python's dates
        # cannot hold, e.g. occurred_at = 2**62 µs. It is no ValueError, so it would otherwise be
        # taken for a transient failure and retried forever, holding up its partition.
        except (EOFError, ValueError, TypeError, KeyError, IndexError, OverflowError,
                fastavro.read.SchemaResolutionError) as exc:
            raise UndecodableRecord(f"Avro body does not read with schema {schema_id}: {exc!r}") from exc


class UndecodableRecord(Exception):
    """The record's bytes can never be decoded: dead-letter it rather than retry."""
