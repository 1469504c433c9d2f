"""Benchmark: diary entry written (POST /records answered) → its daily total visible.

W users each write entries of 1 kcal on one date through the HTTP entry, together at a fixed
rate; a poller reads records' `daily_totals` read model every 5 ms, so the n-th entry of a user
is visible when that user's total reaches n. Path measured: records API → outbox → Debezium →
Kafka → records_totals Faust worker (changelog tables) → read model. Prints p50/p95/p99/max and
the achieved rate. Needs `make up`.

    python -m loadtest.bench_diary [--rate 50] [--seconds 20] [--users 5]
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from collections import defaultdict

import httpx
from sqlalchemy import select

from apis.records.models import daily_totals
from chassis.service import Service, ServiceSettings
from loadtest.bench_outbox import percentile

ENTRY = "http://127.0.0.1:8000"
DAY = "2026-11-20"


def signed_in_user(c: httpx.Client) -> tuple[str, dict[str, str]]:
    email, password = f"bench-{uuid.uuid4().hex[:10]}@example.com", "bench-password"
    user_id = c.post("/auth/register", json={"email": email, "password": password, "name": "Bench"}).json()["user_id"]
    token = c.post("/auth/login", json={"email": email, "password": password}).json()["access_token"]
    return user_id, {"Authorization": f"Bearer {token}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50.0, help="entries per second, all users together")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=5)
    args = parser.parse_args()

    with httpx.Client(base_url=ENTRY, timeout=30) as c:
        users = [signed_in_user(c) for _ in range(args.users)]
    written: dict[str, list[float]] = defaultdict(list)
    visible: dict[str, list[float]] = defaultdict(list)
    sessions = Service("records", ServiceSettings(environment="development")).sessions  # make up's stack
    stop = threading.Event()

    def poll() -> None:
        ids = [uuid.UUID(u) for u, _ in users]
        while not stop.is_set():
            with sessions() as s:
                rows = s.execute(select(daily_totals.c.user_id, daily_totals.c.calories)
                                 .where(daily_totals.c.user_id.in_(ids))).all()
            now = time.monotonic()
            for user_id, calories in rows:
                seen = visible[str(user_id)]
                while len(seen) < calories:
                    seen.append(now)
            time.sleep(0.005)

    per_user = int(args.rate * args.seconds / args.users)
    interval = args.users / args.rate
    start = time.monotonic()

    def write(i: int) -> None:
        user_id, auth = users[i]
        with httpx.Client(base_url=ENTRY, timeout=30, headers=auth) as c:
            for n in range(per_user):
                due = start + n * interval + i * interval / args.users
                if (delay := due - time.monotonic()) > 0:
                    time.sleep(delay)
                resp = c.post("/records", json={"eaten_at": f"{DAY}T12:00:00Z", "meal": "snack",
                                                "text": f"bench {n}", "calories": 1})
                resp.raise_for_status()
                written[user_id].append(time.monotonic())

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    writers = [threading.Thread(target=write, args=(i,)) for i in range(args.users)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    write_end = time.monotonic()
    deadline = write_end + 60
    while any(len(visible[u]) < len(written[u]) for u, _ in users) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    poller.join()

    latencies = [(visible[u][n] - written[u][n]) * 1000 for u, _ in users
                 for n in range(min(len(written[u]), len(visible[u])))]
    total = sum(len(w) for w in written.values())
    print(f"diary entry → daily total benchmark: {args.rate:.0f} entries/s for {args.seconds:.0f}s, {args.users} users")
    print(f"  entries written     {total} ({total / (write_end - start):.0f}/s achieved)")
    print(f"  totals caught up    {len(latencies)} of {total}")
    print(f"  written→visible ms  p50 {percentile(latencies, .5):.1f}  p95 {percentile(latencies, .95):.1f}  "
          f"p99 {percentile(latencies, .99):.1f}  max {max(latencies):.1f}")


if __name__ == "__main__":
    main()
