"""Defect: a control character (NUL above all) a client sends is stored and published, and the
consumers then fail on it forever. The chassis refuses it with 422 in one place, on every route."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from chassis.inputs import ControlCharacterGuard, json_problems
from chassis.problems import install_problem_handlers


class Profile(BaseModel):
    name: str
    phone: str | None = None
    tags: list[str] = []


def make_app() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(ControlCharacterGuard)

    @app.post("/things")
    def create(body: Profile) -> dict:
        return {"stored": body.model_dump()}

    @app.get("/things/{name}")
    def read(name: str, q: str = "") -> dict:
        return {"name": name, "q": q}

    return TestClient(app)


def test_nul_in_a_json_field_is_refused_with_422_naming_the_field() -> None:
    r = make_app().post("/things", content=b'{"name": "Ann", "phone": "\\u0000"}',
                        headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"] == [{"field": "body.phone", "message": "control character U+0000 is not allowed"}]


def test_control_characters_anywhere_in_a_json_body_are_refused() -> None:
    c = make_app()
    r = c.post("/things", json={"name": "Ann", "tags": ["ok", "bell\x07"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.tags[1]"
    r = c.post("/things", content=b'{"name": "A\x01nn"}', headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.name"
    r = c.post("/things", content=b'{"name": "\\u001F"}')  # no content type: FastAPI reads JSON anyway
    assert r.status_code == 422


def test_tab_newline_and_ordinary_text_pass() -> None:
    r = make_app().post("/things", json={"name": "Ann\tB\nC\r", "phone": "+1 \\u0000 literally \u00e9"})
    assert r.status_code == 200, r.text
    assert r.json()["stored"]["name"] == "Ann\tB\nC\r"


def test_control_characters_in_the_query_string_and_path_are_refused() -> None:
    c = make_app()
    r = c.get("/things/ann?q=a%00b")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.q"
    r = c.get("/things/a%1bnn")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "path"
    assert c.get("/things/ann?q=fine").status_code == 200


def test_bodies_without_a_suspect_byte_are_not_parsed() -> None:
    assert json_problems(b'{"name": "' + b"x" * 10000 + b'"}') == []
    assert json_problems(b"not json \\u0000") == []  # FastAPI answers malformed JSON itself
