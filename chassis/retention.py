"""Storage that would grow forever: rows every service database accumulates, pruned by age.

`prune(conn, rules)` deletes, for each `Retention(table, column, keep)`, the rows whose `column` is
older than `keep`, in batches (short transactions, no long lock). `create_app` (chassis/web.py)
runs it every `prune_interval_seconds` in each service process for the chassis tables (outbox,
inbox) and the service's own (its `retention=` argument: early-event and history tables). Several
replicas pruning at once is harmless: a delete of what is gone deletes nothing.

Why these ages (chassis/settings.py):

- **outbox**, `outbox_retention_seconds` (default 15 minutes): Debezium reads the WAL, not the
  table. Once the insert committed, its WAL record exists and the replication slot keeps it until
  the connector confirms it, however long Connect is away; deleting the row later removes nothing
  from the WAL already written (the EventRouter ignores the delete; tombstones are off). So an
  outbox row is never needed after its commit; it is kept a few minutes only so that people and the
  exporter's backlog gauge (rows newer than the slot's confirmed position) can see recent events.
- **inbox**, `inbox_retention_seconds` (default 8 days): an inbox row protects its consumer from a
  redelivery of that event; no redelivery can come once the event left the topic, whose retention
  is 7 days (`log.retention.hours=168`), so a day more is safe.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

from prometheus_client import Counter
from sqlalchemy import Connection, CursorResult, Engine, Table, text
from sqlalchemy.orm import Session

from chassis.outbox import inbox, outbox
from chassis.settings import ServiceSettings

log = logging.getLogger(__name__)

PRUNED = Counter("calories_pruned_rows_total", "Rows deleted for being older than their retention.",
                 ["service", "table"])


@dataclass(frozen=True)
class Retention:
    table: Table
    column: str  # a timestamp (with time zone) column
    keep: timedelta


def chassis_retention(settings: ServiceSettings) -> list[Retention]:
    return [Retention(outbox, "created_at", timedelta(seconds=settings.outbox_retention_seconds)),
            Retention(inbox, "processed_at", timedelta(seconds=settings.inbox_retention_seconds))]


def prune(conn: Connection | Session, rules: Sequence[Retention], now: datetime | None = None,
          batch: int = 5000) -> dict[str, int]:
    """Delete the rows older than each rule's retention, `batch` at a time; rows deleted per table.
    Runs in the caller's transaction (the tests roll it back)."""
    now = now or datetime.now(UTC)
    deleted: dict[str, int] = {}
    for rule in rules:
        name, column = rule.table.name, rule.table.c[rule.column].name  # names from code, not input
        statement = text(f'DELETE FROM "{name}" WHERE ctid = ANY(ARRAY('
                         f'SELECT ctid FROM "{name}" WHERE "{column}" < :cutoff LIMIT :batch))')
        total = 0
        while True:
            # A DELETE answers with a CursorResult (a Session types it as the plain Result).
            result = cast(CursorResult, conn.execute(statement, {"cutoff": now - rule.keep, "batch": batch}))
            count = result.rowcount
            total += count
            if count < batch:
                break
        deleted[name] = total
    return deleted


def prune_database(service: str, engine: Engine, rules: Sequence[Retention]) -> dict[str, int]:
    """One pass over a service database, a short transaction per rule; counted in the metric."""
    out: dict[str, int] = {}
    for rule in rules:
        with engine.begin() as conn:
            out.update(prune(conn, [rule]))
        PRUNED.labels(service, rule.table.name).inc(out[rule.table.name])
    if any(out.values()):
        log.info("pruned %s", ", ".join(f"{n} {t}" for t, n in out.items() if n))
    return out
