"""The registry enforces compatibility; the catalog check and `make test` refuse a breaking change."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient

from chassis.avro import SchemaCatalog
from chassis.catalog import IncompatibleSchema, check, register
from chassis.settings import stack_settings

ENVELOPE = [
    {"name": "event_id", "type": {"type": "string", "logicalType": "uuid"}},
    {"name": "event_type", "type": "string"},
    {"name": "occurred_at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
    {"name": "aggregate_id", "type": "string"},
    {"name": "correlation_id", "type": "string"},
]


def write_schema(root: Path, aggregate_type: str, extra_fields: list[dict]) -> Path:
    folder = root / aggregate_type
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "ThingHappened.avsc"
    path.write_text(json.dumps({"type": "record", "name": "ThingHappened", "namespace": "calories.govtest",
                                "fields": ENVELOPE + extra_fields}))
    return path


@pytest.fixture
def registry(stack: None) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": stack_settings().registry_url})


def test_registry_runs_with_a_backward_rule(registry: SchemaRegistryClient) -> None:
    assert registry.get_compatibility() in ("BACKWARD", "BACKWARD_TRANSITIVE", "FULL", "FULL_TRANSITIVE")


def test_incompatible_change_is_refused(tmp_path: Path, registry: SchemaRegistryClient) -> None:
    settings = stack_settings()
    aggregate = f"govtest{uuid.uuid4().hex[:10]}.thing"
    write_schema(tmp_path / "v1", aggregate, [{"name": "grams", "type": "int"}])
    [v1] = SchemaCatalog([tmp_path / "v1"]).files.values()
    assert check(SchemaCatalog([tmp_path / "v1"]), registry, settings) == []
    register(registry, v1, settings)

    # A new field without a default: old events can no longer be read with the new schema.
    write_schema(tmp_path / "v2", aggregate, [{"name": "grams", "type": "int"}, {"name": "kcal", "type": "int"}])
    v2_catalog = SchemaCatalog([tmp_path / "v2"])
    problems = check(v2_catalog, registry, settings)
    assert len(problems) == 1 and "incompatible" in problems[0]
    with pytest.raises(IncompatibleSchema, match="refused by the registry"):
        register(registry, next(iter(v2_catalog.files.values())), settings)

    # The command `make test` runs fails on it too.
    cli = subprocess.run([sys.executable, "-m", "chassis.catalog", "check", str(tmp_path / "v2")],
                         capture_output=True, text=True)
    assert cli.returncode == 1, cli.stdout + cli.stderr
    assert "incompatible" in cli.stderr

    # The same field with a default is a compatible evolution.
    write_schema(tmp_path / "v3", aggregate, [{"name": "grams", "type": "int"},
                                              {"name": "kcal", "type": "int", "default": 0}])
    v3_catalog = SchemaCatalog([tmp_path / "v3"])
    assert check(v3_catalog, registry, settings) == []
    v3_id = register(registry, next(iter(v3_catalog.files.values())), settings)
    assert registry.get_latest_version(next(iter(v3_catalog.files.values())).subject(settings)).schema_id == v3_id


def test_schema_without_the_envelope_is_rejected(tmp_path: Path, registry: SchemaRegistryClient) -> None:
    folder = tmp_path / "govtest.bare"
    folder.mkdir()
    (folder / "Bare.avsc").write_text(json.dumps(
        {"type": "record", "name": "Bare", "fields": [{"name": "x", "type": "int"}]}))
    problems = check(SchemaCatalog([tmp_path]), registry, stack_settings())
    assert problems and "envelope fields missing: event_id" in problems[0]
