"""Benchmark of the order saga: order placed → AWAITING_PAYMENT, and pay → ACTIVE.

Places orders through the HTTP entry at a fixed rate (one day each, spread over many dates so no
capacity refuses them), watches orders' table every 10 ms for the status change, then pays each
order as soon as it awaits payment and watches for ACTIVE. Path of the first leg: orders → outbox →
Debezium → Kafka → restaurants_reservations → … → delivery_bookings → … → orders_saga. Prints p50/p95/p99
of both legs and the achieved orders/s. Needs `make up`.

    python -m loadtest.bench_saga [--rate 10] [--seconds 20]
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from datetime import date, timedelta

import httpx
from sqlalchemy import text

from chassis.service import Service
from loadtest.bench_outbox import percentile

ENTRY = "http://127.0.0.1:8000"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=10.0, help="orders per second")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    total = int(args.rate * args.seconds)

    c = httpx.Client(base_url=ENTRY, timeout=30)
    admin = {"Authorization": "Bearer " + c.post("/auth/login", json={
        "email": "admin@calories.local", "password": "admin-password"}).json()["access_token"]}
    rid = c.post("/restaurants", headers=admin, json={"name": f"Bench {uuid.uuid4().hex[:6]}",
                                                     "address": "1 Bench Road", "daily_capacity": 10_000}).json()["id"]
    dish = c.post(f"/restaurants/{rid}/dishes", headers=admin, json={
        "text": "Bench soup", "calories": 300, "kind": "soup", "price": 100}).json()["id"]
    email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
    c.post("/auth/register", json={"email": email, "password": "bench-password", "name": "B",
                                   "address": "2 Bench Road", "phone": "+1 555"})
    user = {"Authorization": "Bearer " + c.post("/auth/login", json={
        "email": email, "password": "bench-password"}).json()["access_token"]}
    time.sleep(2)  # copies of the new menu and profile reach orders (once, before measuring)
    c.post("/payments/wallet/deposit", headers=user, json={"amount": 100 * total + 1000}).raise_for_status()
    first_day = date(2035, 1, 1) + timedelta(days=(uuid.uuid4().int % 2000) * 20)

    placed: dict[str, float] = {}
    awaiting: dict[str, float] = {}
    paid: dict[str, float] = {}
    active: dict[str, float] = {}
    stop = threading.Event()
    sessions = Service("orders").sessions

    def watch() -> None:
        while not stop.is_set():
            ids = list(placed)
            if ids:
                with sessions() as s:
                    rows = s.execute(text("SELECT id::text, status FROM orders WHERE id::text = ANY(:ids)"),
                                     {"ids": ids}).all()
                now = time.monotonic()
                for order_id, status in rows:
                    if status in ("AWAITING_PAYMENT", "ACTIVE"):
                        awaiting.setdefault(order_id, now)
                    if status == "ACTIVE":
                        active.setdefault(order_id, now)
            time.sleep(0.01)

    def pay() -> None:
        with httpx.Client(base_url=ENTRY, timeout=30, headers=user) as p:
            while not stop.is_set():
                for order_id in [o for o in awaiting if o not in paid]:
                    paid[order_id] = time.monotonic()
                    r = p.post("/payments", json={"order_id": order_id, "amount": 100})
                    if r.status_code != 200:
                        del paid[order_id]  # payments' copy not there yet: next round
                time.sleep(0.005)

    threads = [threading.Thread(target=watch, daemon=True), threading.Thread(target=pay, daemon=True)]
    for t in threads:
        t.start()
    start = time.monotonic()
    for i in range(total):
        if (delay := start + i / args.rate - time.monotonic()) > 0:
            time.sleep(delay)
        day = (first_day + timedelta(days=i % 20)).isoformat()
        r = c.post("/orders", headers={**user, "Idempotency-Key": str(uuid.uuid4())}, json={
            "restaurant_id": rid, "days": [{"date": day, "meals": [{"meal": "lunch", "dishes": [{"dish_id": dish}]}]}]})
        r.raise_for_status()
        placed[r.json()["order_id"]] = time.monotonic()
    placing_time = time.monotonic() - start
    deadline = time.monotonic() + 120
    while len(active) < total and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()

    first_leg = [(awaiting[o] - placed[o]) * 1000 for o in placed if o in awaiting]
    second_leg = [(active[o] - paid[o]) * 1000 for o in paid if o in active]
    print(f"order saga benchmark: {args.rate:.0f} orders/s for {args.seconds:.0f}s ({total} orders)")
    print(f"  placed              {len(placed)} ({len(placed) / placing_time:.1f}/s achieved)")
    print(f"  placed→AWAITING ms  p50 {percentile(first_leg, .5):.0f}  p95 {percentile(first_leg, .95):.0f}  "
          f"p99 {percentile(first_leg, .99):.0f}  ({len(first_leg)} reached)")
    print(f"  pay→ACTIVE ms       p50 {percentile(second_leg, .5):.0f}  p95 {percentile(second_leg, .95):.0f}  "
          f"p99 {percentile(second_leg, .99):.0f}  ({len(second_leg)} reached)")


if __name__ == "__main__":
    main()
