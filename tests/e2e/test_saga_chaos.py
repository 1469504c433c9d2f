"""The saga under crashes and duplicates: 200 concurrent orders while every saga processor and
Kafka Connect are killed (-9) in turn, then every saga event delivered a second time. Afterwards
the invariants of SPEC §8 hold."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Producer
from sqlalchemy import text

from chassis.service import Service
from chassis.settings import stack_settings
from tests.e2e.helpers import client
from tests.e2e.saga_support import (
    customer,
    held_portions_of,
    held_slots_of,
    order_body,
    pay,
    place,
    restaurant,
    unique_dates,
)
from tests.support import SAGA_LANE, TopicReader, caught_up_to, end_offsets, poll_until

ROOT = Path(__file__).resolve().parents[2]
# Kills processors and Connect: runs after the parallel part of the suite, in the saga's lane.
pytestmark = [pytest.mark.disruptive, SAGA_LANE]
STACK = [sys.executable, str(ROOT / "stack" / "stack.py")]
PROCESSORS = ["restaurants_reservations", "delivery_bookings", "orders_saga", "payments_orders", "connect"]
SAGA_TOPICS = ["calories.orders.order", "calories.restaurants.reservation", "calories.delivery.booking",
               "calories.payments.payment"]
GROUPS = {"calories-restaurants_reservations": ["calories.orders.order", "calories.delivery.booking",
                                            "calories.payments.payment"],
          "calories-delivery_bookings": ["calories.restaurants.reservation", "calories.orders.order",
                                        "calories.payments.payment"],
          "calories-orders_saga": ["calories.restaurants.reservation", "calories.delivery.booking",
                                  "calories.payments.payment"],
          "calories-payments_orders": ["calories.orders.order"]}
ORDERS, USERS = 200, 20
ORDERS_DB, PAYMENTS_DB = Service("orders"), Service("payments")
FINAL = {"AWAITING_PAYMENT", "REJECTED", "ACTIVE", "CANCELLED", "EXPIRED", "COMPLETED"}


def statuses(order_ids: list[str]) -> dict[str, str]:
    with ORDERS_DB.sessions() as s:
        rows = s.execute(text("SELECT id::text, status FROM orders WHERE id::text = ANY(:ids)"),
                         {"ids": order_ids}).all()
    return dict(rows)


def caught_up() -> Callable[[], bool]:
    """A check that every saga processor has consumed its topics up to where they end now."""
    ends = end_offsets(SAGA_TOPICS)
    return lambda: all(caught_up_to(group, {tp: end for tp, end in ends.items() if tp[0] in topics})
                       for group, topics in GROUPS.items())


def check_invariants(order_ids: list[str], portions: dict[str, int], days: dict[str, int],
                     user_ids: list[str]) -> dict[str, str]:
    now = statuses(order_ids)
    held_portions, held_slots = held_portions_of(order_ids), held_slots_of(order_ids)
    for order_id, status in now.items():
        holding = status in ("AWAITING_PAYMENT", "ACTIVE", "COMPLETED")
        assert held_portions[order_id] == (portions[order_id] if holding else 0), (order_id, status)
        assert held_slots[order_id] == (days[order_id] if holding else 0), (order_id, status)
    with PAYMENTS_DB.sessions() as s:
        charged_twice = s.execute(text(
            "SELECT order_id FROM ledger WHERE kind = 'charge' AND order_id::text = ANY(:ids) "
            "GROUP BY order_id HAVING count(*) > 1"), {"ids": order_ids}).all()
        assert charged_twice == []
        for user_id in user_ids:
            moved = s.execute(text(
                "SELECT COALESCE(SUM(CASE kind WHEN 'charge' THEN -amount ELSE amount END), 0) FROM ledger "
                "WHERE user_id = :u"), {"u": user_id}).scalar()
            balance = s.execute(text("SELECT COALESCE(MAX(balance), 0) FROM wallets WHERE user_id = :u"),
                                {"u": user_id}).scalar()
            assert moved == balance, f"money not conserved for {user_id}: ledger {moved}, balance {balance}"
    return now


@pytest.fixture
def readers() -> Iterator[list[TopicReader]]:
    """One reader per saga topic from where it ends before the test: every saga event of the test."""
    made = [TopicReader(topic) for topic in SAGA_TOPICS]
    yield made
    for reader in made:
        reader.close()


def test_crashes_and_duplicates_leave_the_invariants_true(api: httpx.Client, readers: list[TopicReader]) -> None:
    rid, dishes = restaurant(api, capacity=150)
    # ~10 orders each, about 5 of which they will try to pay: some wallets run short on purpose.
    users = [customer(api, funds=1500) for _ in range(USERS)]
    dates = unique_dates(11)  # ~30 orders a day: under the kitchen's and the couriers' capacity
    kompot, borscht = dishes["Kompot"]["id"], dishes["Borscht"]["id"]
    place(api, users[0], order_body(rid, {dates[10]: [(kompot, 1)]}))  # orders' copy knows the menu
    bodies = [order_body(rid, {dates[i % 10]: [(kompot, 1)], dates[i % 10 + 1]: [(borscht, 1)]}) if i % 2 else
              order_body(rid, {dates[i % 10]: [(borscht, 1)]}) for i in range(ORDERS)]
    placed: list[tuple[int, dict]] = []

    def chaos() -> None:
        for name in PROCESSORS:
            subprocess.run([*STACK, "kill", name], check=True)
            subprocess.run([*STACK, "start", name], check=True)

    def order(i: int) -> None:
        with client() as c:
            placed.append((i, place(c, users[i % USERS], bodies[i], key=f"chaos-{rid}-{i}").json()))

    crasher = threading.Thread(target=chaos)
    crasher.start()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(order, range(ORDERS)))
    crasher.join()

    order_ids = [a["order_id"] for _, a in placed]
    owner = {a["order_id"]: users[i % USERS] for i, a in placed}
    portions = {a["order_id"]: (2 if i % 2 else 1) for i, a in placed}
    days = dict(portions)  # one portion per day in these orders
    poll_until(lambda: set(statuses(order_ids).values()) <= FINAL, 240, "every order to leave PENDING")

    # Pay some (a few cannot afford it), cancel some, leave the rest awaiting payment.
    now = statuses(order_ids)
    awaiting = sorted(o for o, s in now.items() if s == "AWAITING_PAYMENT")
    to_pay, to_cancel = awaiting[: len(awaiting) // 2], awaiting[len(awaiting) // 2:][:20]
    totals = {a["order_id"]: a["total"] for _, a in placed}

    def pay_one(order_id: str) -> None:
        with client() as c:
            r = pay(c, owner[order_id], order_id, totals[order_id])
            assert r.status_code == 200, r.text

    def cancel(order_id: str) -> None:
        with client() as c:
            assert c.post(f"/orders/{order_id}/cancel", headers=owner[order_id].auth).status_code == 200

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(pay_one, to_pay))
        list(pool.map(cancel, to_cancel))

    poll_until(lambda: all(s in ("ACTIVE", "REJECTED") for s in statuses(to_pay).values()), 240,
               "payments to settle")
    poll_until(caught_up(), 240, "every processor to catch up")
    before = check_invariants(order_ids, portions, days, [u.user_id for u in users])
    assert {"ACTIVE", "CANCELLED", "AWAITING_PAYMENT", "REJECTED"} <= set(before.values())

    # Every saga event of these orders delivered a second time, byte for byte.
    producer = Producer({"bootstrap.servers": stack_settings().kafka_bootstrap})
    keys = {o.encode() for o in order_ids}
    for reader in readers:
        for msg in reader.read_to_end(120):
            if msg.key() in keys:
                producer.produce(reader.topic, key=msg.key(), value=msg.value(), headers=msg.headers())
    assert producer.flush(30) == 0
    poll_until(caught_up(), 240, "every processor to consume the duplicates")
    after = check_invariants(order_ids, portions, days, [u.user_id for u in users])
    assert after == before
