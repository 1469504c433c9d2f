"""Benchmark: diary entry written (POST /records answered) → its daily total visible.

W writers each write entries of 1 kcal on a date of their own (of one of `--users` accounts:
registration is throttled per address) through the HTTP entry, together at a fixed rate; a poller
reads records' `daily_totals` read model every 5 ms, so a writer's n-th entry is visible when its
day's total reaches n. Each writer waits for its answer before the next entry, so the rate asked
needs about rate times latency writers (`--writers`). Path measured: records API → outbox →
Debezium → Kafka → records_totals Faust worker (changelog tables) → read model. Prints
p50/p95/p99/max and the achieved rate. Needs `make up`.

    python -m loadtest.bench_diary [--rate 50] [--seconds 20] [--users 5] [--writers 5]
"""

from __future__ import annotations

import argparse
import random
import threading
import time
import uuid
from collections import defaultdict
from datetime import date, timedelta

import httpx
import jwt
from sqlalchemy import select

from apis.records.models import daily_totals
from chassis.service import Service, ServiceSettings
from loadtest.bench_outbox import percentile

ENTRY = "http://127.0.0.1:8000"


def signed_in_user(c: httpx.Client, i: int) -> tuple[str, dict[str, str]]:
    """The i-th bench account, registered on its first use (registration is throttled per address,
    so runs reuse their accounts; each run writes on days of its own, see main)."""
    email, password = f"bench-diary-{i}@example.com", "bench-password"
    login = c.post("/auth/login", json={"email": email, "password": password})
    if login.status_code == 401:
        while (r := c.post("/auth/register", json={"email": email, "password": password, "name": "Bench"})
               ).status_code == 429:
            time.sleep(float(r.headers.get("Retry-After", "5")))
        r.raise_for_status()
        login = c.post("/auth/login", json={"email": email, "password": password})
    login.raise_for_status()
    user_id = str(jwt.decode(login.json()["access_token"], options={"verify_signature": False})["sub"])
    return user_id, {"Authorization": f"Bearer {login.json()['access_token']}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50.0, help="entries per second, all users together")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--users", type=int, default=5, help="accounts")
    parser.add_argument("--writers", type=int, default=5, help="concurrent writers, each on a day of its own")
    args = parser.parse_args()

    with httpx.Client(base_url=ENTRY, timeout=30) as c:
        users = [signed_in_user(c, i) for i in range(args.users)]
    # Days drawn from about a century, so that almost surely no earlier run wrote on them: every
    # total starts from zero (a collision would show as negative latencies).
    first_day = date(2000, 1, 1) + timedelta(days=random.randrange(36_000))
    # Writer i: account i % users, day first_day + i // users; its entries are keyed by (user, day).
    writers = [(users[i % len(users)], first_day + timedelta(days=i // len(users))) for i in range(args.writers)]
    written: dict[tuple[str, date], list[float]] = defaultdict(list)
    visible: dict[tuple[str, date], list[float]] = defaultdict(list)
    sessions = Service("records", ServiceSettings(environment="development")).sessions  # make up's stack
    stop = threading.Event()

    def poll() -> None:
        ids = [uuid.UUID(u) for u, _ in users]
        while not stop.is_set():
            with sessions() as s:
                rows = s.execute(select(daily_totals.c.user_id, daily_totals.c.day, daily_totals.c.calories)
                                 .where(daily_totals.c.user_id.in_(ids))).all()
            now = time.monotonic()
            for user_id, day, calories in rows:
                seen = visible[(str(user_id), day)]
                while len(seen) < calories:
                    seen.append(now)
            time.sleep(0.005)

    per_writer = int(args.rate * args.seconds / args.writers)
    interval = args.writers / args.rate
    start = time.monotonic()

    def write(i: int) -> None:
        (user_id, auth), day = writers[i]
        with httpx.Client(base_url=ENTRY, timeout=30, headers=auth) as c:
            for n in range(per_writer):
                due = start + n * interval + i * interval / args.writers
                if (delay := due - time.monotonic()) > 0:
                    time.sleep(delay)
                resp = c.post("/records", json={"eaten_at": f"{day}T12:00:00Z", "meal": "snack",
                                                "text": f"bench {n}", "calories": 1})
                resp.raise_for_status()
                written[(user_id, day)].append(time.monotonic())

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    threads = [threading.Thread(target=write, args=(i,)) for i in range(args.writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    write_end = time.monotonic()
    deadline = write_end + 60
    while any(len(visible[k]) < len(written[k]) for k in written) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    poller.join()

    latencies = [(visible[k][n] - written[k][n]) * 1000 for k in written
                 for n in range(min(len(written[k]), len(visible[k])))]
    total = sum(len(w) for w in written.values())
    print(f"diary entry → daily total benchmark: {args.rate:.0f} entries/s for {args.seconds:.0f}s, "
          f"{args.users} users, {args.writers} writers")
    print(f"  entries written     {total} ({total / (write_end - start):.0f}/s achieved)")
    print(f"  totals caught up    {len(latencies)} of {total}")
    print(f"  written→visible ms  p50 {percentile(latencies, .5):.1f}  p95 {percentile(latencies, .95):.1f}  "
          f"p99 {percentile(latencies, .99):.1f}  max {max(latencies):.1f}")


if __name__ == "__main__":
    main()
