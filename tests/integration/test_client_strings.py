"""Defect: a NUL (or another control character) a client sent was stored and published; auth
accepted `"phone": "\\u0000"` and the users' profile processor then failed on it forever. The
chassis (chassis/inputs.py, installed by chassis/web.py create_app) refuses it on every endpoint
with 422 problem+json naming the field. Through the single HTTP entry."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.e2e.helpers import ENTRY


@pytest.fixture
def entry() -> httpx.Client:
    with httpx.Client(base_url=ENTRY, timeout=60) as c:
        yield c


def test_register_with_a_nul_phone_is_refused_with_422(entry: httpx.Client) -> None:
    body = (b'{"email": "nul-%s@example.com", "password": "a long enough password", "name": "Nul", '
            b'"phone": "\\u0000"}' % uuid.uuid4().hex.encode())
    r = entry.post("/auth/register", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["errors"] == [{"field": "body.phone", "message": "control character U+0000 is not allowed"}]


def test_control_character_in_a_query_string_is_refused_with_422(entry: httpx.Client) -> None:
    r = entry.get("/auth/.well-known/jwks.json", params={"kid": "a\x00b"})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "query.kid"
    assert entry.get("/auth/.well-known/jwks.json", params={"kid": "ab"}).status_code == 200
