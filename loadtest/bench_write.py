"""The diary's write path beside its floor, in one run: `POST /records` through the HTTP entry
(gateway → records: token check, validation, the unit of work, the entry and its outbox row) and a
bare endpoint that only inserts the same row and one outbox row in one transaction
(`loadtest.bare_app:diary_app`, started here on a free port). Same machine, same Postgres, one
uvicorn worker each with 10 connections and 10 threads, the same locust client and connection
count, one after the other (bare, records, bare again: the two bare figures show how much the
machine moved meanwhile). Prints req/s, p50 and p99 of each and records' share of the bare rate.
Needs `make up`.

    python -m loadtest.bench_write [--users 32] [--seconds 20]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import tempfile
import uuid
from pathlib import Path

import httpx
import psycopg

from chassis import local
from loadtest.limits import DB, DSN, LOCUST, PY, ROOT, free_port, wait_until_serving

ENTRY = f"http://127.0.0.1:{local.GATEWAY_PORT}"
DIARY_TABLE = """CREATE TABLE IF NOT EXISTS loadtest_diary (
    id uuid PRIMARY KEY, user_id uuid NOT NULL, eaten_at timestamptz NOT NULL, eaten_on date NOT NULL,
    meal text NOT NULL, text text NOT NULL, calories integer NOT NULL, grams double precision,
    protein double precision, fat double precision, carbs double precision, dish_id text,
    source text NOT NULL, version integer NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"""


def token() -> str:
    """A fresh account's access token (records takes the user id from it)."""
    email = f"bench-write-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=ENTRY, timeout=30) as c:
        c.post("/auth/register", json={"email": email, "password": "bench-password", "name": "W"}).raise_for_status()
        r = c.post("/auth/login", json={"email": email, "password": "bench-password"})
        r.raise_for_status()
        return r.json()["access_token"]


def hammer(host: str, path: str, users: int, seconds: int, out: Path, tag: str, bearer: str = "") -> dict:
    prefix = out / tag
    subprocess.run([LOCUST, "-f", str(ROOT / "loadtest" / "write_locust.py"), "--headless", "--only-summary",
                    "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", host, "--csv", str(prefix),
                    "--loglevel", "WARNING"], cwd=ROOT, env={**_env(), "WRITE_PATH": path, "WRITE_TOKEN": bearer},
                   check=False, timeout=seconds + 60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(f"{prefix}_stats.csv") as f:
        row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    return {"what": tag, "req_per_s": float(row["Requests/s"]), "requests": int(row["Request Count"]),
            "failures": int(row["Failure Count"]), "p50_ms": float(row["50%"]), "p99_ms": float(row["99%"])}


def _env() -> dict[str, str]:
    return {**os.environ, "LOADTEST_BARE_DB_URL": local.database_url(DB)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=32, help="concurrent connections")
    parser.add_argument("--seconds", type=int, default=20, help="each of the three runs")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bench-write-"))
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(DIARY_TABLE)
    port = free_port()
    server = subprocess.Popen([PY, "-m", "uvicorn", "loadtest.bare_app:diary_app", "--host", "127.0.0.1", "--port",
                               str(port), "--no-access-log", "--log-level", "warning"], cwd=ROOT, env=_env())
    try:
        wait_until_serving(server, port)
        bare_host, bearer = f"http://127.0.0.1:{port}", token()
        runs = [hammer(bare_host, "/entries", args.users, args.seconds, out, "bare"),
                hammer(ENTRY, "/records", args.users, args.seconds, out, "records", bearer),
                hammer(bare_host, "/entries", args.users, args.seconds, out, "bare again")]
    finally:
        server.terminate()
        server.wait(10)
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS loadtest_diary")
            conn.execute("DELETE FROM outbox WHERE aggregatetype = 'stacktest.bench'")
    print(f"diary write path: {args.users} connections, {args.seconds} s each, one after the other")
    for r in runs:
        print(f"  {r['what']:<11} {r['req_per_s']:7.1f} req/s  p50 {r['p50_ms']:6.0f} ms  p99 {r['p99_ms']:6.0f} ms"
              f"  ({r['requests']} requests, {r['failures']} failed)")
    if any(r["failures"] for r in runs):
        raise SystemExit("  requests failed: the rates above do not compare (see the servers' output above)")
    bare = (runs[0]["req_per_s"] + runs[2]["req_per_s"]) / 2
    print(f"  POST /records is {100 * runs[1]['req_per_s'] / bare:.0f}% of the bare endpoint (mean of both bare runs;"
          f" goal ≥ 60%)")


if __name__ == "__main__":
    main()
