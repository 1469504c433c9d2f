"""Chaos under load: a steady mixed load while parts of the running stack fail in turn, with SPEC §8's
invariants checked after each fault and at the end. Bounded in time; stops by itself.

    python -m loadtest.chaos                        # the default faults, ~15 minutes
    python -m loadtest.chaos --faults kill:orders,pause:orders_saga --minutes 4
    python -m loadtest.chaos --list                 # every fault it knows

Runs against whatever stack chassis/local.py resolves from the environment (`CALORIES_*_PORT`,
`CALORIES_STACK_DIR`), through `stack/stack.py` like the saga chaos test. In order:

1. waits until every part is ready; notes the end of every dead-letter topic;
2. starts locust headless in a subprocess (`loadtest/chaos_locust.py`: the journeys of
   `loadtest/locustfile.py` — diary writes, orders and payments, notifications and menus read, a
   manager, a kitchen, a courier — at a constant `--rate`) and samples lag, CPU and an end-to-end
   probe (`loadtest.sampler`);
3. a baseline window without a fault, then each fault in turn: inject it (and do what a supervisor
   would: start the killed part again), then poll — never a fixed sleep — until every part answers
   its readiness check, every Debezium connector and task runs, a probe event committed after the
   fault has travelled outbox → Kafka → consumer, and every processor's lag is back near the
   baseline's; then check the invariants (`loadtest.chaos_checks`) until they hold or a deadline;
4. stops locust, checks once more, prints the table and writes it with the raw series to `--out`.

Faults: `kill:<part>` (SIGKILL, then start), `postgres` (stopped, held down `--pg-down` s, started;
the services must answer 503 meanwhile, never 500), `pause:<processor>` (SIGSTOP past the 10 s
consumer session timeout, then SIGCONT: a rebalance), `net:latency|loss|cut` (Toxiproxy between
three services and Postgres) and `net:broker-latency|broker-loss|broker-cut` (Toxiproxy between
every processor and Kafka, through the broker's PROXIED listener): see `LINKS` and `Network`. A
part left paused, a proxy left in the way or locust left running is undone on the way out,
whatever happened.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chassis import local
from loadtest.chaos_checks import Check, check_until_true, dead_letter_ends
from loadtest.sampler import Sampler

ROOT = local.ROOT


def say(*what: object) -> None:
    """The runner's own output. The sampler prints every failed sample (many while Kafka or Postgres
    is away); its stdout goes to the run folder's sampler.log instead (see main)."""
    print(*what, file=sys.__stdout__, flush=True)


STACK_DIR = Path(os.environ.get("CALORIES_STACK_DIR", ROOT / ".stack")).resolve()
STACK = [sys.executable, str(ROOT / "stack" / "stack.py")]
ENTRY = f"http://127.0.0.1:{local.GATEWAY_PORT}"
BOOTSTRAP = f"127.0.0.1:{local.KAFKA_PORT}"
SESSION_TIMEOUT = 10.0  # chassis/streams.py broker_session_timeout

# The default run, sized to stay under ~15 minutes on the 2-core machine: the APIs and processors
# on the load's and the saga's path (the rest with --faults all).
DEFAULT_APIS = ("orders", "payments", "records")
DEFAULT_PROCESSORS = ("orders_saga", "restaurants_reservations", "payments_orders", "records_totals",
                      "notifications_feed")
NET_SERVICES = ("records", "orders", "payments")


# ================================================================================ pure parts

@dataclass
class Row:
    """One line of the table: a fault and what the clients and the stack went through."""

    fault: str
    seconds: float = 0.0  # the window: from injecting the fault to recovered (or the deadline)
    requests_per_s: float = 0.0
    codes: dict[int, int] = field(default_factory=dict)  # status code → responses, errors only (0: no answer)
    peak_lag: int | None = None
    recovery: float | None = None  # None: not recovered before the deadline
    checks: list[Check] = field(default_factory=list)
    note: str = ""


def error_codes(codes: dict[int, int], low: int, high: int) -> str:
    """'502x12 503x3' for the codes in [low, high]; 0 (no answer at all) is shown as 'conn'."""
    shown = [(("conn" if c == 0 else str(c)), n) for c, n in sorted(codes.items()) if low <= c <= high and n]
    return " ".join(f"{c}x{n}" for c, n in shown) or "-"


def verdict(checks: Iterable[Check]) -> str:
    """'7/7 hold' or 'FAIL holdings, dead letters (5/7 hold)'."""
    checks = list(checks)
    if not checks:
        return "not checked"
    failed = [c.name for c in checks if not c.ok]
    held = f"{len(checks) - len(failed)}/{len(checks)} hold"
    return f"FAIL {', '.join(failed)} ({held})" if failed else held


def recovered(r: Row) -> str:
    if r.fault.startswith(("baseline", "end")) or r.note:
        return "-"
    return "NOT recovered" if r.recovery is None else f"{r.recovery:.0f} s"


def table(rows: list[Row]) -> list[list[str]]:
    header = ["fault", "window s", "req/s", "5xx / no answer", "500s", "4xx", "peak lag", "recovered in",
              "invariants"]
    body = [[r.fault, f"{r.seconds:.0f}", f"{r.requests_per_s:.1f}",
             error_codes({c: n for c, n in r.codes.items() if c == 0 or c >= 500}, 0, 599),
             str(r.codes.get(500, 0)), error_codes(r.codes, 400, 499),
             "-" if r.peak_lag is None else str(r.peak_lag),
             recovered(r),
             r.note or verdict(r.checks)] for r in rows]
    return [header, *body]


def format_text(rows: list[Row]) -> str:
    cells = table(rows)
    widths = [max(len(line[i]) for line in cells) for i in range(len(cells[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def format_markdown(rows: list[Row]) -> str:
    cells = table(rows)
    escape: Callable[[str], str] = lambda s: s.replace("|", "\\|")  # noqa: E731
    lines = ["| " + " | ".join(escape(c) for c in line) + " |" for line in cells]
    return "\n".join([lines[0], "|" + "---|" * len(cells[0]), *lines[1:]])


def failures(rows: list[Row]) -> list[str]:
    """Every invariant that did not hold, once per (check, detail), with the faults that saw it."""
    seen: dict[tuple[str, str], list[str]] = collections.OrderedDict()
    for r in rows:
        for c in r.checks:
            if not c.ok:
                seen.setdefault((c.name, c.detail), []).append(r.fault)
    return [f"{name}: {detail} — after {', '.join(faults)}" for (name, detail), faults in seen.items()]


def window(statuses: list[tuple[float, int]], t0: float, t1: float) -> tuple[float, dict[int, int]]:
    """(requests/s, {error code: count}) of the responses that ended in [t0, t1]."""
    inside = [code for t, code in statuses if t0 <= t <= t1]
    codes = collections.Counter(c for c in inside if c == 0 or c >= 400)
    return (len(inside) / (t1 - t0) if t1 > t0 else 0.0), dict(codes)


def lag_drained(lag: dict[str, int], limit: int) -> bool:
    return bool(lag) and all(v <= limit for v in lag.values())


# ================================================================================ the stack

def run_stack(*args: str, timeout: float = 300) -> None:
    subprocess.run([*STACK, *args], check=True, timeout=timeout, stdout=subprocess.DEVNULL)


def stack_parts() -> list[Any]:
    """The parts whose readiness means recovered: engines, services, processors, gateway. Not the
    monitoring (exporter, Prometheus): it watches the system, it is not the system."""
    sys.path.insert(0, str(ROOT))
    from stack.apps import app_parts
    from stack.engines import engine_parts

    return [*engine_parts(), *app_parts()]


def connectors_running() -> bool:
    """Every Debezium connector and each of its tasks RUNNING (a FAILED task carries no events)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{local.CONNECT_PORT}/connectors?expand=status",
                                    timeout=3) as r:
            status = json.load(r)
    except (OSError, ValueError):
        return False
    return bool(status) and all(s["status"]["connector"]["state"] == "RUNNING"
                                and all(t["state"] == "RUNNING" for t in s["status"]["tasks"])
                                for s in status.values())


def not_ready(parts: list[Any]) -> list[str]:
    with ThreadPoolExecutor(8) as pool:
        health = list(pool.map(lambda p: p.healthy(), parts))
    down = [p.name for p, ok in zip(parts, health, strict=True) if not ok]
    if "connect" not in down and not connectors_running():
        down.append("connectors")
    return down


def pid_of(name: str) -> int:
    return int((STACK_DIR / "run" / f"{name}.pid").read_text().split()[0])


class ChaosSampler(Sampler):
    """The load test's sampler, plus when each lag reading and probe arrival happened: while Kafka
    is down a reading fails and the last one would look current."""

    def __init__(self, run_dir: Path) -> None:
        self.probes: list[tuple[float, float]] = []  # (arrived, committed) of each probe event
        super().__init__(run_dir)
        self.lag_at = 0.0  # the constructor's empty reading is not a reading
        self.use_prometheus = False  # its scrape interval would hide a fault shorter than it
        write = self.probe.write

        def arrived(rows: list[list[Any]]) -> None:
            self.probes.extend((float(t), float(t) - float(ms) / 1000) for t, _, ms in rows)
            write(rows)

        self.probe.write = arrived  # type: ignore[method-assign]

    @property
    def latest_lag(self) -> dict[str, int]:
        return self._lag

    @latest_lag.setter
    def latest_lag(self, value: dict[str, int]) -> None:
        self._lag, self.lag_at = value, time.time()

    def _loop_lag(self) -> None:
        """Lag read by a child process (`--lag-worker`), started again whenever it dies: librdkafka's
        admin client can abort the whole process (an assertion in rd_kafka_enq_once) while the
        broker restarts, and the runner must outlive the faults it injects."""
        while not self.stop.is_set():
            proc = subprocess.Popen([sys.executable, "-m", "loadtest.chaos", "--lag-worker"], cwd=ROOT,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
            assert proc.stdout is not None
            for line in proc.stdout:
                t, values = json.loads(line)
                self.latest_lag = values
                self.lag.write([[f"{t:.3f}", "kafka", g, v] for g, v in sorted(values.items())])
                if self.stop.is_set():
                    break
            proc.kill()
            proc.wait()
            self.stop.wait(1)

    def probe_since(self, t: float) -> bool:
        """An event committed at or after `t` has come all the way through."""
        return any(committed >= t for _, committed in self.probes[-50:])


# ================================================================================ network

@dataclass(frozen=True)
class Link:
    """A path the runner can put Toxiproxy on: the parts on one side, restarted with `env_port`
    pointing at the proxy's `listen` port, and the engine's `upstream` port on the other side."""

    name: str  # the proxy's name in Toxiproxy, and the word in the fault keys
    parts: tuple[str, ...]
    env_port: str  # the CALORIES_<...>_PORT the parts reach the engine by
    listen: int
    upstream: int
    plain: int  # the engine's own port, which the parts go back to

    @property
    def title(self) -> str:
        return f"{'/'.join(self.parts) if len(self.parts) <= 3 else 'processors'}<->{self.engine}"

    @property
    def engine(self) -> str:
        return "Postgres" if self.name == "postgres" else "Kafka"


LINKS = {
    # Three services on the load's path ↔ their databases.
    "postgres": Link("postgres", NET_SERVICES, "PG", local.PG_PORT + 1, local.PG_PORT, local.PG_PORT),
    # Every processor ↔ the broker, through the broker's PROXIED listener, which advertises the proxy's
    # port (stack/etc/kafka.properties.tmpl): fetches, commits, heartbeats, changelogs and outputs all
    # go through the proxy, never around it.
    "broker": Link("broker", tuple(local.PROCESSORS), "KAFKA", local.KAFKA_PROXY_PORT, local.KAFKA_PROXIED_PORT,
                   local.KAFKA_PORT),
}


def net_fault_link(key: str) -> str | None:
    """`net:cut` → 'postgres', `net:broker-cut` → 'broker', anything else → None."""
    if not key.startswith("net:"):
        return None
    kind = key.removeprefix("net:")
    return kind.split("-", 1)[0] if "-" in kind else "postgres"


class Network:
    """Toxiproxy on the `LINKS`: built from the Go module proxy into the stack's tools folder when
    missing (and `go` is there), started once, then a proxy per link the run needs, with that link's
    parts restarted to go through it. Loopback only. Toxiproxy works on TCP streams, not packets:
    'loss' is its `timeout` toxic on a share of the connections (their data dropped, the connection
    closed after a while), the nearest thing it has."""

    VERSION = "v2.5.0"

    def __init__(self) -> None:
        self.binary = STACK_DIR / "tools" / "toxiproxy-server"
        self.api = f"http://127.0.0.1:{local.GATEWAY_PORT + 474}"  # 8474, toxiproxy's own default, on the main stack
        self.proc: subprocess.Popen[bytes] | None = None
        self.routed: set[str] = set()  # links whose parts go through the proxy

    def available(self) -> str | None:
        """None when it can run, else why not."""
        if self.binary.exists():
            return None
        go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None)
        if not go:
            return "no toxiproxy-server in the stack's tools folder and no `go` to build it"
        tools = self.binary.parent
        tools.mkdir(parents=True, exist_ok=True)
        say(f"[chaos] building toxiproxy {self.VERSION} with go (module proxy) …")
        built = subprocess.run([go, "install", f"github.com/Shopify/toxiproxy/v2/cmd/server@{self.VERSION}"],
                               env={**os.environ, "GOFLAGS": "-mod=mod", "GOBIN": str(tools)},
                               capture_output=True, text=True, timeout=900)
        if built.returncode != 0 or not (tools / "server").exists():
            return f"go install failed: {built.stderr.strip()[-200:]}"
        (tools / "server").rename(self.binary)
        return None

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        req = urllib.request.Request(f"{self.api}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as r:
            raw = r.read()
        try:
            return json.loads(raw) if raw else None
        except ValueError:  # /version answers plain text
            return raw.decode()

    def _serve(self) -> None:
        if self.proc and self.proc.poll() is None:
            return
        port = self.api.rsplit(":", 1)[1]
        log = (STACK_DIR / "logs" / "toxiproxy.log").open("ab")
        # LOG_LEVEL: its default logs every write of every proxied connection.
        self.proc = subprocess.Popen([str(self.binary), "-host", "127.0.0.1", "-port", port], stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True,
                                     env={**os.environ, "LOG_LEVEL": "warn"})
        deadline = time.monotonic() + 30
        while True:
            try:
                self._call("GET", "/version")
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("toxiproxy did not start; read logs/toxiproxy.log") from None
                time.sleep(0.2)

    def start(self, link: Link) -> None:
        """The proxy for `link`, and its parts restarted to go through it."""
        self._serve()
        self.routed.add(link.name)  # first: a half-made route is undone on the way out too
        self._call("POST", "/proxies", {"name": link.name, "listen": f"127.0.0.1:{link.listen}",
                                        "upstream": f"127.0.0.1:{link.upstream}", "enabled": True})
        self.route(link, through_proxy=True)

    def route(self, link: Link, through_proxy: bool) -> None:
        """Restart the link's parts with their engine port on the proxy, or back on the engine itself."""
        env = {**os.environ, f"CALORIES_{link.env_port}_PORT": str(link.listen if through_proxy else link.plain)}
        procs = [subprocess.Popen([*STACK, "restart", s], env=env, stdout=subprocess.DEVNULL) for s in link.parts]
        for p in procs:
            p.wait(timeout=300)

    def toxic(self, link: Link, kind: str) -> None:
        toxics: dict[str, list[dict[str, Any]]] = {
            "latency": [{"name": f"latency_{d}", "type": "latency", "stream": d,
                         "attributes": {"latency": 200, "jitter": 100}} for d in ("upstream", "downstream")],
            "loss": [{"name": "loss", "type": "timeout", "stream": "downstream", "toxicity": 0.2,
                      "attributes": {"timeout": 3000}}],
        }
        if kind == "cut":
            self._call("POST", f"/proxies/{link.name}", {"enabled": False})
            return
        for t in toxics[kind]:
            self._call("POST", f"/proxies/{link.name}/toxics", t)

    def heal(self, link: Link) -> None:
        proxy = self._call("GET", f"/proxies/{link.name}")
        for t in proxy.get("toxics", []):
            self._call("DELETE", f"/proxies/{link.name}/toxics/{t['name']}")
        self._call("POST", f"/proxies/{link.name}", {"enabled": True})

    def stop(self, link: Link) -> None:
        """The link's parts back on the engine itself, then its proxy gone; Toxiproxy with the last."""
        with contextlib.suppress(Exception):
            self.heal(link)
        self.route(link, through_proxy=False)
        self.routed.discard(link.name)
        with contextlib.suppress(Exception):
            self._call("DELETE", f"/proxies/{link.name}")
        if not self.routed and self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


# ================================================================================ faults

@dataclass
class Fault:
    name: str
    inject: Callable[[], None]  # the fault and the supervisor's reaction; returns when both are done


class Chaos:
    def __init__(self, args: argparse.Namespace, out: Path) -> None:
        self.args, self.out = args, out
        self.parts = stack_parts()
        self.network = Network()
        self.paused: set[str] = set()
        self.unreleased: list[str] = []  # links whose parts could not be moved back (for the report)
        self.statuses_seen = 0
        self.statuses: list[tuple[float, int]] = []
        self.first_error: dict[int, list[str]] = collections.defaultdict(list)

    # ------------------------------------------------------------------ fault catalogue

    def catalogue(self) -> dict[str, Fault]:
        faults: dict[str, Fault] = {}
        for name in [*local.SERVICES, *local.PROCESSORS, "connect", "kafka", "registry"]:
            faults[f"kill:{name}"] = Fault(f"kill -9 {name}", functools.partial(self.kill, name))
        faults["postgres"] = Fault(f"Postgres stopped {self.args.pg_down:.0f} s", self.restart_postgres)
        for name in local.PROCESSORS:
            faults[f"pause:{name}"] = Fault(f"SIGSTOP {name} {self.args.pause:.0f} s",
                                            functools.partial(self.pause, name))
        for kind, what in (("latency", "200±100 ms latency"), ("loss", "20% of connections blackholed"),
                           ("cut", f"cut {self.args.net_seconds:.0f} s")):
            for link in LINKS.values():
                key = f"net:{kind}" if link.name == "postgres" else f"net:{link.name}-{kind}"
                faults[key] = Fault(f"{link.title} {what}", functools.partial(self.net, link, kind))
        return faults

    def default_faults(self) -> list[str]:
        return [*(f"kill:{s}" for s in DEFAULT_APIS), *(f"kill:{p}" for p in DEFAULT_PROCESSORS),
                "kill:connect", "kill:kafka", "kill:registry", "postgres", "pause:orders_saga",
                "net:latency", "net:loss", "net:cut", "net:broker-latency", "net:broker-loss", "net:broker-cut"]

    def all_faults(self) -> list[str]:
        return [*(f"kill:{s}" for s in local.SERVICES), *(f"kill:{p}" for p in local.PROCESSORS),
                "kill:connect", "kill:kafka", "kill:registry", "postgres", "pause:orders_saga",
                "net:latency", "net:loss", "net:cut", "net:broker-latency", "net:broker-loss", "net:broker-cut"]

    # ------------------------------------------------------------------ injections

    def kill(self, name: str) -> None:
        run_stack("kill", name)
        run_stack("start", name)

    def restart_postgres(self) -> None:
        run_stack("stop", "postgres")
        time.sleep(self.args.pg_down)  # the fault itself: how long the database is away
        run_stack("start", "postgres")

    def pause(self, name: str) -> None:
        pid = pid_of(name)
        os.killpg(pid, signal.SIGSTOP)
        self.paused.add(name)
        try:
            time.sleep(self.args.pause)  # the fault itself: longer than the session timeout
        finally:
            os.killpg(pid, signal.SIGCONT)
            self.paused.discard(name)

    def net(self, link: Link, kind: str) -> None:
        if link.name not in self.network.routed:
            raise RuntimeError("network faults unavailable")
        self.network.toxic(link, kind)
        try:
            time.sleep(self.args.net_seconds)  # the fault itself
        finally:
            self.network.heal(link)

    def release(self) -> None:
        """Whatever a fault left behind, undone (also on Ctrl-C or a crash of the runner)."""
        for name in list(self.paused):
            with contextlib.suppress(Exception):
                os.killpg(pid_of(name), signal.SIGCONT)
        for name in list(self.network.routed):
            self.release_link(LINKS[name])

    def release_link(self, link: Link) -> None:
        """The link's parts back on the engine. A failure is reported, not raised: the rest of the
        clean-up (the other link, locust, the sampler) must still happen."""
        say(f"[chaos] network: {'/'.join(link.parts)} back on {link.engine} itself")
        try:
            self.network.stop(link)
        except Exception as exc:
            self.unreleased.append(f"{link.title}: the parts could not be moved back off the proxy ({exc!r}); "
                                   f"restart them: python stack/stack.py restart <part>")
            say(f"[chaos] {self.unreleased[-1]}")

    # ------------------------------------------------------------------ observation

    def read_statuses(self) -> list[tuple[float, int]]:
        """New lines of locust's statuses.tsv, appended to what was read before."""
        path = self.out / "statuses.tsv"
        if path.exists():
            with path.open() as f:
                lines = f.readlines()
            for line in lines[self.statuses_seen:]:
                parts = line.rstrip("\n").split("\t")
                if len(parts) != 5:
                    break  # a line locust is still writing: read it next time
                self.statuses_seen += 1
                t, code = float(parts[0]), int(parts[3])
                self.statuses.append((t, code))
                if code == 0 or code >= 500:
                    self.first_error[code].append(f"{datetime.fromtimestamp(t, UTC):%H:%M:%S} {parts[1]} {parts[2]}")
        return self.statuses

    def wait_recovered(self, sampler: ChaosSampler, since: float, lag_limit: int) -> float | None:
        """Seconds from `since` until every part is ready, a probe committed after `since` arrived and
        the lag is down to `lag_limit`; None at the deadline. Polled, never a fixed sleep."""
        deadline = time.monotonic() + self.args.recovery_timeout
        while time.monotonic() < deadline:
            down = not_ready(self.parts)
            fresh = sampler.lag_at > time.time() - 10
            if not down and fresh and sampler.probe_since(since) and lag_drained(sampler.latest_lag, lag_limit):
                return time.time() - since
            time.sleep(1)
        say(f"[chaos]   not recovered: down={not_ready(self.parts)} lag={sampler.latest_lag}")
        return None

    def peak_lag(self, t0: float, t1: float) -> int | None:
        """The largest total lag (all processors' groups) sampled in [t0, t1]: events in flight."""
        totals: dict[str, int] = collections.defaultdict(int)
        with contextlib.suppress(OSError), (self.out / "lag.csv").open() as f:
            next(f, None)
            for line in f:
                t, _, _, lag = line.rstrip("\n").split(",")
                if t0 <= float(t) <= t1:
                    totals[t] += int(lag)
        return max(totals.values()) if totals else None

    def row(self, name: str, t0: float, t1: float, recovery: float | None, checks: list[Check]) -> Row:
        rps, codes = window(self.read_statuses(), t0, t1)
        return Row(name, t1 - t0, rps, codes, self.peak_lag(t0, t1), recovery, checks)


# ================================================================================ the run

def wait_for_stack(parts: list[Any], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while down := not_ready(parts):
        if time.monotonic() > deadline:
            raise SystemExit(f"[chaos] the stack is not ready ({', '.join(down)}); start it first (make up)")
        say(f"[chaos] waiting for {', '.join(down)} …")
        time.sleep(3)


def start_locust(out: Path, rate: float, seconds: float) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LOADTEST_MODE": "rate", "LOADTEST_RATE": str(rate), "LOADTEST_SECONDS": str(seconds),
           "LOADTEST_RUN_DIR": str(out), "PYTHONPATH": str(ROOT)}
    locust = shutil.which("locust", path=str(Path(sys.executable).parent)) or "locust"
    with (out / "locust.log").open("w") as log:
        return subprocess.Popen([locust, "-f", str(ROOT / "loadtest" / "chaos_locust.py"), "--headless",
                                 "--host", ENTRY, "--csv", str(out / "locust"), "--only-summary",
                                 "--loglevel", "WARNING", "--stop-timeout", "10"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def report(rows: list[Row], chaos: Chaos, command: str, began: datetime, notes: list[str]) -> str:
    errors = [f"- {code if code else 'no answer'}: {len(lines)}, first: " + "; ".join(lines[:3])
              for code, lines in sorted(chaos.first_error.items())]
    found = failures(rows)
    return "\n".join([
        f"# Chaos run {began:%Y-%m-%d %H:%M} UTC", "",
        f"Command: `{command}`  ", f"Machine: {os.cpu_count()} cores, stack `{STACK_DIR}`, entry {ENTRY}", "",
        format_markdown(rows), "",
        "Columns: *window* from injecting the fault to recovered; *req/s* responses per second seen by "
        "locust in the window; *5xx / no answer* and *4xx* the error statuses clients got in the window "
        "('conn': no HTTP answer); *peak lag* the largest total consumer lag of the ten processors sampled "
        "in the window (events in flight); *recovered in* until every part was ready, every connector "
        "task running, a probe event committed after the fault consumed, and the lag back near the "
        "baseline's; *invariants* SPEC §8 checked on the databases and the dead-letter topics.", "",
        "## Invariants that did not hold", "", *(f"- {f}" for f in found or ["none"]), "",
        "## Server errors and unanswered requests seen by clients", "", *(errors or ["none"]), "",
        *(["## Notes", "", *(f"- {n}" for n in notes), ""] if notes else []),
    ])


def lag_worker(every: float = 2.0) -> None:
    """One JSON line per reading, [time, {group: lag}], until the reader of its stdout goes away."""
    from loadtest.sampler import Lag

    lag = Lag()
    while True:
        t0 = time.monotonic()
        try:
            reading = lag.sample()
        except Exception:  # Kafka away: no line, the reader sees the gap
            reading = None
        if reading is not None:
            print(json.dumps([time.time(), reading]), flush=True)  # BrokenPipeError ends it with the runner
        time.sleep(max(0.0, every - (time.monotonic() - t0)))


def main(argv: list[str] | None = None) -> int:
    if (argv if argv is not None else sys.argv[1:]) == ["--lag-worker"]:
        lag_worker()
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--faults", default="default",
                        help="comma-separated fault names (see --list), 'default' or 'all'")
    parser.add_argument("--minutes", type=float, default=15.0,
                        help="budget of the whole run; faults that no longer fit are skipped (default 15)")
    parser.add_argument("--rate", type=float, default=2.0, help="locust journeys per second (default 2)")
    parser.add_argument("--baseline", type=float, default=30.0, help="seconds of load without a fault")
    parser.add_argument("--recovery-timeout", type=float, default=180.0, help="per fault, seconds")
    parser.add_argument("--check-timeout", type=float, default=60.0,
                        help="per fault, seconds the invariants may take to settle")
    parser.add_argument("--pg-down", type=float, default=10.0, help="seconds Postgres stays down")
    parser.add_argument("--pause", type=float, default=SESSION_TIMEOUT + 5, help="seconds a processor stays stopped")
    parser.add_argument("--net-seconds", type=float, default=20.0, help="seconds each network fault lasts")
    parser.add_argument("--out", type=Path, help="run folder (default docs/chaos/<date-time>)")
    parser.add_argument("--list", action="store_true", help="print the known faults and exit")
    args = parser.parse_args(argv)

    began = datetime.now(UTC)
    out = (args.out or ROOT / "docs" / "chaos" / f"{began:%Y-%m-%d-%H%M}").resolve()
    chaos = Chaos(args, out)
    catalogue = chaos.catalogue()
    if args.list:
        say("\n".join(f"{k:34} {f.name}" for k, f in catalogue.items()))
        return 0
    names = {"default": chaos.default_faults(), "all": chaos.all_faults()}.get(args.faults) or args.faults.split(",")
    if unknown := [n for n in names if n not in catalogue]:
        parser.error(f"unknown faults: {', '.join(unknown)} (see --list)")
    out.mkdir(parents=True, exist_ok=True)
    command = " ".join(["python -m loadtest.chaos", *(argv if argv is not None else sys.argv[1:])])
    budget_end = time.monotonic() + args.minutes * 60
    notes: list[str] = []
    rows: list[Row] = []

    wait_for_stack(chaos.parts, 600)
    sys.stdout = (out / "sampler.log").open("a", buffering=1)
    # librdkafka logs every refused connection (Kafka down) straight to fd 2: into the run folder too.
    saved_stderr = os.dup(2)
    with (out / "stderr.log").open("ab") as err:
        os.dup2(err.fileno(), 2)
    dlq_before = dead_letter_ends(BOOTSTRAP, local.TOPIC_PREFIX)
    since = datetime.now(UTC)
    sampler = ChaosSampler(out)
    sampler.start()
    locust = start_locust(out, args.rate, args.minutes * 60 + 300)
    stopping = threading.Event()

    def on_term(signum: int, frame: Any) -> None:
        stopping.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    try:
        # Setup (locust makes this run's restaurants) before the clock of the baseline starts.
        setup_deadline = time.monotonic() + 180
        while not chaos.read_statuses():
            if locust.poll() is not None or time.monotonic() > setup_deadline:
                raise SystemExit(f"[chaos] locust sent no request; read {out / 'locust.log'}")
            time.sleep(1)
        t0 = time.time()
        time.sleep(args.baseline)  # the baseline is a window of load, not a wait for something
        t1 = time.time()
        baseline_lag = max(sampler.latest_lag.values(), default=0)
        lag_limit = max(20, 3 * (chaos.peak_lag(t0, t1) or baseline_lag))
        checks = check_until_true(since, dlq_before, BOOTSTRAP, local.TOPIC_PREFIX, args.check_timeout)
        rows.append(chaos.row("baseline (no fault)", t0, t1, None, checks))
        say(format_text(rows))
        say(f"[chaos] lag counted as drained at ≤ {lag_limit} events per processor")

        if any(n.startswith("net:") for n in names) and (why := chaos.network.available()):
            notes.append(f"network faults skipped: {why}")
            names = [n for n in names if not n.startswith("net:")]

        net_broken: str | None = None
        for n, key in enumerate(names):
            fault = catalogue[key]
            left = budget_end - time.monotonic()
            if left < 45:
                rows.append(Row(fault.name, note="skipped: budget"))
                notes.append(f"{fault.name}: skipped, the --minutes budget was spent")
                continue
            link = LINKS[name] if (name := net_fault_link(key)) else None
            if link and net_broken:
                rows.append(Row(fault.name, note="skipped: no toxiproxy"))
                continue
            if link and link.name not in chaos.network.routed:
                say(f"[chaos] network: {'/'.join(link.parts)} through toxiproxy …")
                s0 = time.time()
                try:
                    chaos.network.start(link)
                except Exception as exc:
                    net_broken = f"toxiproxy did not start: {exc!r}"
                    notes.append(f"network faults skipped: {net_broken}")
                    chaos.release()
                    rows.append(Row(fault.name, note="skipped: no toxiproxy"))
                    continue
                rec = chaos.wait_recovered(sampler, s0, lag_limit)
                rows.append(chaos.row(f"(setup) restart {link.title.split('<->')[0]} through toxiproxy", s0,
                                      time.time(), rec, []))
            say(f"[chaos] {n + 1}/{len(names)} {fault.name}")
            f0 = time.time()
            try:
                fault.inject()
            except Exception as exc:
                notes.append(f"{fault.name}: injecting failed: {exc!r}")
            recovery = chaos.wait_recovered(sampler, f0, lag_limit)
            f1 = time.time()
            checks = check_until_true(since, dlq_before, BOOTSTRAP, local.TOPIC_PREFIX, args.check_timeout)
            rows.append(chaos.row(fault.name, f0, f1, recovery, checks))
            say(format_text(rows[-1:]).splitlines()[-1])
            if recovery is None:
                notes.append(f"{fault.name}: not recovered within {args.recovery_timeout:.0f} s: "
                             f"{', '.join(not_ready(chaos.parts)) or 'lag or probe'}")
            if link and not any(net_fault_link(k) == link.name for k in names[n + 1:]):
                chaos.release_link(link)
    except KeyboardInterrupt:
        notes.append("interrupted")
    finally:
        chaos.release()
        if locust.poll() is None:
            locust.send_signal(signal.SIGINT)  # locust writes its summary and CSVs on the way out
            try:
                locust.wait(60)
            except subprocess.TimeoutExpired:
                locust.kill()
        sampler.close()
        os.dup2(saved_stderr, 2)
    notes.extend(chaos.unreleased)
    if not stopping.is_set():
        f0 = time.time()
        final = check_until_true(since, dlq_before, BOOTSTRAP, local.TOPIC_PREFIX, args.check_timeout * 2)
        rows.append(Row("end (load stopped)", time.time() - f0, checks=final))
    text = report(rows, chaos, command, began, notes)
    (out / "report.md").write_text(text)
    (out / "checks.json").write_text(json.dumps([{"fault": r.fault, "checks": [c.__dict__ for c in r.checks]}
                                                 for r in rows], indent=1))
    say("\n" + format_text(rows))
    say("\n".join(["", *failures(rows)]) if failures(rows) else "\nevery invariant held after every fault")
    say(f"[chaos] report: {out / 'report.md'}")
    return 0 if not failures(rows) and not any(r.codes.get(500) for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
