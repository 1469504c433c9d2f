"""Benchmark of the order saga: order placed → AWAITING_PAYMENT, and pay → ACTIVE, at an open-loop
arrival rate.

Orders arrive on a fixed schedule (`--rate` per second for `--seconds`), each sent by a pool of
concurrent clients, whatever the answers' latency: a slow saga shows as latency, not as a lower
rate. When the clients could not send an order within 100 ms of its scheduled time, the run says
so (the asked rate was not kept). Orders are spread over many users (each under the per-user
limits on open orders and on placing) and over many dates (no capacity refuses them). A watcher
reads orders' table every 10 ms for status changes; each order is paid as soon as it awaits
payment. First leg: orders → outbox → Debezium → Kafka → restaurants_reservations → … →
delivery_bookings → … → orders_saga. Prints p50/p95/p99 of both legs. Needs `make up`.

    python -m loadtest.bench_saga [--rate 50] [--seconds 60] [--clients 32]
"""

from __future__ import annotations

import argparse
import itertools
import queue
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import httpx
from sqlalchemy import text

from chassis.service import Service, ServiceSettings
from loadtest.bench_outbox import percentile
from loadtest.sampler import process_snapshot

ENTRY = "http://127.0.0.1:8000"
LATE = 0.1  # seconds behind schedule that count as "could not keep the rate"
_addresses = itertools.count(1)


def client() -> httpx.Client:
    # One documentation-range address per client, so auth's per-address throttles see many clients.
    n = next(_addresses)
    address = f"203.0.{n // 250 % 250}.{n % 250 + 1}"
    return httpx.Client(base_url=ENTRY, timeout=30, headers={"X-Forwarded-For": address})


def bearer(c: httpx.Client, email: str, password: str) -> dict[str, str]:
    resp = c.post("/auth/login", json={"email": email, "password": password})
    resp.raise_for_status()
    return {"Authorization": "Bearer " + resp.json()["access_token"]}


def new_user(funds: int) -> dict[str, str]:
    with client() as c:
        email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
        c.post("/auth/register", json={"email": email, "password": "bench-password", "name": "B"}).raise_for_status()
        auth = bearer(c, email, "bench-password")
        c.post("/payments/wallet/deposit", headers=auth, json={"amount": funds}).raise_for_status()
        return auth


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50.0, help="orders per second (arrival rate)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=32, help="concurrent HTTP clients placing orders")
    parser.add_argument("--orders-per-user", type=int, default=3)
    args = parser.parse_args()
    total = int(args.rate * args.seconds)
    n_users = max(1, -(-total // args.orders_per_user))

    with client() as c:
        admin = bearer(c, "admin@calories.local", "admin-password")
        rid = c.post("/restaurants", headers=admin, json={
            "name": f"Bench {uuid.uuid4().hex[:6]}", "address": "1 Bench Road", "daily_capacity": 100_000}).json()["id"]
        dish = c.post(f"/restaurants/{rid}/dishes", headers=admin, json={
            "text": "Bench soup", "calories": 300, "kind": "soup", "price": 100}).json()["id"]
    print(f"registering {n_users} users ...", flush=True)
    with ThreadPoolExecutor(8) as pool:
        users = list(pool.map(lambda _: new_user(100 * args.orders_per_user + 100), range(n_users)))
    first_day = date(2035, 1, 1) + timedelta(days=(uuid.uuid4().int % 2000) * 20)

    def body(i: int) -> dict:
        day = (first_day + timedelta(days=i % 20)).isoformat()
        return {"restaurant_id": rid, "delivery_address": "2 Bench Road", "phone": "+1 555",
                "days": [{"date": day, "meals": [{"meal": "lunch", "dishes": [{"dish_id": dish, "quantity": 1}]}]}]}

    # orders' copy of the new menu arrives through events: wait for it once, before measuring.
    with client() as c:
        deadline = time.monotonic() + 60
        while (r := c.post("/orders", headers={**users[0], "Idempotency-Key": str(uuid.uuid4())},
                           json=body(0))).status_code == 422 and time.monotonic() < deadline:
            time.sleep(0.2)
        r.raise_for_status()

    placed: dict[str, float] = {}
    owner: dict[str, dict[str, str]] = {}
    awaiting: dict[str, float] = {}
    paid: dict[str, float] = {}
    active: dict[str, float] = {}
    errors: list[str] = []
    late: list[float] = []
    stop = threading.Event()
    sessions = Service("orders", ServiceSettings(environment="development")).sessions  # make up's stack
    to_pay: queue.Queue[str] = queue.Queue()

    def watch() -> None:
        while not stop.is_set():
            ids = [o for o in list(placed) if o not in active]
            if ids:
                with sessions() as s:
                    rows = s.execute(text("SELECT id::text, status FROM orders WHERE id::text = ANY(:ids)"),
                                     {"ids": ids}).all()
                now = time.monotonic()
                for order_id, status in rows:
                    if status in ("AWAITING_PAYMENT", "ACTIVE") and order_id not in awaiting:
                        awaiting[order_id] = now
                        to_pay.put(order_id)
                    if status == "ACTIVE":
                        active.setdefault(order_id, now)
            time.sleep(0.01)

    def pay() -> None:
        with client() as p:
            while not stop.is_set():
                try:
                    order_id = to_pay.get(timeout=0.1)
                except queue.Empty:
                    continue
                paid[order_id] = time.monotonic()
                r = p.post("/payments", headers=owner[order_id], json={"order_id": order_id, "amount": 100})
                if r.status_code != 200:  # payments' copy not there yet: again in a moment
                    del paid[order_id]
                    time.sleep(0.05)
                    to_pay.put(order_id)

    local = threading.local()

    def place(i: int, due: float) -> None:
        behind = time.monotonic() - due
        if behind > LATE:
            late.append(behind)
        if not hasattr(local, "client"):
            local.client = client()
        auth = users[i // args.orders_per_user]
        r = local.client.post("/orders", headers={**auth, "Idempotency-Key": str(uuid.uuid4())}, json=body(i))
        if r.status_code != 201:
            errors.append(f"{r.status_code} {r.text[:120]}")
            return
        order_id = r.json()["order_id"]
        owner[order_id] = auth
        placed[order_id] = due  # latency counts from the scheduled arrival

    helpers = [threading.Thread(target=watch, daemon=True), *(threading.Thread(target=pay, daemon=True)
                                                              for _ in range(4))]
    for t in helpers:
        t.start()
    print(f"placing {total} orders at {args.rate:g}/s ...", flush=True)
    cpu_before = process_snapshot()
    start = time.monotonic()
    with ThreadPoolExecutor(args.clients) as pool:
        for i in range(total):
            due = start + i / args.rate
            if (delay := due - time.monotonic()) > 0:
                time.sleep(delay)
            pool.submit(place, i, due)
    sending_time = time.monotonic() - start
    deadline = time.monotonic() + 120
    while len(active) < len(placed) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    cpu_after = process_snapshot()

    first_leg = [(awaiting[o] - placed[o]) * 1000 for o in placed if o in awaiting]
    second_leg = [(active[o] - paid[o]) * 1000 for o in paid if o in active]
    print(f"order saga benchmark: {args.rate:.0f} orders/s asked for {args.seconds:.0f}s ({total} orders, "
          f"{args.clients} clients, {n_users} users)")
    print(f"  placed              {len(placed)} in {sending_time:.1f}s ({len(placed) / sending_time:.1f}/s achieved)"
          f", {len(errors)} refused")
    if late:
        print(f"  RATE NOT KEPT: {len(late)} orders sent more than {LATE * 1000:.0f} ms late "
              f"(worst {max(late) * 1000:.0f} ms): the clients, not the saga, were the limit")
    for e in errors[:3]:
        print(f"  refused: {e}")
    print(f"  placed→AWAITING ms  p50 {percentile(first_leg, .5):.0f}  p95 {percentile(first_leg, .95):.0f}  "
          f"p99 {percentile(first_leg, .99):.0f}  ({len(first_leg)} reached)")
    print(f"  pay→ACTIVE ms       p50 {percentile(second_leg, .5):.0f}  p95 {percentile(second_leg, .95):.0f}  "
          f"p99 {percentile(second_leg, .99):.0f}  ({len(second_leg)} reached)")
    lost = len(placed) - len(active)
    print(f"  not ACTIVE at the end: {lost}")
    print_cpu(cpu_before, cpu_after, len(active))


def print_cpu(before: dict[str, tuple[float, int]], after: dict[str, tuple[float, int]], orders: int) -> None:
    """CPU milliseconds each part spent per order that became ACTIVE, from placing the first to the
    last one ACTIVE: the saga's cost, which on a shared machine moves less than its latency does.
    `(machine)` is every process on the machine (other people's work included)."""
    if not orders:
        return
    used = {name: after[name][0] - before[name][0] for name in after if name in before}
    stack = sum(v for k, v in used.items() if k != "(machine)")
    print(f"  CPU per ACTIVE order: stack {stack * 1000 / orders:.1f} ms, "
          f"machine {used.get('(machine)', 0) * 1000 / orders:.1f} ms; by part:")
    ranked = sorted(((v, k) for k, v in used.items() if k != "(machine)"), reverse=True)
    print("   " + ", ".join(f"{k} {v * 1000 / orders:.1f}" for v, k in ranked if v * 1000 / orders >= 0.5))


if __name__ == "__main__":
    main()
