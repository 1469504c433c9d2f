"""delivery in the order saga: courier slots per day, releases (also before their reservation),
confirmation after payment, and the couriers' tasks through the HTTP entry.

The upstream participants' events are published here as their owners would (Avro through the
registry, keyed by order id, with the EventRouter's headers), so delivery is tested on its own.
Every test uses dates of its own far in the future: the stack is shared, and a day's slots are too.
"""

from __future__ import annotations

import random
import time
import uuid
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from confluent_kafka import Producer
from sqlalchemy import text

from apis.orders.events import OrderActivated, OrderCancelled
from apis.payments.events import OrderPaymentFailed
from apis.restaurants.events import DayPrepared, OrderReserved
from chassis.avro import UndecodableRecord
from chassis.events import Event
from chassis.service import Service
from chassis.settings import stack_settings
from tests.e2e.helpers import Account, admin, register, staff
from tests.support import TopicReader, poll_until

BOOKINGS = stack_settings().topic("delivery.booking")
CONSUMER = "delivery_bookings"  # the processor's inbox name
delivery = Service("delivery")


# ---- publishing upstream events, and watching delivery's ----

_producer: Producer | None = None


def publish(event: Event, *, times: int = 1, partition: int | None = None) -> Event:
    """Produce `event` as Debezium's EventRouter would: owner's codec, key = order id, envelope headers."""
    global _producer
    _producer = _producer or Producer({"bootstrap.servers": stack_settings().kafka_bootstrap})
    owner = event.aggregate_type.split(".")[0]
    value = Service(owner).codec.encode(event)
    headers = [("event_id", str(event.event_id).encode()), ("event_type", event.event_type().encode()),
               ("correlation_id", event.correlation_id.encode())]
    where = {} if partition is None else {"partition": partition}
    for _ in range(times):
        _producer.produce(stack_settings().topic(event.aggregate_type), key=event.aggregate_id.encode(), value=value,
                          headers=headers, **where)
    assert _producer.flush(10) == 0
    return event


class BookingEvents:
    """delivery's events from the moment this was made, decoded."""

    def __init__(self) -> None:
        self.reader = TopicReader(BOOKINGS)
        self.events: list[dict[str, Any]] = []

    def of(self, order_id: str, event_type: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.events if e["order_id"] == order_id and event_type in (None, e["event_type"])]

    def wait(self, order_id: str, event_type: str, count: int = 1, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.of(order_id, event_type)) < count:
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f}s waiting for {count} {event_type} of order {order_id}; "
                            f"its events: {[e['event_type'] for e in self.of(order_id)]}")
            msg = self.reader.consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                try:
                    self.events.append(delivery.codec.decode(msg.value()))
                except UndecodableRecord:  # the event fuzzing's poison, on a shared stack: not ours
                    continue
        return self.of(order_id, event_type)

    def close(self) -> None:
        self.reader.close()


@pytest.fixture
def booking_events():
    events = BookingEvents()
    yield events
    events.close()


def consumed(event: Event) -> None:
    """Wait until delivery's processor has applied `event` (its id is in the inbox, with the effect)."""
    def done() -> bool:
        with delivery.engine.connect() as conn:
            return conn.execute(text("SELECT 1 FROM inbox WHERE consumer = :c AND event_id = :e"),
                                {"c": CONSUMER, "e": event.event_id}).first() is not None
    poll_until(done, 60, f"delivery to consume {event.event_type()} {event.event_id}")


def outbox_count(order_id: str, event_type: str) -> int:
    """What delivery has published for an order: its outbox rows, written with each effect."""
    with delivery.engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM outbox WHERE aggregateid = :o AND type = :t"),
                            {"o": order_id, "t": event_type}).scalar_one()


_days_taken: set[date] = set()


def unique_day() -> date:
    """A date no other test (nor any other run) books couriers on."""
    while (day := date(3000, 1, 1) + timedelta(days=random.randrange(1_500_000))) in _days_taken:
        pass
    _days_taken.add(day)
    return day


def reserved(order_id: str, dates: list[date], user_id: str | None = None, restaurant_id: str | None = None
             ) -> OrderReserved:
    return OrderReserved(aggregate_id=order_id, order_id=order_id, user_id=user_id or str(uuid.uuid4()),
                         restaurant_id=restaurant_id or str(uuid.uuid4()), delivery_address="5 Courier Lane, flat 2",
                         phone="+44 20 7946 0000", dates=dates, portions=2 * len(dates))


def slots(api: httpx.Client, day: date) -> dict:
    resp = api.get(f"/delivery/days/{day.isoformat()}", headers=admin(api).auth)
    assert resp.status_code == 200, resp.text
    return resp.json()


def tasks_of(api: httpx.Client, courier: Account, order_id: str, *statuses: str) -> dict[str, dict]:
    params = [("order_id", order_id), *(("status", s) for s in statuses)]
    resp = api.get("/delivery/tasks", headers=courier.auth, params=params)
    assert resp.status_code == 200, resp.text
    return {t["date"]: t for t in resp.json()["items"]}


ALL = ("waiting_kitchen", "ready", "picked_up", "delivered")


# ---- tests ----

def test_a_reservation_books_a_courier_for_every_date(api: httpx.Client, booking_events: BookingEvents) -> None:
    order, user = str(uuid.uuid4()), str(uuid.uuid4())
    d1, d2 = unique_day(), unique_day()
    publish(reserved(order, [d2, d1], user_id=user))
    event = booking_events.wait(order, "DeliveryReserved")[0]
    assert event["user_id"] == user and event["aggregate_id"] == order
    assert event["dates"] == sorted([d1, d2])
    assert slots(api, d1)["used"] == 1 and slots(api, d2)["used"] == 1


def test_a_full_day_rejects_and_a_release_frees_its_slot(api: httpx.Client, booking_events: BookingEvents) -> None:
    day, other_day = unique_day(), unique_day()
    capacity = slots(api, day)["capacity"]
    assert capacity > 0 and slots(api, day)["used"] == 0
    orders = [str(uuid.uuid4()) for _ in range(capacity)]
    for order in orders:
        publish(reserved(order, [day]))
    for order in orders:
        booking_events.wait(order, "DeliveryReserved")
    assert slots(api, day) == {"date": day.isoformat(), "capacity": capacity, "used": capacity, "free": 0}

    # one date too many: the whole order is rejected, naming the full date, and holds nothing anywhere
    late = str(uuid.uuid4())
    publish(reserved(late, [other_day, day]))
    rejected = booking_events.wait(late, "DeliveryRejected")[0]
    assert rejected["reason"] == f"no courier free on {day.isoformat()}"
    assert slots(api, other_day)["used"] == 0

    cancel = OrderCancelled(aggregate_id=orders[0], order_id=orders[0], user_id=str(uuid.uuid4()),
                            reason="changed my mind")
    publish(cancel)
    released = booking_events.wait(orders[0], "DeliveryReleased")[0]
    assert "changed my mind" in released["reason"]
    assert slots(api, day)["used"] == capacity - 1

    again = str(uuid.uuid4())
    publish(reserved(again, [day]))
    booking_events.wait(again, "DeliveryReserved")
    assert slots(api, day)["free"] == 0
    publish(cancel)  # the same cancellation again: nothing more is released
    consumed(cancel)
    assert outbox_count(orders[0], "DeliveryReleased") == 1


def test_a_cancellation_before_its_reservation_is_kept_and_books_nothing(api: httpx.Client) -> None:
    order, day = str(uuid.uuid4()), unique_day()
    cancel = publish(OrderCancelled(aggregate_id=order, order_id=order, user_id=str(uuid.uuid4()),
                                    reason="too slow"))
    consumed(cancel)  # recorded before the reservation it depends on arrives
    reservation = publish(reserved(order, [day]))
    consumed(reservation)
    assert slots(api, day)["used"] == 0
    assert all(outbox_count(order, t) == 0 for t in ("DeliveryReserved", "DeliveryRejected", "DeliveryReleased"))


def test_paid_order_gets_tasks_the_courier_picks_up_once_prepared_and_delivers(
        api: httpx.Client, booking_events: BookingEvents) -> None:
    user, courier, other = register(api), staff(api, "courier"), staff(api, "courier")
    order, restaurant = str(uuid.uuid4()), str(uuid.uuid4())
    d1, d2 = sorted([unique_day(), unique_day()])
    publish(reserved(order, [d1, d2], user_id=user.user_id, restaurant_id=restaurant))
    booking_events.wait(order, "DeliveryReserved")
    assert tasks_of(api, courier, order, *ALL) == {}  # nothing to deliver before payment

    # the kitchen finishes d2 before the payment reaches delivery: kept, and applied to the new task
    publish(DayPrepared(aggregate_id=order, order_id=order, user_id=user.user_id, restaurant_id=restaurant, date=d2))
    publish(OrderActivated(aggregate_id=order, order_id=order, user_id=user.user_id, total=2500))
    confirmed = booking_events.wait(order, "DeliveryConfirmed")[0]
    assert confirmed["user_id"] == user.user_id
    tasks = tasks_of(api, courier, order, *ALL)
    assert {d: t["status"] for d, t in tasks.items()} == {d1.isoformat(): "waiting_kitchen", d2.isoformat(): "ready"}
    first = tasks[d1.isoformat()]
    assert first["address"] == "5 Courier Lane, flat 2" and first["phone"] == "+44 20 7946 0000"
    assert first["restaurant_id"] == restaurant and first["courier_id"] is None

    early = api.post(f"/delivery/tasks/{first['id']}/picked-up", headers=courier.auth)
    assert early.status_code == 409 and "waiting_kitchen" in early.json()["detail"], early.text
    assert early.json()["current_status"] == "waiting_kitchen"

    publish(DayPrepared(aggregate_id=order, order_id=order, user_id=user.user_id, restaurant_id=restaurant, date=d1))
    poll_until(lambda: tasks_of(api, courier, order, "ready").get(d1.isoformat()), 60, "the d1 task to be ready")
    assert set(tasks_of(api, courier, order)) == {d1.isoformat(), d2.isoformat()}  # default: ready, picked up

    picked = api.post(f"/delivery/tasks/{first['id']}/picked-up", headers=courier.auth)
    assert picked.status_code == 200, picked.text
    assert picked.json()["status"] == "picked_up" and picked.json()["courier_id"] == courier.user_id
    assert api.post(f"/delivery/tasks/{first['id']}/picked-up", headers=courier.auth).json() == picked.json()
    taken = api.post(f"/delivery/tasks/{first['id']}/picked-up", headers=other.auth)
    assert taken.status_code == 409 and "another courier" in taken.json()["detail"]
    assert api.post(f"/delivery/tasks/{first['id']}/delivered", headers=other.auth).status_code == 403

    done = api.post(f"/delivery/tasks/{first['id']}/delivered", headers=courier.auth)
    assert done.status_code == 200 and done.json()["status"] == "delivered", done.text
    assert api.post(f"/delivery/tasks/{first['id']}/delivered", headers=courier.auth).json() == done.json()
    not_yet = api.post(f"/delivery/tasks/{tasks[d2.isoformat()]['id']}/delivered", headers=courier.auth)
    assert not_yet.status_code == 409 and "picked up" in not_yet.json()["detail"]

    for event_type in ("DayPickedUp", "DayDelivered"):
        event = booking_events.wait(order, event_type)[0]
        assert (event["date"], event["courier_id"], event["user_id"]) == (d1, courier.user_id, user.user_id)
        assert outbox_count(order, event_type) == 1  # the repeats published nothing

    assert api.get("/delivery/tasks", headers=user.auth).status_code == 403
    assert api.post(f"/delivery/tasks/{first['id']}/picked-up", headers=user.auth).status_code == 403
    assert api.get("/delivery/tasks").status_code == 401
    assert api.post(f"/delivery/tasks/{uuid.uuid4()}/picked-up", headers=courier.auth).status_code == 404


def test_a_failed_payment_releases_and_a_later_payment_confirms_nothing(
        api: httpx.Client, booking_events: BookingEvents) -> None:
    courier = staff(api, "courier")
    order, user, day = str(uuid.uuid4()), str(uuid.uuid4()), unique_day()
    publish(reserved(order, [day], user_id=user))
    booking_events.wait(order, "DeliveryReserved")
    publish(OrderPaymentFailed(aggregate_id=order, order_id=order, user_id=user, amount=1250,
                               reason="balance too low"))
    released = booking_events.wait(order, "DeliveryReleased")[0]
    assert released["reason"] == "payment failed: balance too low"
    assert slots(api, day)["used"] == 0

    paid = publish(OrderActivated(aggregate_id=order, order_id=order, user_id=user, total=1250))
    consumed(paid)
    assert outbox_count(order, "DeliveryConfirmed") == 0  # a released reservation cannot be confirmed
    assert tasks_of(api, courier, order, *ALL) == {}
    assert slots(api, day)["used"] == 0


def test_a_redelivered_reservation_books_once(api: httpx.Client, booking_events: BookingEvents) -> None:
    order, sentinel, day = str(uuid.uuid4()), str(uuid.uuid4()), unique_day()
    partition = random.randrange(6)
    # Same event (same event id) twice, then another order behind them on the same partition: once
    # the sentinel is booked, both copies have been through the processor.
    publish(reserved(order, [day]), times=2, partition=partition)
    publish(reserved(sentinel, [unique_day()]), partition=partition)
    booking_events.wait(sentinel, "DeliveryReserved")
    booking_events.wait(order, "DeliveryReserved")
    assert outbox_count(order, "DeliveryReserved") == 1
    assert len(booking_events.of(order)) == 1
    assert slots(api, day)["used"] == 1


def test_a_payment_before_its_reservation_is_kept_and_confirms_it_when_it_comes(
        api: httpx.Client, booking_events: BookingEvents) -> None:
    courier = staff(api, "courier")
    order, user, day = str(uuid.uuid4()), str(uuid.uuid4()), unique_day()
    consumed(publish(OrderActivated(aggregate_id=order, order_id=order, user_id=user, total=900)))
    assert outbox_count(order, "DeliveryConfirmed") == 0  # nothing booked yet to confirm
    publish(reserved(order, [day], user_id=user))
    booking_events.wait(order, "DeliveryConfirmed")
    assert [e["event_type"] for e in booking_events.of(order)] == ["DeliveryReserved", "DeliveryConfirmed"]
    assert {d: t["status"] for d, t in tasks_of(api, courier, order, *ALL).items()} == {
        day.isoformat(): "waiting_kitchen"}
    assert slots(api, day)["used"] == 1


def test_a_courier_cannot_page_through_other_couriers_delivered_tasks(
        api: httpx.Client, booking_events: BookingEvents) -> None:
    """Issue 10: `GET /delivery/tasks?status=delivered` listed every delivered task's address and phone to any
    courier. A courier sees the tasks open for pickup and their own only."""
    user, courier, other = register(api), staff(api, "courier"), staff(api, "courier")
    order, restaurant = str(uuid.uuid4()), str(uuid.uuid4())
    d1, d2 = sorted([unique_day(), unique_day()])
    publish(reserved(order, [d1, d2], user_id=user.user_id, restaurant_id=restaurant))
    booking_events.wait(order, "DeliveryReserved")
    for day in (d1, d2):
        publish(DayPrepared(aggregate_id=order, order_id=order, user_id=user.user_id, restaurant_id=restaurant,
                            date=day))
    publish(OrderActivated(aggregate_id=order, order_id=order, user_id=user.user_id, total=2500))
    tasks = poll_until(lambda: len(t := tasks_of(api, courier, order, "ready")) == 2 and t, 60, "two ready tasks")
    first = tasks[d1.isoformat()]
    assert api.post(f"/delivery/tasks/{first['id']}/picked-up", headers=courier.auth).status_code == 200
    assert api.post(f"/delivery/tasks/{first['id']}/delivered", headers=courier.auth).status_code == 200

    assert set(tasks_of(api, courier, order, *ALL)) == {d1.isoformat(), d2.isoformat()}  # own and open
    assert set(tasks_of(api, other, order, *ALL)) == {d2.isoformat()}  # only the one still open for pickup
    assert tasks_of(api, other, order, "delivered") == {}
    everything = api.get("/delivery/tasks", headers=other.auth, params={"status": "delivered", "limit": 200})
    assert everything.status_code == 200 and everything.json()["items"] == []  # a new courier has delivered nothing
