"""Defect (chaos run): while Postgres restarted, every route answered 500. The database away is a
503 with Retry-After (nothing was written; the same request may succeed in a moment), and the
answer still carries its correlation id. Uses the chassis' own app factory and engine options,
against a port where no database listens."""

from __future__ import annotations

import socket

from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import text

from chassis.service import Service, ServiceSettings
from chassis.web import ServiceDep, create_app


class NoKeys:
    def cached_key(self, token: str) -> object:
        return None

    def key_for(self, token: str) -> object:
        raise AssertionError("no route here checks a token")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the block ends: nothing listens there


def test_a_route_whose_database_is_unreachable_answers_503_with_retry_after_not_500() -> None:
    router = APIRouter()

    @router.get("/count")
    def count(svc: ServiceDep) -> dict:
        with svc.uow() as uow:
            return {"n": uow.session.execute(text("SELECT 1")).scalar()}

    settings = ServiceSettings(environment="test", pg_port=closed_port(), prune_interval_seconds=3600)
    app = create_app(Service("records", settings), [router], prefix="/records", keys=NoKeys())
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/records/count", headers={"X-Correlation-ID": "chaos-1"})
    assert r.status_code == 503, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["retry-after"] == "1"
    assert r.headers["x-correlation-id"] == "chaos-1"
    assert "nothing was changed" in r.json()["detail"]
