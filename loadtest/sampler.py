"""What the stack does while locust loads it, sampled into CSV files of a run folder.

* `lag.csv` — per consumer group of the ten stream processors (`calories-<processor>`), the
  committed lag summed over its partitions (log-end offset minus committed offset, as
  `chassis.lag` and the monitoring exporter count it).
* `probe.csv` — outbox → consumed latency: a probe event (`tests.integration.probe`) committed
  through a unit of work into the stacktest database's outbox twice a second, read back from
  `calories.stacktest.probe` (WAL → Debezium → Kafka → consumer, the path every event takes).
* `processes.csv` — CPU (share of one core) and resident memory of every part of the stack, from
  `.stack/run/<part>.pid` and `/proc` (the part's process and its descendants: Postgres' backends),
  of the load generator (`(locust)`) and of the whole machine (`(machine)`, from `/proc/stat`: the
  machine is shared, so what the stack and locust do not use is other people's work).
* `saga.csv` — orders' saga gauges from its `/metrics` (stack-wide, other users' orders included).

When a Prometheus of the monitoring stack answers (`CALORIES_PROMETHEUS_PORT`, 9090) and scrapes
the project's exporter, lag and processes are read from it (`kafka_consumergroup_lag_sum`,
`calories_process_*`); otherwise they are sampled directly. `source` says which, in each row.
Every sampler only reads, except the probe's one-row transactions in the scratch database.
"""

from __future__ import annotations

import csv
import json
import os
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from chassis import local
from monitoring.exporter import all_processes, descendants, tree_cpu_seconds

CLK_TCK = os.sysconf("SC_CLK_TCK")
RUN_PIDS = Path(os.environ.get("CALORIES_STACK_DIR", local.ROOT / ".stack")) / "run"
BOOTSTRAP = f"127.0.0.1:{local.KAFKA_PORT}"
GROUPS = [f"{local.TOPIC_PREFIX}-{p}" for p in local.PROCESSORS]
PROMETHEUS = f"http://127.0.0.1:{os.environ.get('CALORIES_PROMETHEUS_PORT', '9090')}"


class Series:
    def __init__(self, path: Path, header: list[str]):
        self.path, self.lock = path, threading.Lock()
        with path.open("w", newline="") as f:
            csv.writer(f).writerow(header)

    def write(self, rows: list[list]) -> None:
        with self.lock, self.path.open("a", newline="") as f:
            csv.writer(f).writerows(rows)


# ------------------------------------------------------------------------------ processes

def parts() -> dict[str, int]:
    out = {}
    for pidfile in sorted(RUN_PIDS.glob("*.pid")):
        try:
            out[pidfile.stem] = int(pidfile.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            continue
    seen, unique = set(), {}
    for name, pid in out.items():  # nginx's own pid file repeats the gateway's
        if pid not in seen:
            seen.add(pid)
            unique[name] = pid
    return unique


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine has been busy (every process, not idle or waiting on I/O)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / CLK_TCK


def process_snapshot(extra: dict[str, int] | None = None) -> dict[str, tuple[float, int]]:
    """{part: (cpu seconds, rss bytes)} over each part's process tree (without the trees of other
    parts it started); `extra` names more roots
    (the load generator). `(machine)` is the whole machine: other engineers' work included."""
    procs = all_processes()
    out = {"(machine)": (machine_cpu_seconds(), 0)}
    roots = {**parts(), **(extra or {})}
    others = set(roots.values())
    for name, root in roots.items():
        if root not in procs:
            continue
        # A part started by another (an app forked by the fork server) counts as itself only.
        tree = [p for p in descendants(root, procs, others) if p in procs]
        out[name] = (tree_cpu_seconds(tree, procs, others), sum(procs[p].rss_bytes for p in tree))
    return out


# ------------------------------------------------------------------------------------ kafka

class Lag:
    def __init__(self):
        self.admin = self._client()

    @staticmethod
    def _client():
        from confluent_kafka.admin import AdminClient

        return AdminClient({"bootstrap.servers": BOOTSTRAP})

    def sample(self) -> dict[str, int]:
        from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
        from confluent_kafka.admin import OffsetSpec

        # Every group's request at once, so a broker that does not answer costs one timeout per
        # round, not one per group (ten groups, 5 s each: a 50-s hole in the samples).
        futures = {g: self.admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(g)], request_timeout=5)[g]
                   for g in GROUPS}
        committed = {}
        for g, future in futures.items():
            try:
                res = future.result()
                committed[g] = [(tp.topic, tp.partition, tp.offset) for tp in res.topic_partitions or []]
            except Exception:
                continue
        if len(committed) < len(GROUPS):
            # Seen after a kill -9 of the broker: the old client kept timing out long after the broker
            # was back, while a new one answered at once. Start the next round with a new client.
            self.admin = self._client()
        tps = {(t, p) for rows in committed.values() for t, p, _ in rows}
        ends = {}
        if tps:
            futures = self.admin.list_offsets({TopicPartition(t, p): OffsetSpec.latest() for t, p in tps},
                                              request_timeout=5)
            for tp, fut in futures.items():
                try:
                    ends[(tp.topic, tp.partition)] = fut.result().offset
                except Exception:
                    continue
        return {g: sum(max(ends[(t, p)] - max(off, 0), 0) for t, p, off in rows if (t, p) in ends)
                for g, rows in committed.items()}


# ---------------------------------------------------------------------------------- prometheus

def prometheus_ready() -> bool:
    try:
        # The exporter's scrape job (monitoring/prometheus/prometheus.yml.tmpl).
        query = urllib.parse.urlencode({"query": 'up{job="calories-exporter"}'})
        with urllib.request.urlopen(f"{PROMETHEUS}/api/v1/query?{query}", timeout=2) as r:
            return any(float(x["value"][1]) == 1 for x in json.load(r)["data"]["result"])
    except Exception:
        return False


def prom_query(q: str) -> list[dict]:
    url = f"{PROMETHEUS}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    with urllib.request.urlopen(url, timeout=3) as r:
        return json.load(r)["data"]["result"]


# ---------------------------------------------------------------------------------- the sampler

class Sampler:
    def __init__(self, run_dir: Path, every: float = 2.0, probe_every: float = 0.5):
        self.dir, self.every, self.probe_every = run_dir, every, probe_every
        self.stop = threading.Event()
        self.use_prometheus = prometheus_ready()
        self.lag = Series(run_dir / "lag.csv", ["t", "source", "group", "lag"])
        self.procs = Series(run_dir / "processes.csv", ["t", "source", "process", "cpu_cores", "rss_mb"])
        self.saga = Series(run_dir / "saga.csv", ["t", "metric", "value"])
        self.probe = Series(run_dir / "probe.csv", ["t", "event_id", "ms"])
        self.latest_cpu: dict[str, float] = {}
        self.latest_lag: dict[str, int] = {}
        self.extra_pids: dict[str, int] = {}  # e.g. {"(locust)": pid}, sampled directly
        self.threads = [threading.Thread(target=f, daemon=True, name=f.__name__)
                        for f in (self._loop_lag, self._loop_procs, self._loop_saga, self._loop_probe)]

    def start(self) -> Sampler:
        for t in self.threads:
            t.start()
        return self

    def close(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=15)

    def _guard(self, fn) -> None:
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                fn()
            except Exception as exc:  # a sample missed is a gap in the plot, not a failed run
                print(f"[sampler] {fn.__name__}: {exc}", flush=True)
            self.stop.wait(max(0.0, self.every - (time.monotonic() - t0)))

    def _loop_lag(self) -> None:
        lag = None if self.use_prometheus else Lag()

        def once():
            now = time.time()
            if self.use_prometheus:
                groups = "|".join(GROUPS)
                res = prom_query(f'sum by (consumergroup) (kafka_consumergroup_lag_sum{{consumergroup=~"{groups}"}})')
                values = {r["metric"]["consumergroup"]: int(float(r["value"][1])) for r in res}
            else:
                values = lag.sample()
            self.latest_lag = values
            self.lag.write([[f"{now:.3f}", "prometheus" if self.use_prometheus else "kafka", g, v]
                            for g, v in sorted(values.items())])
        self._guard(once)

    def _loop_procs(self) -> None:
        prev: dict[str, tuple[float, float]] = {}

        def once():
            now = time.time()
            if self.use_prometheus and not self.extra_pids:
                cpu = {r["metric"]["process"]: float(r["value"][1]) for r in
                       prom_query("rate(calories_process_cpu_seconds_total[30s])")}  # scraped every 10 s
                rss = {r["metric"]["process"]: float(r["value"][1]) for r in
                       prom_query("calories_process_resident_memory_bytes")}
                rows = [[f"{now:.3f}", "prometheus", p, f"{cpu[p]:.3f}", f"{rss.get(p, 0) / 2**20:.1f}"]
                        for p in sorted(cpu)]
                self.latest_cpu = cpu
            else:
                snap, rows = process_snapshot(self.extra_pids), []
                for p, (cpu_s, rss) in sorted(snap.items()):
                    if p in prev and now > prev[p][0]:
                        share = max(cpu_s - prev[p][1], 0.0) / (now - prev[p][0])
                        rows.append([f"{now:.3f}", "proc", p, f"{share:.3f}", f"{rss / 2**20:.1f}"])
                        self.latest_cpu[p] = share
                    prev[p] = (now, cpu_s)
            self.procs.write(rows)
        self._guard(once)

    def _loop_saga(self) -> None:
        url = f"http://127.0.0.1:{local.service_port('orders')}/metrics"

        def once():
            now = time.time()
            with urllib.request.urlopen(url, timeout=3) as r:
                text = r.read().decode()
            rows = []
            for line in text.splitlines():
                if line.startswith(("calories_sagas_", "calories_saga_")) and not line.startswith("#"):
                    name, value = line.rsplit(" ", 1)
                    if "_created" not in name:
                        rows.append([f"{now:.3f}", name, value])
            self.saga.write(rows)
        self._guard(once)

    def _loop_probe(self) -> None:
        from confluent_kafka import Consumer, TopicPartition

        from chassis.db import UnitOfWork
        from chassis.settings import stack_settings
        from tests.integration import probe

        probe.prepare()
        settings = stack_settings()
        topic = settings.topic(probe.ProbeHappened.aggregate_type)
        consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"loadtest-{uuid.uuid4().hex}",
                             "enable.auto.commit": False, "fetch.wait.max.ms": 10})
        parts_ = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p))[1])
                         for p in parts_])
        committed: dict[str, float] = {}
        seq = 0
        next_write = time.monotonic()
        try:
            while not self.stop.is_set():
                if time.monotonic() >= next_write:
                    event = probe.ProbeHappened(aggregate_id=f"loadtest-{uuid.uuid4().hex[:6]}", seq=seq)
                    try:
                        with UnitOfWork(probe.sessions(), probe.codec()) as uow:
                            uow.publish(event)
                            uow.commit()
                        committed[str(event.event_id)] = time.time()
                    except Exception as exc:
                        print(f"[sampler] probe write: {exc}", flush=True)
                    seq += 1
                    next_write += self.probe_every
                msg = consumer.poll(0.02)
                if msg is not None and msg.error() is None:
                    event_id = dict(msg.headers() or [])["event_id"].decode()
                    if (t0 := committed.pop(event_id, None)) is not None:
                        now = time.time()
                        self.probe.write([[f"{now:.3f}", event_id, f"{(now - t0) * 1000:.1f}"]])
        finally:
            consumer.close()
