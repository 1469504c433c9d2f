"""Regression tests of the defects the API fuzzing found, each named after its defect, through the
HTTP entry (`make up` must have run)."""

from __future__ import annotations

import io
import struct
import uuid
from typing import Any

import fastavro
import httpx
import jsonschema
import pytest
from confluent_kafka.schema_registry import Schema
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from chassis.avro import EventCodec, SchemaCatalog, UndecodableRecord
from chassis.local import ROOT
from chassis.problems import PROBLEM_JSON, Problem, install_problem_handlers, problem_schema
from chassis.streams import classify
from tests.e2e.helpers import admin
from tests.fuzz import harness
from tests.support import without_logical_types


def test_restaurant_renamed_onto_a_taken_name_is_409_not_500(api: httpx.Client) -> None:
    # PATCH /restaurants/{id} with another restaurant's name hit the unique index and answered 500.
    boss = admin(api).auth
    names = [f"{harness.FUZZ_NAME_PREFIX}rename {uuid.uuid4().hex[:8]}" for _ in range(2)]
    ids = []
    for name in names:  # inactive: nobody but an admin sees them, nobody can order from them
        made = api.post("/restaurants", headers=boss,
                        json={"name": name, "address": "1 Fuzz Street", "daily_capacity": 1, "active": False})
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    resp = api.patch(f"/restaurants/{ids[1]}", headers=boss, json={"name": names[0]})
    assert resp.status_code == 409, resp.text
    assert resp.headers["content-type"] == PROBLEM_JSON
    assert names[0] in resp.json()["detail"]
    unchanged = api.patch(f"/restaurants/{ids[1]}", headers=boss, json={"daily_capacity": 2})
    assert unchanged.status_code == 200 and unchanged.json()["name"] == names[1], unchanged.text


@pytest.mark.parametrize("service", [pytest.param(s, marks=harness.pending_marks(s)) for s in harness.SERVICES])
def test_error_responses_are_documented_as_problem_json(api: httpx.Client, service: str) -> None:
    # The documents declared no 401/403/404/409/429/503 at all, and 422 as FastAPI's
    # HTTPValidationError in application/json, while every error is answered as problem+json.
    doc = api.get(f"/{service}/openapi.json").json()
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            where = f"{service}: {method.upper()} {path}"
            # The chassis refuses control characters with a 422 on every route.
            assert "422" in responses, f"{where} does not declare 422"
            if service != "auth" or path == "/auth/staff":  # every other route needs a signed-in account
                assert {"401", "503"} <= set(responses), f"{where} does not declare 401 and 503"
            for status, response in responses.items():
                if status[0] in "45":
                    assert list(response.get("content", {})) == [PROBLEM_JSON], f"{where} {status}: {response}"
    assert "HTTPValidationError" not in doc.get("components", {}).get("schemas", {})


class _Body(BaseModel):
    n: int


def test_problem_schema_describes_what_the_handlers_answer() -> None:
    # The documented schema (problem_schema) and the bodies problem_response writes must agree,
    # for a raised Problem with extension members and for a validation error with `errors`.
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/thing")
    def thing(body: _Body) -> dict:
        raise Problem(409, "taken", current_status="busy")

    with TestClient(app) as test:
        for resp, status in ((test.post("/thing", json={"n": 1}), 409), (test.post("/thing", json={"n": "x"}), 422),
                             (test.get("/nowhere"), 404)):
            assert resp.status_code == status and resp.headers["content-type"] == PROBLEM_JSON
            jsonschema.validate(resp.json(), problem_schema(status))


class _Registry:
    """Stands in for the registry client: one schema, under one id."""

    def __init__(self, schema_str: str) -> None:
        self.schema_str = schema_str

    def get_schema(self, schema_id: int) -> Schema:
        return Schema(self.schema_str, "AVRO")


def test_event_with_an_out_of_range_timestamp_is_dead_lettered_not_retried_forever() -> None:
    # An event valid by its schema (occurred_at is any long) whose timestamp Python cannot hold made
    # fastavro raise OverflowError while decoding: not a known permanent failure, so the processor
    # took it for a transient one and retried it forever, holding up its partition.
    sf = SchemaCatalog([ROOT / "schemas"]).get("orders.order", "OrderCancelled")
    record = {f["name"]: _plain_value(f["type"]) for f in sf.parsed["fields"]}
    record["occurred_at"] = 2**62  # microseconds: far past datetime.max
    body = io.BytesIO()
    fastavro.schemaless_writer(body, fastavro.parse_schema(without_logical_types(sf.parsed)), record)
    data = struct.pack(">bI", 0, 7) + body.getvalue()
    codec = EventCodec(SchemaCatalog([ROOT / "schemas"]), client=_Registry(sf.text))  # type: ignore[arg-type]
    with pytest.raises(UndecodableRecord) as err:
        codec.decode(data, reader=("orders.order", "OrderCancelled"))
    assert classify(err.value) == "permanent"


def _plain_value(avro_type: Any) -> Any:
    if isinstance(avro_type, list):  # a union: its first branch (null, for the optional fields)
        return _plain_value(avro_type[0])
    kind = avro_type["type"] if isinstance(avro_type, dict) else avro_type
    # Strings are UUIDs: some are uuid-typed, and only occurred_at may be what is wrong here.
    return {"null": None, "string": str(uuid.uuid4()), "int": 1, "long": 1, "boolean": True, "double": 1.0,
            "float": 1.0, "array": []}.get(kind, str(uuid.uuid4()))
