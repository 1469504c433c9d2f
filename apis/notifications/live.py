"""Server-Sent Events: a signed-in user's new notifications, pushed as the notifier commits them.

Each stream holds one async psycopg connection doing `LISTEN notifications` (the notifier sends
`pg_notify('notifications', <user id>)` in the insert's transaction), and reads the rows themselves
through the service's ordinary queries. Without a listener (LISTEN failed, or the connection broke)
the stream polls every second instead: slower to wake, never silent.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import aclosing

import psycopg
from sqlalchemy import make_url

from apis.notifications import domain, service
from apis.notifications.models import CHANNEL
from apis.notifications.schemas import NotificationOut
from chassis.service import Service

log = logging.getLogger(__name__)

KEEP_ALIVE = 15.0  # seconds of silence before a comment line, so proxies and clients keep the stream open
POLL = 1.0  # seconds between queries when there is no listener
RECHECK = 5.0  # even with a listener, look again this often: cheap, and a lost NOTIFY costs seconds, not forever


def _dsn(svc: Service) -> str:
    return make_url(svc.database_url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _listener(svc: Service) -> psycopg.AsyncConnection | None:
    try:
        conn = await psycopg.AsyncConnection.connect(_dsn(svc), autocommit=True, connect_timeout=5)
        await conn.execute(f"LISTEN {CHANNEL}")
        return conn
    except psycopg.Error as exc:
        log.warning("LISTEN %s failed (%s); this stream polls every %.0fs", CHANNEL, exc, POLL)
        return None


async def _woken(conn: psycopg.AsyncConnection, user_id: str, timeout: float) -> bool:
    """Wait up to `timeout` for a notification of this user's; others' wake-ups are skipped."""
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        got = False
        async with aclosing(conn.notifies(timeout=remaining, stop_after=1)) as notifies:
            async for notify in notifies:
                got = True
                if notify.payload == user_id:
                    return True
        if not got:
            return False
    return False


def _event(row) -> str:
    data = NotificationOut.model_validate(row._mapping).model_dump_json()
    return f"id: {row.id}\nevent: notification\ndata: {data}\n\n"


async def stream(svc: Service, user_id: uuid.UUID, last_event_id: str | None) -> AsyncIterator[str]:
    """The stream's text: a first comment once listening (so a client knows nothing is missed from then
    on), then one SSE event per new notification, and `: keep-alive` after 15 s of silence."""
    conn = await _listener(svc)
    try:
        floor = await asyncio.to_thread(service.stream_floor, uow=svc.uow(), user_id=user_id,
                                        last_event_id=last_event_id)
        window = domain.LiveWindow(floor)
        yield "retry: 2000\n: listening\n\n"
        spoke = time.monotonic()
        while True:
            after = window.floor
            while True:  # page through, in case a burst is larger than one query
                rows = await asyncio.to_thread(service.inserted_after, uow=svc.uow(), user_id=user_id, seq=after)
                by_seq = {r.seq: r for r in rows}
                for seq in window.take(list(by_seq), time.monotonic()):
                    yield _event(by_seq[seq])
                    spoke = time.monotonic()
                if len(rows) < service.LIVE_PAGE:
                    break
                after = rows[-1].seq
            if time.monotonic() - spoke >= KEEP_ALIVE:
                yield ": keep-alive\n\n"
                spoke = time.monotonic()
            wait = min(KEEP_ALIVE - (time.monotonic() - spoke), RECHECK)
            if conn is not None:
                try:
                    await _woken(conn, str(user_id), max(wait, 0.05))
                    continue
                except psycopg.Error as exc:
                    log.warning("the LISTEN connection broke (%s); this stream polls every %.0fs", exc, POLL)
                    await conn.close()
                    conn = None
            await asyncio.sleep(min(POLL, max(wait, 0.05)))
    finally:
        if conn is not None:
            await conn.close()
