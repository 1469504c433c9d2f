"""Server-Sent Events: a signed-in user's new notifications, pushed as the notifier commits them.

All the streams of a process share ONE async psycopg connection doing `LISTEN notifications` (the
notifier sends `pg_notify('notifications', <user id>)` in the insert's transaction): the `Hub` reads
it and wakes, in memory, the streams of the user named in each wake-up. Streams read the rows
themselves through the service's ordinary (pooled) queries, so a stream costs no connection of its own.
Without a listener (LISTEN failed, or the connection broke and is being reopened) streams poll every
second instead: slower to wake, never silent.

Bounds: at most `stream_max_per_user` streams per user and `stream_max_total` per process (settings;
over either, 429), and a stream ends when the access token it was opened with expires — the client
reconnects with a fresh token (and `Last-Event-ID`, so nothing is missed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import psycopg
from sqlalchemy import make_url
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from apis.notifications import domain, service
from apis.notifications.models import CHANNEL
from apis.notifications.schemas import NotificationOut
from chassis.problems import Problem
from chassis.service import Service

log = logging.getLogger(__name__)

KEEP_ALIVE = 15.0  # seconds of silence before a comment line, so proxies and clients keep the stream open
POLL = 1.0  # seconds between queries when there is no listener
RECHECK = 5.0  # even with a listener, look again this often: cheap, and a lost NOTIFY costs seconds, not forever
RECONNECT = 2.0  # seconds between attempts to reopen the shared LISTEN connection


def _dsn(svc: Service) -> str:
    return make_url(svc.database_url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(eq=False)
class Subscription:
    user_id: str
    expires_at: float  # the token's expiry, epoch seconds
    woken: asyncio.Event = field(default_factory=asyncio.Event)


class Hub:
    """One process' live streams: their subscriptions, their caps, and the one LISTEN connection."""

    def __init__(self, svc: Service, per_user: int, total: int) -> None:
        self.svc, self.per_user, self.total = svc, per_user, total
        self.by_user: dict[str, set[Subscription]] = {}
        self.listening = False
        self._task: asyncio.Task | None = None

    @property
    def count(self) -> int:
        return sum(len(s) for s in self.by_user.values())

    def subscribe(self, user_id: str, expires_at: float) -> Subscription:
        """A new stream's subscription, or 429 when the user or the process holds as many as allowed."""
        if len(self.by_user.get(user_id, ())) >= self.per_user:
            raise Problem(429, f"At most {self.per_user} live streams per user; close one first.",
                          headers={"Retry-After": "5"})
        if self.count >= self.total:
            raise Problem(429, "Too many live streams on this server; try again shortly.",
                          headers={"Retry-After": "5"})
        sub = Subscription(user_id, expires_at)
        self.by_user.setdefault(user_id, set()).add(sub)
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._listen(), name="notifications-listen")
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        subs = self.by_user.get(sub.user_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.by_user[sub.user_id]

    def _wake(self, user_id: str | None) -> None:
        for subs in ([self.by_user.get(user_id, set())] if user_id is not None else list(self.by_user.values())):
            for sub in list(subs):
                sub.woken.set()

    async def _listen(self) -> None:
        """Holds the LISTEN connection while anyone is subscribed; reopens it when it breaks."""
        while self.by_user:
            try:
                async with await psycopg.AsyncConnection.connect(
                        _dsn(self.svc), autocommit=True, connect_timeout=5,
                        application_name="notifications-live") as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening = True
                    self._wake(None)  # anything committed while nobody listened is looked up now
                    while self.by_user:
                        async for notify in conn.notifies(timeout=RECHECK):
                            self._wake(notify.payload)
            except (psycopg.Error, OSError) as exc:
                log.warning("the shared LISTEN %s connection failed (%s); streams poll every %.0fs until it "
                            "is back", CHANNEL, exc, POLL)
            finally:
                self.listening = False
            if self.by_user:
                await asyncio.sleep(RECONNECT)


_hubs: dict[str, Hub] = {}


def hub(svc: Service) -> Hub:
    """The process' hub for this service (one per event loop's process; made on first use)."""
    found = _hubs.get(svc.name)
    if found is None:
        from apis.notifications.settings import NotificationsSettings

        settings = svc.settings if isinstance(svc.settings, NotificationsSettings) else NotificationsSettings()
        found = _hubs[svc.name] = Hub(svc, settings.stream_max_per_user, settings.stream_max_total)
    return found


class StreamResponse(StreamingResponse):
    """A streaming response that releases its subscription however it ends (even never started)."""

    def __init__(self, content: AsyncIterator[str], release, **kwargs) -> None:
        super().__init__(content, **kwargs)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def _event(row) -> str:
    data = NotificationOut.model_validate(row._mapping).model_dump_json()
    return f"id: {row.id}\nevent: notification\ndata: {data}\n\n"


async def stream(svc: Service, the_hub: Hub, sub: Subscription, last_event_id: str | None) -> AsyncIterator[str]:
    """The stream's text: a first comment once listening (so a client knows nothing is missed from then
    on), then one SSE event per new notification, `: keep-alive` after 15 s of silence, and a last
    `: token expired` comment when the access token expires (the stream then ends)."""
    user_id = uuid.UUID(sub.user_id)
    try:
        floor = await asyncio.to_thread(service.stream_floor, uow=svc.uow(), user_id=user_id,
                                        last_event_id=last_event_id)
        window = domain.LiveWindow(floor)
        yield "retry: 2000\n: listening\n\n"
        spoke = time.monotonic()
        while True:
            sub.woken.clear()  # before the query: a wake-up during it makes the next wait return at once
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
            left = sub.expires_at - time.time()
            if left <= 0:
                yield ": token expired\n\n"
                return
            if time.monotonic() - spoke >= KEEP_ALIVE:
                yield ": keep-alive\n\n"
                spoke = time.monotonic()
            wait = min(KEEP_ALIVE - (time.monotonic() - spoke), RECHECK if the_hub.listening else POLL, left)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sub.woken.wait(), max(wait, 0.05))
    finally:
        the_hub.unsubscribe(sub)
