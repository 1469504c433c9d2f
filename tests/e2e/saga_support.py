"""Helpers for the saga tests: a fresh restaurant, a funded user, an order, and the invariants."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta

import httpx
from sqlalchemy import text

from chassis.service import Service
from tests.e2e.helpers import Account, new_restaurant, profile_of, register
from tests.support import poll_until

# One engine per database for the whole test process (a Service per query would connect anew each time).
RESTAURANTS, DELIVERY = Service("restaurants"), Service("delivery")
DISHES = [("Borscht", 350, "soup"), ("Stroganoff", 700, "main"), ("Kompot", 90, "drink")]


def unique_dates(n: int) -> list[str]:
    """Far-future dates no other test uses, so capacity per day is this test's alone."""
    start = date(2031, 1, 1) + timedelta(days=random.randrange(0, 3000) * 3)
    return [(start + timedelta(days=i)).isoformat() for i in range(n)]


def restaurant(api: httpx.Client, capacity: int = 50) -> tuple[str, dict[str, dict]]:
    rid, dishes = new_restaurant(api, DISHES, capacity=capacity)
    return rid, {d["text"]: d for d in dishes}


def customer(api: httpx.Client, funds: int = 0) -> Account:
    me = register(api, address="5 Order Street", phone="+44 1234")
    profile_of(api, me)
    if funds:
        assert api.post("/payments/wallet/deposit", headers=me.auth, json={"amount": funds}).status_code == 200
    return me


def order_body(rid: str, lines: dict[str, list[tuple[str, int]]]) -> dict:
    """{date: [(dish_id, quantity), …]} → an order body, all at lunch."""
    return {"restaurant_id": rid, "days": [
        {"date": d, "meals": [{"meal": "lunch", "dishes": [{"dish_id": i, "quantity": q} for i, q in items]}]}
        for d, items in lines.items()]}


def place(api: httpx.Client, me: Account, body: dict, key: str | None = None) -> httpx.Response:
    """POST /orders → 201, once orders' own copies know the restaurant, its menu and the user's
    profile (they follow events, so a moment after the restaurant or the account was made)."""
    headers = {**me.auth, "Idempotency-Key": key or str(uuid.uuid4())}
    copy_lag = ("not an active restaurant we know", "not on any menu we know", "Where and whom to deliver to")

    def placed() -> httpx.Response | bool:
        r = api.post("/orders", headers=headers, json=body)
        if r.status_code == 422 and any(m in r.text for m in copy_lag):
            return False
        assert r.status_code == 201, r.text
        return r

    return poll_until(placed, 30, "orders' copies to know the restaurant, its menu and the user")


def status_of(api: httpx.Client, me: Account, order_id: str) -> dict:
    return api.get(f"/orders/{order_id}", headers=me.auth).json()


def wait_status(api: httpx.Client, me: Account, order_id: str, *statuses: str, timeout: float = 60) -> dict:
    return poll_until(lambda: (o := status_of(api, me, order_id))["status"] in statuses and o, timeout,
                      f"order {order_id} to reach {statuses}")


def _count_per_order(db: Service, sql: str, order_ids: list[str]) -> dict[str, int]:
    """`sql` selects (order id, count) for the orders in :ids; orders it leaves out count 0."""
    with db.sessions() as s:
        rows = s.execute(text(sql), {"ids": order_ids}).all()
    return dict.fromkeys(order_ids, 0) | {row[0]: int(row[1]) for row in rows}


def held_portions_of(order_ids: list[str]) -> dict[str, int]:
    """Portions each order holds at the kitchen (pending or confirmed), one query for them all."""
    return _count_per_order(RESTAURANTS, (
        "SELECT p.order_id::text, SUM(p.portions) FROM reserved_portions p JOIN reservations r "
        "ON r.order_id = p.order_id WHERE p.order_id = ANY(CAST(:ids AS uuid[])) AND r.status IN "
        "('pending', 'confirmed') GROUP BY p.order_id"), order_ids)


def held_slots_of(order_ids: list[str]) -> dict[str, int]:
    """Courier days each order holds (pending or confirmed), one query for them all."""
    return _count_per_order(DELIVERY, (
        "SELECT d.order_id::text, count(*) FROM booking_days d JOIN bookings b ON b.order_id = d.order_id "
        "WHERE d.order_id = ANY(CAST(:ids AS uuid[])) AND b.status IN ('pending', 'confirmed') "
        "GROUP BY d.order_id"), order_ids)


def held_portions(order_id: str) -> int:
    return held_portions_of([order_id])[order_id]


def held_slots(order_id: str) -> int:
    return held_slots_of([order_id])[order_id]


def nothing_held(order_id: str) -> bool:
    return held_portions(order_id) == 0 and held_slots(order_id) == 0


def pay(api: httpx.Client, me: Account, order_id: str, amount: int) -> httpx.Response:
    """POST /payments once payments' own copy knows the order awaits payment (it follows orders'
    events, so it may be a moment behind the order's status)."""
    def answered() -> httpx.Response | bool:
        r = api.post("/payments", headers=me.auth, json={"order_id": order_id, "amount": amount})
        return not (r.status_code == 409 and "not awaiting payment" in r.text) and r

    return poll_until(answered, 30, f"payments to know order {order_id} awaits payment")
