"""The machine's yardsticks for the load test: the same server stack as a service, with nothing in it.

    uvicorn loadtest.bare_app:json_app     # GET /ping → {"ok": true}
    uvicorn loadtest.bare_app:db_app       # POST /items → one row inserted and committed (SQLAlchemy, psycopg)

`db_app` writes to `loadtest_bare_items` in the scratch database (`LOADTEST_BARE_DB_URL`, default
the stack's `stacktest` database); `loadtest.limits` creates and drops that table. Sync endpoints,
so FastAPI runs them in its thread pool, as the services' endpoints are.
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from sqlalchemy import create_engine, text

json_app = FastAPI()
db_app = FastAPI()
# One engine made at import (a lazily made one raced: each of the first concurrent requests made its own).
_engine = create_engine(os.environ["LOADTEST_BARE_DB_URL"], pool_size=5, max_overflow=5) \
    if os.environ.get("LOADTEST_BARE_DB_URL") else None


@json_app.get("/ping")
def ping() -> dict:
    return {"ok": True}


@db_app.post("/items", status_code=201)
def insert_item() -> dict:
    if _engine is None:
        raise RuntimeError("set LOADTEST_BARE_DB_URL")
    with _engine.begin() as conn:
        new_id = conn.execute(text("INSERT INTO loadtest_bare_items (note) VALUES ('x') RETURNING id")).scalar()
    return {"id": new_id}
