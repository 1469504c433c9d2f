"""One load-test run against the running local stack (`make up`), bounded in time, with its report.

    python -m loadtest.run --profile short          # make loadtest: 25 → 75 users, ~3 minutes
    python -m loadtest.run --profile full           # make loadtest-full: 25 users every 15 s → 250
    python -m loadtest.run --profile rate --rate 4 --seconds 120    # constant arrival rate

In order: wait for the HTTP entry; measure the machine's limits (`loadtest.limits`: pgbench, a bare
uvicorn JSON endpoint, a bare uvicorn + SQLAlchemy insert); start the samplers (`loadtest.sampler`);
run locust headless (`loadtest/locustfile.py`, CSV + HTML); profile the busiest Python processes
with py-spy at the peak; after the load, keep sampling until every processor's lag is back to zero
(bounded); read each order's saga history from orders' database; write the report
(`loadtest.report`). Everything lands in `--out` (default `docs/loadtest/<profile>`). Only loads
127.0.0.1; never starts, stops or restarts a part of the stack.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from chassis import local
from loadtest import limits, report
from loadtest.sampler import Sampler

ROOT = local.ROOT
ENTRY = f"http://127.0.0.1:{local.GATEWAY_PORT}"
PY_BIN = Path(sys.executable).parent

PROFILES = {
    # name: (locust environment, limits seconds, drain seconds)
    "short": ({"LOADTEST_MODE": "step", "LOADTEST_STEP_USERS": "25", "LOADTEST_STEP_SECONDS": "15",
               "LOADTEST_MAX_USERS": "75", "LOADTEST_HOLD_SECONDS": "45"}, 8, 45),
    "full": ({"LOADTEST_MODE": "step", "LOADTEST_STEP_USERS": "25", "LOADTEST_STEP_SECONDS": "15",
              "LOADTEST_MAX_USERS": "250", "LOADTEST_HOLD_SECONDS": "30"}, 15, 120),
    "rate": ({"LOADTEST_MODE": "rate"}, 8, 60),
}


def wait_for_stack(timeout: float = 600) -> None:
    """The stack belongs to everyone: if it is down, wait for it rather than start it."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"{ENTRY}/healthz", timeout=3) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"the stack's HTTP entry {ENTRY} is not answering; run `make up` first")
        print("[loadtest] waiting for the stack's HTTP entry …", flush=True)
        time.sleep(10)


def load_seconds(env: dict[str, str]) -> float:
    if env["LOADTEST_MODE"] == "rate":
        return float(env["LOADTEST_SECONDS"])
    steps = -(-int(env["LOADTEST_MAX_USERS"]) // int(env["LOADTEST_STEP_USERS"]))
    return steps * float(env["LOADTEST_STEP_SECONDS"]) + float(env["LOADTEST_HOLD_SECONDS"])


PYTHON_PARTS = set(local.SERVICES) | set(local.PROCESSORS)


def profile_busiest(sampler: Sampler, out: Path, seconds: int = 20, count: int = 2) -> list[dict]:
    """py-spy on the Python parts using the most CPU right now, and on auth (nonblocking: the
    process is not paused)."""
    pyspy = shutil.which("py-spy", path=str(PY_BIN)) or shutil.which("py-spy")
    if not pyspy:
        print("[loadtest] py-spy not installed (.venv/bin/pip install py-spy): no profile", flush=True)
        return []
    busiest = sorted(((cpu, p) for p, cpu in sampler.latest_cpu.items() if p in PYTHON_PARTS), reverse=True)[:count]
    if "auth" not in [p for _, p in busiest]:  # sign-up and log-in (argon2id) are the journeys' slowest steps
        busiest = [*busiest[:count - 1], (sampler.latest_cpu.get("auth", 0.0), "auth")]
    pids = {}
    for p in (p for _, p in busiest):
        try:
            pids[p] = int((ROOT / ".stack" / "run" / f"{p}.pid").read_text().split()[0])
        except (OSError, ValueError):
            continue
    # A low rate: on a saturated machine py-spy falls behind (and a process with many threads,
    # like a service's thread pool, costs more per sample).
    procs = {p: subprocess.Popen([pyspy, "record", "-d", str(seconds), "-r", "20", "--nonblocking", "-p", str(pid),
                                  "-o", str(out / f"pyspy-{p}.svg")], stdout=subprocess.DEVNULL,
                                 stderr=(out / f"pyspy-{p}.log").open("w")) for p, pid in pids.items()}
    started = time.time()
    for proc in procs.values():
        try:
            proc.wait(max(1.0, started + seconds + 150 - time.time()))
        except subprocess.TimeoutExpired:
            proc.kill()
    cpu = dict((p, c) for c, p in busiest)
    return [{"process": p, "pid": pids[p], "cpu_cores_when_chosen": round(cpu[p], 2), "started": started,
             "seconds": seconds, "svg": f"pyspy-{p}.svg"} for p in procs if (out / f"pyspy-{p}.svg").exists()]


def saga_history(out: Path) -> None:
    """Every placed order's history (status, time, event) from orders' database, read-only."""
    import psycopg

    with (out / "orders.csv").open() as f:
        ids = [r["order_id"] for r in csv.DictReader(f)]
    url = local.database_url("orders").replace("postgresql+psycopg://", "postgresql://")
    rows = []
    if ids:
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT order_id::text, status, extract(epoch FROM at)::float8, event FROM "
                                "order_history WHERE order_id::text = ANY(%s) ORDER BY order_id, id", (ids,)).fetchall()
    with (out / "saga_history.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["order_id", "status", "at", "event"])
        w.writerows([o, s, f"{t:.3f}", e] for o, s, t, e in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=sorted(PROFILES), default="short")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--rate", type=float, default=4.0, help="journeys/s (profile rate)")
    parser.add_argument("--seconds", type=float, default=120.0, help="duration (profile rate)")
    parser.add_argument("--no-limits", action="store_true", help="skip measuring the machine's limits")
    args = parser.parse_args()
    env_extra, limit_seconds, drain_seconds = PROFILES[args.profile]
    env_extra = dict(env_extra)
    if args.profile == "rate":
        env_extra.update(LOADTEST_RATE=str(args.rate), LOADTEST_SECONDS=str(args.seconds))
    out = (args.out or ROOT / "docs" / "loadtest" / args.profile).resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    command = " ".join(["python -m loadtest.run", *sys.argv[1:]])
    wait_for_stack()

    if not args.no_limits:
        print("[loadtest] measuring the machine's limits …", flush=True)
        limits.measure(out, limit_seconds)
        for f in out.glob("limits_*"):
            if not f.name.endswith("_stats.csv"):
                f.unlink()
    wait_for_stack()

    sampler = Sampler(out).start()
    time.sleep(4)  # a baseline of lag and CPU before the first user
    seconds = load_seconds(env_extra)
    env = {**os.environ, **env_extra, "LOADTEST_RUN_DIR": str(out), "PYTHONPATH": str(ROOT)}
    print(f"[loadtest] locust for {seconds:.0f} s ({args.profile}) …", flush=True)
    began = time.time()
    with (out / "locust.log").open("w") as log:
        locust = subprocess.Popen([str(PY_BIN / "locust"), "-f", str(ROOT / "loadtest" / "locustfile.py"),
                                   "--headless", "--host", ENTRY, "--csv", str(out / "locust"), "--csv-full-history",
                                   "--html", str(out / "locust.html"), "--only-summary", "--loglevel", "INFO",
                                   "--stop-timeout", "10"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler.extra_pids["(locust)"] = locust.pid
        profiles: list[dict] = []
        # Profile at the peak: 20 s before the last step ends (setup takes a few seconds first).
        at = max(10.0, seconds - float(env_extra.get("LOADTEST_HOLD_SECONDS", "0")) - 10)

        def profile_later() -> None:
            deadline = began + at
            while time.time() < deadline and locust.poll() is None:
                time.sleep(1)
            if locust.poll() is None:
                profiles.extend(profile_busiest(sampler, out))

        profiler = threading.Thread(target=profile_later, daemon=True)
        profiler.start()
        try:
            locust.wait(timeout=seconds + 240)
        except subprocess.TimeoutExpired:
            locust.terminate()
            locust.wait(30)
        profiler.join(timeout=180)
    ended = time.time()
    print(f"[loadtest] locust ended (exit {locust.returncode}); draining lag (≤ {drain_seconds} s) …", flush=True)
    time.sleep(4)
    deadline = time.monotonic() + drain_seconds
    while time.monotonic() < deadline and (not sampler.latest_lag or any(sampler.latest_lag.values())):
        time.sleep(2)
    drained = time.time()
    sampler.close()
    saga_history(out)
    with (out / "requests.csv").open("rb") as src, gzip.open(out / "requests.csv.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    (out / "requests.csv").unlink()
    run = {"command": command, "profile": args.profile, "locust_env": env_extra, "began": began, "ended": ended,
           "drained": drained, "lag_after_drain": sampler.latest_lag, "profiles": profiles,
           "locust_exit": locust.returncode, "prometheus": sampler.use_prometheus}
    (out / "run.json").write_text(json.dumps(run, indent=1))
    summary = report.write(out)
    print(f"[loadtest] report: {summary}", flush=True)


if __name__ == "__main__":
    main()
