"""Fakes for unit tests: stand-ins for the registry and other I/O."""

from __future__ import annotations


class FakeRegistry:
    def __init__(self) -> None:
        self.schemas: dict[int, str] = {}

    def lookup_schema(self, subject, schema):
        schema_id = 40 + len(self.schemas)
        self.schemas[schema_id] = schema.schema_str
        return type("Registered", (), {"schema_id": schema_id})()

    def get_schema(self, schema_id):
        return type("S", (), {"schema_str": self.schemas[schema_id]})()
