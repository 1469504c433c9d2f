"""The machine's limits, measured beside the load test on the same machine at the same time:

* Postgres single-row insert commits/s — pgbench on the stack's Postgres (127.0.0.1:55432), a
  scratch table in the `stacktest` database, one `INSERT` per transaction, 1 and 8 clients;
* a bare uvicorn JSON endpoint (`loadtest.bare_app:json_app`), req/s;
* a bare uvicorn + SQLAlchemy insert endpoint (`loadtest.bare_app:db_app`), req/s.

Each server runs the way a service runs (one uvicorn process, `--no-access-log`), on a free port,
started here and stopped after; the client is the load test's own (locust `FastHttpUser`, no
pauses). Results go to `<out>/limits.json`.

    python -m loadtest.limits --out /tmp/limits [--seconds 15]
"""

from __future__ import annotations

import argparse
import csv
import glob
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg

from chassis import local

ROOT = local.ROOT
DB = "stacktest"
DSN = f"postgresql://{DB}:{local.db_password(DB)}@{local.PG_HOST}:{local.PG_PORT}/{DB}"
PY = sys.executable
LOCUST = str(Path(PY).with_name("locust"))


def pgbench_binary() -> str:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pgbench")) or [p for p in ["/usr/bin/pgbench"]
                                                                        if Path(p).exists()]
    if not found:
        raise SystemExit("pgbench not found (Debian's postgresql package has it)")
    return found[-1]


def pgbench(clients: int, seconds: int) -> dict:
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS loadtest_pgbench (id bigserial PRIMARY KEY, v integer NOT NULL)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write("\\set v random(1, 1000000)\nINSERT INTO loadtest_pgbench (v) VALUES (:v);\n")
        script = f.name
    try:
        out = subprocess.run([pgbench_binary(), "-n", "-c", str(clients), "-j", str(min(clients, 2)), "-T",
                              str(seconds), "-f", script, "-h", local.PG_HOST, "-p", str(local.PG_PORT), "-U", DB,
                              DB], env={**os.environ, "PGPASSWORD": local.db_password(DB)},
                             capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    finally:
        os.unlink(script)
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS loadtest_pgbench")
    tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    return {"what": f"pgbench single-row INSERT, {clients} client(s), {seconds} s", "clients": clients,
            "commits_per_s": round(tps, 1), "latency_avg_ms": float(latency.group(1)) if latency else None}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(server: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/openapi.json", timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit(f"bare server on port {port} did not start") from None
            time.sleep(0.2)


def bare(app: str, path: str, users: int, seconds: int, out: Path) -> dict:
    port = free_port()
    env = {**os.environ, "LOADTEST_BARE_DB_URL": local.database_url(DB)}
    server = subprocess.Popen([PY, "-m", "uvicorn", f"loadtest.bare_app:{app}", "--host", "127.0.0.1", "--port",
                               str(port), "--no-access-log", "--log-level", "warning"], cwd=ROOT, env=env)
    try:
        wait_until_serving(server, port)
        prefix = out / f"limits_{app}"
        subprocess.run([LOCUST, "-f", str(ROOT / "loadtest" / "bare_locust.py"), "--headless", "--only-summary",
                        "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--host", f"http://127.0.0.1:{port}",
                        "--csv", str(prefix), "--loglevel", "WARNING"], cwd=ROOT,
                       env={**os.environ, "BARE_PATH": path}, check=False, timeout=seconds + 60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        with open(f"{prefix}_stats.csv") as f:
            row = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
        return {"what": f"bare uvicorn {path} ({app}), {users} locust users, {seconds} s",
                "req_per_s": round(float(row["Requests/s"]), 1), "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]), "p50_ms": float(row["50%"]), "p99_ms": float(row["99%"])}
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def measure(out: Path, seconds: int = 15) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    results = {"pgbench_1": pgbench(1, seconds), "pgbench_8": pgbench(8, seconds),
               "bare_json": bare("json_app", "GET /ping", 32, seconds, out)}
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS loadtest_bare_items (id bigserial PRIMARY KEY, note text)")
    try:
        results["bare_db"] = bare("db_app", "POST /items", 32, seconds, out)
    finally:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute("DROP TABLE IF EXISTS loadtest_bare_items")
    results["measured_at"] = time.time()
    (out / "limits.json").write_text(json.dumps(results, indent=1))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seconds", type=int, default=15)
    args = parser.parse_args()
    print(json.dumps(measure(args.out, args.seconds), indent=1))


if __name__ == "__main__":
    main()
