"""Notifications through the HTTP entry: from every service's events, once each, listed, read, and live (SSE).

Order, payment and delivery events are published here the way Debezium's EventRouter publishes them
(Avro value from the owner's codec, key = order id, event_id / event_type / correlation_id headers),
so the notifier is tested without the saga's services running. Only event types nobody but the
notifier reacts to are used in bulk (OrderActivated, DayPickedUp, OrderCompleted).
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from confluent_kafka import Producer

from apis.auth.keys import SigningKey
from apis.auth.settings import AuthSettings
from apis.delivery.events import DayDelivered, DayPickedUp
from apis.notifications.domain import NOTIFIED, notified_aggregate_types
from apis.notifications.settings import NotificationsSettings
from apis.orders.events import (
    OrderActivated,
    OrderAwaitingPayment,
    OrderCancelled,
    OrderCompleted,
    OrderCreated,
    OrderDayDelivered,
    OrderExpired,
    OrderRejected,
)
from apis.payments.events import OrderPaid, OrderPaymentFailed, PaymentRefunded
from chassis.events import Event
from chassis.service import Service
from chassis.settings import stack_settings
from tests.e2e.helpers import Account, client, new_restaurant, register, staff
from tests.support import SIDE_LANE, caught_up_to, end_offsets, poll_until

ROOT = Path(__file__).resolve().parents[2]
GROUP = "calories-notifications_feed"
TOTAL = 4200  # minor units: "42.00" in the text
DAY = date(2026, 12, 1)
SAGA = [OrderCreated, OrderAwaitingPayment, OrderPaid, OrderActivated, DayPickedUp, DayDelivered, OrderCompleted]

# ---- publishing events as their owners' outbox would ------------------------------------------

_codecs: dict[str, object] = {}
# The fields each event class needs besides order_id and user_id.
FIELDS: dict[type[Event], dict] = {
    OrderCreated: {"restaurant_id": str(uuid.uuid4()), "delivery_address": "1 Test Street", "phone": "+10000000",
                   "total": TOTAL, "expires_at": datetime(2026, 11, 30, tzinfo=UTC), "days": []},
    OrderAwaitingPayment: {"total": TOTAL},
    OrderActivated: {"total": TOTAL},
    OrderRejected: {"reason": "the kitchen is full on 2026-12-01"},
    OrderCancelled: {"reason": "cancelled by you"},
    OrderExpired: {},
    OrderDayDelivered: {"date": DAY, "dishes": []},
    OrderCompleted: {},
    OrderPaid: {"amount": TOTAL},
    OrderPaymentFailed: {"amount": TOTAL, "reason": "insufficient funds"},
    PaymentRefunded: {"amount": TOTAL, "reason": "the order was cancelled"},
    DayPickedUp: {"date": DAY, "courier_id": str(uuid.uuid4())},
    DayDelivered: {"date": DAY, "courier_id": str(uuid.uuid4())},
}


class Clock:
    """Strictly increasing occurred_at values, so "in order" is the order of publication."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        self.at += timedelta(milliseconds=10)
        return self.at


def order_event(cls: type[Event], order_id: str, user: Account, at: datetime, **fields) -> Event:
    return cls(aggregate_id=order_id, order_id=order_id, user_id=user.user_id, occurred_at=at,
               correlation_id=f"test-notifications-{order_id}", **{**FIELDS[cls], **fields})


def produce(producer: Producer, event: Event) -> None:
    owner = event.aggregate_type.split(".")[0]
    codec = _codecs.setdefault(owner, Service(owner).codec)
    producer.produce(stack_settings().topic(event.aggregate_type), key=event.aggregate_id.encode(),
                     value=codec.encode(event),
                     headers=[("event_id", str(event.event_id).encode()), ("event_type", event.event_type().encode()),
                              ("correlation_id", event.correlation_id.encode())])


def publish(*events: Event) -> None:
    producer = Producer({"bootstrap.servers": stack_settings().kafka_bootstrap})
    for event in events:
        produce(producer, event)
    assert producer.flush(10) == 0


# ---- reading the feed -------------------------------------------------------------------------

def feed(api: httpx.Client, who: Account, **params) -> list[dict]:
    """Every notification of `who`, newest first, following the cursor."""
    items, cursor = [], None
    while True:
        resp = api.get("/notifications", headers=who.auth, params={"limit": 100, **params,
                                                                   **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200, resp.text
        items += resp.json()["items"]
        cursor = resp.json()["next_cursor"]
        if cursor is None:
            return items


def wait_for(api: httpx.Client, who: Account, count: int, timeout: float = 60) -> list[dict]:
    return poll_until(lambda: len(items := feed(api, who)) >= count and items, timeout,
                      f"{count} notifications for {who.email}")


def settled(api: httpx.Client, who: Account, count: int) -> list[dict]:
    """The feed once `count` items are there and the notifier has consumed everything published by
    then: a duplicate or a late extra would be there too."""
    wait_for(api, who, count, timeout=60)
    ends = end_offsets([stack_settings().topic(a) for a in notified_aggregate_types()])
    poll_until(lambda: caught_up_to(GROUP, ends), 60, "the notifier to consume every topic up to its end")
    return feed(api, who)


def kinds(items: list[dict]) -> list[str]:
    return [n["kind"] for n in items]


SAGA_KINDS = ["order_created", "order_awaiting_payment", "payment_succeeded", "order_activated",
              "delivery_picked_up", "delivery_delivered", "order_completed"]


# ---- the tests ----------------------------------------------------------------------------------

def test_a_new_account_is_welcomed_and_nobody_else_sees_it(api: httpx.Client) -> None:
    ann, bob = register(api, name="Ann"), register(api, name="Bob")
    [welcome] = settled(api, ann, 1)
    assert welcome["kind"] == "welcome" and welcome["event_type"] == "UserRegistered"
    assert welcome["user_id"] == ann.user_id and welcome["title"] == "Welcome to Calories, Ann!"
    assert welcome["read_at"] is None
    [bobs] = feed(api, bob)
    assert bobs["title"] == "Welcome to Calories, Bob!" and bobs["event_id"] != welcome["event_id"]
    assert api.get("/notifications").status_code == 401


# Copied from test_menus_and_plans: a restaurant, a manager, a plan the manager publishes.
MENU = [("Porridge", 350, "breakfast"), ("Borscht", 350, "soup"), ("Stroganoff", 700, "main")]


def restaurant_with_menu(api: httpx.Client) -> tuple[str, list[str]]:
    rid, dishes = new_restaurant(api, MENU)
    return rid, [d["id"] for d in dishes]


def plan_body(user: Account, rid: str, dish_ids: list[str], week: date = date(2026, 11, 30)) -> dict:
    return {"user_id": user.user_id, "restaurant_id": rid, "week_start": week.isoformat(), "comment": "eat well",
            "days": [{"date": (week + timedelta(days=i)).isoformat(),
                      "meals": [{"meal": "lunch", "dish_ids": list(dish_ids)}]} for i in range(7)]}


def test_a_published_recommendation_notifies_its_user_only(api: httpx.Client) -> None:
    rid, ids = restaurant_with_menu(api)
    manager = staff(api, "manager")
    user, stranger = register(api), register(api)

    def drafted() -> dict | bool:  # once recommendations' copies (fed by events) know the user and dishes
        r = api.post("/recommendations", headers=manager.auth, json=plan_body(user, rid, ids[1:]))
        return r.status_code == 201 and r.json()

    plan = poll_until(drafted, 30, "recommendations to copy the user and the menu")
    assert api.post(f"/recommendations/{plan['id']}/publish", headers=manager.auth).status_code == 200

    items = settled(api, user, 2)
    assert kinds(items) == ["recommendation_published", "welcome"]  # newest first
    published = items[0]
    assert published["title"] == "Your meal plan for the week of 2026-11-30 is ready"
    assert 'Their note: "eat well"' in published["body"]
    assert published["data"]["plan_id"] == plan["id"] and published["data"]["restaurant_id"] == rid
    assert published["created_at"] > items[1]["created_at"]
    assert kinds(feed(api, stranger)) == ["welcome"]
    assert "recommendation_published" not in kinds(feed(api, manager))


def test_an_order_through_the_saga_notifies_each_step_in_order_with_reasons(api: httpx.Client) -> None:
    user, stranger = register(api), register(api)
    wait_for(api, user, 1)
    clock, order, other = Clock(), str(uuid.uuid4()), str(uuid.uuid4())
    saga = [order_event(cls, order, user, clock()) for cls in SAGA]
    refused = [order_event(OrderCreated, other, user, clock()),
               order_event(OrderAwaitingPayment, other, user, clock()),
               order_event(OrderPaymentFailed, other, user, clock()),
               order_event(OrderRejected, other, user, clock(), reason="payment failed: insufficient funds")]
    publish(*saga, *refused)

    items = settled(api, user, 1 + len(saga) + len(refused))
    oldest_first = items[::-1]
    assert kinds(oldest_first) == ["welcome", *SAGA_KINDS, "order_created", "order_awaiting_payment",
                                   "payment_failed", "order_rejected"]
    assert [n["event_id"] for n in oldest_first[1:]] == [str(e.event_id) for e in [*saga, *refused]]
    assert all(n["user_id"] == user.user_id for n in items)
    assert [n["data"]["order_id"] for n in oldest_first[1:8]] == [order] * 7
    by_kind = {n["kind"]: n for n in oldest_first[1:8]}
    assert by_kind["order_awaiting_payment"]["body"] == "Pay 42.00 to confirm it before it expires."
    assert by_kind["payment_succeeded"]["title"] == "Payment of 42.00 received"
    assert by_kind["delivery_delivered"]["title"] == "Your meals for 2026-12-01 were delivered"
    failed, rejected = items[1], items[0]
    assert "Reason: insufficient funds" in failed["body"]
    assert "Reason: payment failed: insufficient funds" in rejected["body"]
    assert rejected["data"] == {"order_id": other, "reason": "payment failed: insufficient funds"}
    assert kinds(feed(api, stranger)) == ["welcome"]


def test_every_notified_event_kind_reaches_its_user(api: httpx.Client) -> None:
    """One of each order, payment and delivery event the table notifies (registration and publishing
    travel for real above), through Avro and Kafka: none is dropped or dead-lettered."""
    user = register(api)
    wait_for(api, user, 1)
    clock, order = Clock(), str(uuid.uuid4())
    events = [order_event(cls, order, user, clock()) for cls in FIELDS]
    assert {e.event_type() for e in events} <= set(NOTIFIED)
    publish(*events)
    items = settled(api, user, 1 + len(events))[::-1]
    assert kinds(items) == ["welcome", *(NOTIFIED[e.event_type()].kind for e in events)]
    cancelled = next(n for n in items if n["kind"] == "order_cancelled")
    assert cancelled["body"] == "Reason: cancelled by you."


def test_every_event_delivered_twice_notifies_once(api: httpx.Client) -> None:
    user = register(api)
    wait_for(api, user, 1)
    clock, order = Clock(), str(uuid.uuid4())
    saga = [order_event(cls, order, user, clock()) for cls in SAGA]
    publish(*saga, *saga)  # the same events (same ids) again, as a redelivery would bring them
    publish(*saga)  # and once more, after the first copies were already applied
    items = settled(api, user, 1 + len(saga))
    assert kinds(items[::-1]) == ["welcome", *SAGA_KINDS]
    assert len({n["event_id"] for n in items}) == len(items)


def stack(cmd: str, part: str) -> None:
    subprocess.run([sys.executable, str(ROOT / "stack" / "stack.py"), cmd, part], check=True)


@pytest.mark.disruptive
@SIDE_LANE
def test_notifier_killed_mid_stream_misses_nothing_and_doubles_nothing(api: httpx.Client) -> None:
    user = register(api)
    wait_for(api, user, 1)
    clock = Clock()
    batch = [order_event([OrderActivated, DayPickedUp, OrderCompleted][i % 3], str(uuid.uuid4()), user, clock())
             for i in range(50)]

    def trickle() -> None:  # spread over ~2 s, so the kill lands while events are flowing
        producer = Producer({"bootstrap.servers": stack_settings().kafka_bootstrap})
        for event in batch:
            produce(producer, event)
            producer.flush(10)
            time.sleep(0.04)

    producing = threading.Thread(target=trickle)
    producing.start()
    try:
        wait_for(api, user, 2, timeout=30)  # the notifier is working through the batch
        stack("kill", "notifications_feed")
        killed_with = len(feed(api, user)) - 1
    finally:
        producing.join()
        stack("start", "notifications_feed")
    assert killed_with < len(batch), "the whole batch was done before the kill; nothing was tested"

    items = settled(api, user, 1 + len(batch))
    assert sorted(n["event_id"] for n in items[:-1]) == sorted(str(e.event_id) for e in batch)
    assert kinds(items)[-1] == "welcome" and len(items) == 1 + len(batch)


class SseClient:
    """Reads /notifications/stream in a thread, collecting lines and parsed events."""

    def __init__(self, who: Account, last_event_id: str | None = None) -> None:
        self.lines: list[str] = []
        self.events: list[dict] = []
        self.status: int | None = None
        self.headers: httpx.Headers | None = None
        self._client = client()
        self._response: httpx.Response | None = None
        extra = {"Last-Event-ID": last_event_id} if last_event_id else {}
        self._thread = threading.Thread(target=self._read, args=({**who.auth, **extra},), daemon=True)
        self._thread.start()

    def _read(self, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", "/notifications/stream", headers=headers) as resp:
                self._response, self.status, self.headers = resp, resp.status_code, resp.headers
                block: dict[str, str] = {}
                for line in resp.iter_lines():
                    self.lines.append(line)
                    if line == "":
                        if "data" in block:
                            self.events.append({**block, "data": json.loads(block["data"])})
                        block = {}
                    elif not line.startswith(":"):
                        name, _, value = line.partition(":")
                        block[name] = value.removeprefix(" ")
        except (httpx.HTTPError, RuntimeError):  # closed by close(): the test is over
            pass

    def listening(self) -> None:
        poll_until(lambda: ": listening" in self.lines, 15, "the stream to start listening")
        assert self.status == 200 and self.headers["content-type"].startswith("text/event-stream")

    def close(self) -> None:
        if self._response is not None:  # shut the socket: unblocks the reader, and the server ends the stream now
            with contextlib.suppress(OSError):
                self._response.extensions["network_stream"].get_extra_info("socket").shutdown(socket.SHUT_RDWR)
        self._thread.join(5)
        self._client.close()


def test_a_connected_stream_receives_new_notifications_at_once_and_nothing_old(api: httpx.Client) -> None:
    user, stranger = register(api), register(api)
    [welcome] = wait_for(api, user, 1)
    wait_for(api, stranger, 1)
    mine, theirs = SseClient(user), SseClient(stranger)
    try:
        mine.listening()
        theirs.listening()
        clock = Clock()
        event = order_event(OrderActivated, str(uuid.uuid4()), user, clock())
        publish(event)
        sent = time.monotonic()
        poll_until(lambda: mine.events, 10, "the notification on the live stream", interval=0.05)
        latency = time.monotonic() - sent
        [got] = mine.events
        assert got["event"] == "notification" and got["data"]["event_id"] == str(event.event_id)
        assert got["id"] == got["data"]["id"] and got["data"]["kind"] == "order_activated"
        assert latency < 3, f"took {latency:.2f}s to arrive"  # normally well under a second
        assert theirs.events == []

        # A reconnecting client names the last event it saw and gets what came after it.
        later = order_event(OrderCompleted, event.aggregate_id, user, clock())
        publish(later)
        poll_until(lambda: len(mine.events) == 2, 10, "the second notification on the live stream")
        replay = SseClient(user, last_event_id=welcome["id"])
        try:
            poll_until(lambda: len(replay.events) == 2, 15, "the replay after Last-Event-ID")
            assert [e["data"]["event_id"] for e in replay.events] == [str(event.event_id), str(later.event_id)]
        finally:
            replay.close()
    finally:
        mine.close()
        theirs.close()
    assert api.get("/notifications/stream").status_code == 401


def test_unread_filter_mark_read_and_cursor_pages(api: httpx.Client) -> None:
    user, other = register(api), register(api)
    wait_for(api, user, 1)
    clock = Clock()
    publish(*(order_event(OrderActivated, str(uuid.uuid4()), user, clock()) for _ in range(5)))
    everything = settled(api, user, 6)
    assert kinds(everything)[-1] == "welcome"

    pages, cursor = [], None
    while True:
        resp = api.get("/notifications", headers=user.auth,
                       params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert resp.status_code == 200
        pages.append([n["id"] for n in resp.json()["items"]])
        cursor = resp.json()["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 2]
    assert [i for p in pages for i in p] == [n["id"] for n in everything]

    first, second = everything[1]["id"], everything[4]["id"]
    read = api.post(f"/notifications/{first}/read", headers=user.auth)
    assert read.status_code == 200 and read.json()["id"] == first and read.json()["read_at"] is not None
    again = api.post(f"/notifications/{first}/read", headers=user.auth)
    assert again.status_code == 200 and again.json()["read_at"] == read.json()["read_at"]
    assert api.post(f"/notifications/{second}/read", headers=user.auth).status_code == 200
    unread = feed(api, user, unread="true")
    assert [n["id"] for n in unread] == [n["id"] for n in everything if n["id"] not in (first, second)]
    unread_page = api.get("/notifications", headers=user.auth, params={"unread": "true", "limit": 3}).json()
    assert [n["id"] for n in unread_page["items"]] == [n["id"] for n in unread[:3]]
    rest = api.get("/notifications", headers=user.auth,
                   params={"unread": "true", "limit": 3, "cursor": unread_page["next_cursor"]}).json()
    assert [n["id"] for n in rest["items"]] == [n["id"] for n in unread[3:]] and rest["next_cursor"] is None

    theirs = api.post(f"/notifications/{everything[0]['id']}/read", headers=other.auth)
    assert theirs.status_code == 404 and theirs.headers["content-type"] == "application/problem+json"
    assert "among yours" in theirs.json()["detail"]
    assert feed(api, user, unread="true")[0]["read_at"] is None  # their try changed nothing
    assert api.post(f"/notifications/{uuid.uuid4()}/read", headers=user.auth).status_code == 404
    bad = api.get("/notifications", headers=user.auth, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]


# ---- live streams' bounds (issue 10) ----

def _listening_connections() -> int:
    """Connections to the notifications database doing LISTEN (the last statement each one ran)."""
    with Service("notifications").engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                 "AND query ILIKE 'LISTEN %'")).scalar_one()


def test_many_live_streams_share_one_postgres_connection(api: httpx.Client) -> None:
    """Issue 10: each stream held its own Postgres connection, so a few hundred exhausted Postgres."""
    users = [register(api) for _ in range(3)]
    streams = [SseClient(u) for u in users for _ in range(3)]
    try:
        for s in streams:
            s.listening()
        assert _listening_connections() == 1
    finally:
        for s in streams:
            s.close()


def test_live_streams_are_capped_per_user(api: httpx.Client) -> None:
    """Issue 10: one user could hold any number of streams (and of Postgres connections)."""
    cap = NotificationsSettings().stream_max_per_user
    user, other = register(api), register(api)
    streams = [SseClient(user) for _ in range(cap)]
    try:
        for s in streams:
            s.listening()
        over = api.get("/notifications/stream", headers=user.auth)
        assert over.status_code == 429 and over.headers["content-type"] == "application/problem+json", over.text
        assert int(over.headers["retry-after"]) > 0
        theirs = SseClient(other)  # the cap is per user
        streams.append(theirs)
        theirs.listening()

        streams.pop(0).close()  # a closed stream frees its place

        def reopened() -> bool:
            again = SseClient(user)
            poll_until(lambda: again.status is not None, 15, "an answer to the new stream")
            if again.status == 200:
                streams.append(again)
                return True
            again.close()
            return False
        poll_until(reopened, 30, "a place freed by the closed stream")
    finally:
        for s in streams:
            s.close()


def test_a_live_stream_ends_when_its_token_expires(api: httpx.Client) -> None:
    """Issue 10: a stream had no maximum lifetime; it outlived its access token forever."""
    user = register(api)
    key = SigningKey.load_or_create(AuthSettings().auth_signing_key_file, create=False)
    now = int(time.time())
    short = Account(user.user_id, user.email, user.password, key.sign({
        "iss": "calories-auth", "aud": "calories", "sub": user.user_id, "roles": ["user"], "typ": "access",
        "iat": now, "exp": now + 8}), user.refresh_token)
    stream = SseClient(short)
    try:
        stream.listening()
        poll_until(lambda: not stream._thread.is_alive(), 30, "the stream to end at the token's expiry")
        assert ": token expired" in stream.lines
        assert time.time() >= now + 8
    finally:
        stream.close()
