"""The machine's yardsticks for the load test: the same server stack as a service, with nothing in it.

    uvicorn loadtest.bare_app:json_app     # GET /ping → {"ok": true}
    uvicorn loadtest.bare_app:db_app       # POST /items → one row inserted and committed (SQLAlchemy, psycopg)

`db_app` writes to `loadtest_bare_items` in the scratch database (`LOADTEST_BARE_DB_URL`, default
the stack's `stacktest` database); `loadtest.limits` creates and drops that table. Sync endpoints,
so FastAPI runs them in its thread pool, as the services' endpoints are.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
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


# ------------------------------------------------------------------ the diary's write path, bare

# As records: one uvicorn worker, a pool of the services' size, as many threads as connections.
_diary_engine = create_engine(os.environ["LOADTEST_BARE_DB_URL"], pool_size=10, max_overflow=4) \
    if os.environ.get("LOADTEST_BARE_DB_URL") else None
_PAYLOAD = bytes(120)  # about an Avro DiaryEntryAdded's size


@asynccontextmanager
async def _as_a_service(app: FastAPI) -> AsyncIterator[None]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = 10
    yield


diary_app = FastAPI(lifespan=_as_a_service)


@diary_app.post("/entries", status_code=201)
def add_entry(body: dict) -> dict:
    """What POST /records must do at the least: the entry's row and its outbox row in one
    transaction, the row returned. No token, no validation, no ORM, no middleware."""
    if _diary_engine is None:
        raise RuntimeError("set LOADTEST_BARE_DB_URL")
    entry_id, event_id = uuid.uuid4(), uuid.uuid4()
    # The stacktest database's outbox (tests.integration.probe), which Debezium streams like records'.
    with _diary_engine.begin() as conn:
        row = conn.execute(text(
            "INSERT INTO loadtest_diary (id, user_id, eaten_at, eaten_on, meal, text, calories, source, version)"
            " VALUES (:id, :user_id, :eaten_at, CAST(:eaten_at AS timestamptz)::date, :meal, :text, :calories,"
            " 'manual', 1) RETURNING *"),
            {"id": entry_id, "user_id": uuid.UUID(int=1), **{k: body[k] for k in ("eaten_at", "meal", "text",
                                                                                 "calories")}}).one()
        conn.execute(text("INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, correlation_id)"
                          " VALUES (:id, 'stacktest.bench', :agg, 'DiaryEntryAdded', :payload, :id)"),
                     {"id": event_id, "agg": str(entry_id), "payload": _PAYLOAD})
    return {**row._mapping, "id": str(row.id), "user_id": str(row.user_id)}
