"""The project's own exporter: one small process publishing what no off-the-shelf exporter here gives.

    python -m monitoring.exporter [--port 9310] [--run-dir .stack/run]

It publishes four groups of series, each computed when Prometheus scrapes (`/metrics`):

* **Processes of the local stack** — every `<run dir>/<part>.pid` (written by `stack/stack.py`):
  `calories_process_cpu_seconds_total{process,service}`, `calories_process_resident_memory_bytes`,
  `calories_process_proportional_memory_bytes` (PSS: shared pages divided among the sharers, the
  honest figure for Postgres whose backends share its buffers), `calories_process_threads`,
  `calories_process_children`, `calories_process_start_time_seconds` and `calories_process_up`
  (0 when the pid file names a process that is gone). A part is its process *and its
  descendants* (Postgres' backends, nginx's workers): CPU adds each one's own and reaped
  children's time, memory adds each one's resident set. In Kubernetes the same questions are
  answered per pod by cAdvisor; locally this is the "one pod" view.

* **Consumer lag** — the metric names of danielqsj/kafka_exporter (which the Go module proxy
  here refuses), so dashboards and alerts move unchanged to a cluster that runs the real one:
  `kafka_brokers`, `kafka_topic_partitions{topic}`, `kafka_topic_partition_current_offset`,
  `kafka_topic_partition_oldest_offset{topic,partition}`, `kafka_consumergroup_current_offset`,
  `kafka_consumergroup_lag{consumergroup,topic,partition}`, `kafka_consumergroup_lag_sum`,
  `kafka_consumergroup_current_offset_sum{consumergroup,topic}`, `kafka_consumergroup_members`.
  Lag is the log-end offset minus the group's committed offset (a partition the group never
  committed counts from its oldest offset, as `chassis.lag` does).

* **Postgres** — the names of prometheus-community/postgres_exporter (also refused by the proxy)
  for the few series the alerts and dashboards use: `pg_up`, `pg_settings_max_connections`,
  `pg_stat_database_numbackends{datname}`, `pg_stat_database_xact_commit{datname}`,
  `pg_stat_database_xact_rollback{datname}`, `pg_stat_database_deadlocks{datname}`,
  `pg_database_size_bytes{datname}`, `pg_replication_slots_active{slot_name,database}` and
  `pg_replication_slots_pg_wal_lsn_diff{slot_name,database}` (bytes of WAL the slot still holds:
  current WAL position minus the slot's `confirmed_flush_lsn`).

* **Outbox backlog** per service database — `calories_outbox_uncaptured_rows{service}`,
  `calories_outbox_oldest_uncaptured_age_seconds{service}`, `calories_outbox_slot_lag_bytes`.
  How "not yet captured" is decided (see `LsnClock`): the outbox (`chassis/outbox.py`) keeps its
  rows, so "rows in the table" says nothing; Debezium (`connectors/`) reads them from the WAL
  through the replication slot `<prefix>_<service>_outbox` and moves the slot's
  `confirmed_flush_lsn` forward once Kafka has acknowledged the records (Connect's offset flush,
  every second here). A row is captured when its transaction's *commit record* lies below that
  LSN. Postgres does not tell a row's commit LSN (no `track_commit_timestamp` here), so the
  exporter keeps a clock: every second it samples `(now(), pg_current_wal_lsn())`. Any
  transaction that committed before a sample was taken has its commit record below that sample's
  LSN. With C the slot's confirmed LSN, let T be the time of the newest sample whose LSN <= C:
  everything committed before T is certainly captured, and the backlog is the rows with
  `created_at >= T` (`created_at` is the transaction's start, `now()`, so a row whose
  transaction started before T but committed after it would be missed: our units of work last
  milliseconds, the sampling step is a second). The oldest uncaptured age is `now() - min(
  created_at)` of those rows, 0 when there are none. The figures err by at most one sampling
  step towards *more* backlog, never towards hiding a stuck slot: a slot that stops confirming
  keeps T still while rows and their age grow. Until the first sample is confirmed (a few
  seconds after start: Debezium's heartbeat moves the slot every 10 s even on a quiet
  database) the series are absent rather than guessed. The table has no index on `created_at`:
  the count is a scan of the outbox, cheap at local sizes; production would add an index or a
  retention job.

Everything reads: nothing here writes to a database or a topic. Standard library, psycopg,
confluent-kafka and prometheus-client only (the project's dependencies).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import start_http_server
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, UnknownMetricFamily
from prometheus_client.registry import Collector

from chassis import local

log = logging.getLogger("monitoring.exporter")

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
DEFAULT_PORT = local.EXPORTER_PORT  # CALORIES_EXPORTER_PORT
ENGINES = {"postgres": "postgres", "kafka": "kafka", "connect": "connect", "registry": "registry",
           "gateway": "gateway", "prometheus": "monitoring", "exporter": "monitoring"}


def part_service(part: str) -> str:
    """The service that owns a stack part: itself for an API, the first word of a processor's name
    (`orders_saga`, `orders-saga`), the engine's own name otherwise."""
    name = part.replace("-", "_")
    if name in local.SERVICES:
        return name
    if name in local.PROCESSORS:
        return local.owner(name)
    if part in ENGINES:
        return ENGINES[part]
    first = name.split("_", 1)[0]
    return first if first in local.SERVICES else part


# ------------------------------------------------------------------------------------ processes

@dataclass
class ProcStat:
    pid: int
    ppid: int
    cpu_seconds: float  # own user+system plus reaped children's
    threads: int
    start_ticks: int
    rss_bytes: int
    own_cpu_seconds: float = 0.0  # own user+system only


def read_stat(pid: int) -> ProcStat | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = raw[raw.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime=14, stime=15, cutime=16, cstime=17, threads=20,
    # starttime=22, rss=24 (in pages) -> index = field - 3.
    own = int(fields[11]) + int(fields[12])
    ticks = own + int(fields[13]) + int(fields[14])
    return ProcStat(pid=pid, ppid=int(fields[1]), cpu_seconds=ticks / CLK_TCK, threads=int(fields[17]),
                    start_ticks=int(fields[19]), rss_bytes=int(fields[21]) * PAGE_SIZE,
                    own_cpu_seconds=own / CLK_TCK)


def all_processes() -> dict[int, ProcStat]:
    procs = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and (stat := read_stat(int(entry.name))):
            procs[stat.pid] = stat
    return procs


def tree_cpu_seconds(tree: list[int], procs: dict[int, ProcStat], roots: Iterable[int]) -> float:
    """CPU of a part's processes, with the time of children they reaped (Postgres' backends, reaped
    by the postmaster). A process that is the parent of another part (the fork server, whose
    children are the apps) counts its own time only: a reaped app's lifetime would otherwise be
    counted again, under the fork server, after the app had reported it itself."""
    parents_of_parts = {procs[r].ppid for r in roots if r in procs}
    return sum(procs[p].own_cpu_seconds if p in parents_of_parts else procs[p].cpu_seconds for p in tree)


def descendants(root: int, procs: dict[int, ProcStat], other_roots: Iterable[int] = ()) -> list[int]:
    """`root` and its descendants, without the trees of `other_roots` (parts it started: the fork
    server's apps count as themselves, not twice)."""
    stop = set(other_roots) - {root}
    children: dict[int, list[int]] = {}
    for stat in procs.values():
        children.setdefault(stat.ppid, []).append(stat.pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(c for c in children.get(pid, ()) if c not in stop)
    return out


_PSS_CACHE: dict[tuple[int, int], tuple[float, int]] = {}
PSS_TTL = 30.0  # smaps_rollup walks every mapping: slow for a JVM, so read it at most this often


def pss_bytes(pid: int, start_ticks: int = 0) -> int:
    key, now = (pid, start_ticks), time.monotonic()
    cached = _PSS_CACHE.get(key)
    if cached and now - cached[0] < PSS_TTL:
        return cached[1]
    value = _read_pss(pid)
    _PSS_CACHE[key] = (now, value)
    if len(_PSS_CACHE) > 4096:
        _PSS_CACHE.clear()
    return value


def _read_pss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def boot_time() -> float:
    for line in Path("/proc/stat").read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    return 0.0


class LazyCollector(Collector):
    def describe(self) -> Iterable:
        return []  # no collection at registration (prometheus-client would call collect())


# Helpers started on demand, not parts: the fork server (stack/apps.py) is started again by the next
# app start when it is gone, and the apps it forked run on without it. Its CPU and memory are
# reported while it runs; its absence is not a part down.
ON_DEMAND = frozenset({"forkserver"})


class ProcessCollector(LazyCollector):
    """CPU and memory of every part of the local stack, from its pid file and /proc."""

    def __init__(self, run_dir: Path):
        self.run_dir = run_dir
        self.btime = boot_time()

    def parts(self) -> dict[str, int | None]:
        out: dict[str, int | None] = {}
        for pidfile in sorted(self.run_dir.glob("*.pid")):
            try:
                out[pidfile.stem] = int(pidfile.read_text().split()[0])
            except (OSError, ValueError, IndexError):
                out[pidfile.stem] = None
        return out

    def collect(self) -> Iterable:
        labels = ["process", "service"]
        up = GaugeMetricFamily("calories_process_up", "1 if the part's pid file names a live process.", labels=labels)
        cpu = CounterMetricFamily("calories_process_cpu_seconds", "CPU time of a part (with its descendants).",
                                  labels=labels)
        rss = GaugeMetricFamily("calories_process_resident_memory_bytes",
                                "Resident memory of a part (sum over its processes).", labels=labels)
        pss = GaugeMetricFamily("calories_process_proportional_memory_bytes",
                                "Proportional set size of a part (shared pages divided among sharers).", labels=labels)
        threads = GaugeMetricFamily("calories_process_threads", "Threads of a part.", labels=labels)
        children = GaugeMetricFamily("calories_process_children", "Descendant processes of a part.", labels=labels)
        started = GaugeMetricFamily("calories_process_start_time_seconds", "When the part's process started.",
                                    labels=labels)
        procs = all_processes()
        seen: set[int] = set()
        parts = self.parts()
        roots = {pid for pid in parts.values() if pid is not None}
        for part, pid in parts.items():
            if pid is not None and pid in seen:  # nginx's own pid file repeats the gateway's
                continue
            seen.add(pid or -1)
            key = [part, part_service(part)]
            if pid is None or pid not in procs:
                if part not in ON_DEMAND:
                    up.add_metric(key, 0)
                continue
            tree = [p for p in descendants(pid, procs, roots) if p in procs]
            up.add_metric(key, 1)
            cpu.add_metric(key, tree_cpu_seconds(tree, procs, roots))
            rss.add_metric(key, sum(procs[p].rss_bytes for p in tree))
            pss.add_metric(key, sum(pss_bytes(p, procs[p].start_ticks) for p in tree))
            threads.add_metric(key, sum(procs[p].threads for p in tree))
            children.add_metric(key, len(tree) - 1)
            started.add_metric(key, self.btime + procs[pid].start_ticks / CLK_TCK)
        yield from (up, cpu, rss, pss, threads, children, started)


# ------------------------------------------------------------------------------------- postgres

def pg_dsn(database: str) -> str:
    """Local convention (chassis.local); `CALORIES_<DB>_DATABASE_URL` wins when set."""
    url = os.environ.get(f"CALORIES_{database.upper()}_DATABASE_URL") or local.database_url(database)
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def slot_name(service: str) -> str:
    """The replication slot `connectors/register.py` gives the service's outbox connector."""
    return f"{local.TOPIC_PREFIX}_{service}_outbox"


class LsnClock:
    """Samples `(now(), pg_current_wal_lsn())` every `step` seconds, to tell which commits a slot's
    confirmed LSN covers (see the module docstring)."""

    def __init__(self, dsn: str, step: float = 1.0, keep: float = 6 * 3600):
        self.dsn, self.step = dsn, step
        self.samples: deque[tuple[float, int]] = deque(maxlen=int(keep / step))
        self.lock = threading.Lock()
        self.stopped = threading.Event()

    def sample(self, conn) -> None:
        row = conn.execute("SELECT extract(epoch FROM now())::float8, "
                           "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint").fetchone()
        with self.lock:
            self.samples.append((row[0], int(row[1])))

    def run(self) -> None:
        import psycopg

        conn = None
        while not self.stopped.is_set():
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(self.dsn, autocommit=True, connect_timeout=3)
                self.sample(conn)
            except Exception as exc:  # the database may be restarting: keep trying
                log.warning("LSN clock: %s", exc)
                conn = None
            self.stopped.wait(self.step)

    def start(self) -> None:
        threading.Thread(target=self.run, name="lsn-clock", daemon=True).start()

    def safe_time(self, confirmed_lsn: int) -> float | None:
        """The time of the newest sample whose LSN the slot has confirmed: every transaction that
        committed before it is captured. None if no sample is confirmed yet."""
        with self.lock:
            lsns = [lsn for _, lsn in self.samples]
            i = bisect.bisect_right(lsns, confirmed_lsn)
            return self.samples[i - 1][0] if i else None


class Connections:
    """One autocommit connection per database, kept between scrapes and reopened after an error."""

    def __init__(self):
        self.conns: dict[str, object] = {}
        self.lock = threading.Lock()

    @contextlib.contextmanager
    def get(self, database: str):
        import psycopg

        with self.lock:
            conn = self.conns.pop(database, None)
        if conn is None or conn.closed:
            conn = psycopg.connect(pg_dsn(database), autocommit=True, connect_timeout=3,
                                   application_name="calories-exporter")
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        with self.lock:
            self.conns[database] = conn


class PostgresCollector(LazyCollector):
    """postgres_exporter's names for connections, databases and slots, plus the outbox backlog."""

    def __init__(self, services: Iterable[str], clock: LsnClock | None, admin_db: str = "auth"):
        self.services, self.clock, self.admin_db = list(services), clock, admin_db
        self.connections = Connections()

    def collect(self) -> Iterable:
        import psycopg

        up = GaugeMetricFamily("pg_up", "Whether the last scrape could reach Postgres.")
        try:
            with self.connections.get(self.admin_db) as conn:
                families = list(self.cluster(conn))
            up.add_metric([], 1)
            yield up
            yield from families
        except psycopg.Error as exc:
            log.warning("postgres: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        yield from self.outbox()

    def cluster(self, conn) -> Iterable:
        maxconn = GaugeMetricFamily("pg_settings_max_connections", "max_connections.")
        maxconn.add_metric([], float(conn.execute("SHOW max_connections").fetchone()[0]))
        yield maxconn
        db = ["datname"]
        backends = GaugeMetricFamily("pg_stat_database_numbackends", "Connections per database.", labels=db)
        # postgres_exporter publishes these counters without a `_total` suffix: same names here.
        commits = UnknownMetricFamily("pg_stat_database_xact_commit", "Transactions committed.", labels=db)
        rollbacks = UnknownMetricFamily("pg_stat_database_xact_rollback", "Transactions rolled back.", labels=db)
        deadlocks = UnknownMetricFamily("pg_stat_database_deadlocks", "Deadlocks detected.", labels=db)
        size = GaugeMetricFamily("pg_database_size_bytes", "Disk space used by the database.", labels=db)
        for name, n, c, r, d, s in conn.execute(
                "SELECT datname, numbackends, xact_commit, xact_rollback, deadlocks, pg_database_size(datname) "
                "FROM pg_stat_database WHERE datname IS NOT NULL AND datname NOT LIKE 'template%'"):
            backends.add_metric([name], n)
            commits.add_metric([name], c)
            rollbacks.add_metric([name], r)
            deadlocks.add_metric([name], d)
            size.add_metric([name], s)
        yield from (backends, commits, rollbacks, deadlocks, size)
        slot = ["slot_name", "database"]
        active = GaugeMetricFamily("pg_replication_slots_active", "Whether a client streams from the slot.",
                                   labels=slot)
        behind = GaugeMetricFamily("pg_replication_slots_pg_wal_lsn_diff",
                                   "WAL bytes between the current position and the slot's confirmed_flush_lsn.",
                                   labels=slot)
        for name, database, is_active, diff in conn.execute(
                "SELECT slot_name, database, active, "
                "pg_wal_lsn_diff(pg_current_wal_lsn(), coalesce(confirmed_flush_lsn, restart_lsn))::bigint "
                "FROM pg_replication_slots"):
            active.add_metric([name, database or ""], 1 if is_active else 0)
            behind.add_metric([name, database or ""], float(diff or 0))
        yield from (active, behind)

    def outbox(self) -> Iterable:
        import psycopg

        rows = GaugeMetricFamily("calories_outbox_uncaptured_rows",
                                 "Outbox rows whose commit the service's replication slot has not confirmed.",
                                 labels=["service"])
        age = GaugeMetricFamily("calories_outbox_oldest_uncaptured_age_seconds",
                                "Age of the oldest outbox row not yet confirmed by the slot (0: none).",
                                labels=["service"])
        slot_lag = GaugeMetricFamily("calories_outbox_slot_lag_bytes",
                                     "WAL bytes between now and the outbox slot's confirmed_flush_lsn.",
                                     labels=["service"])
        scrape_ok = GaugeMetricFamily("calories_outbox_scrape_ok",
                                      "1 if the service's outbox and slot could be read.", labels=["service"])
        for service in self.services:
            try:
                with self.connections.get(service) as conn:
                    slot = conn.execute(
                        "SELECT pg_wal_lsn_diff(confirmed_flush_lsn, '0/0')::bigint, "
                        "pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::bigint, "
                        "extract(epoch FROM now())::float8 FROM pg_replication_slots WHERE slot_name = %s",
                        (slot_name(service),)).fetchone()
                    if slot is None or slot[0] is None:  # no connector registered for it (yet)
                        scrape_ok.add_metric([service], 0)
                        continue
                    confirmed, lag_bytes, now = int(slot[0]), float(slot[1]), slot[2]
                    slot_lag.add_metric([service], lag_bytes)
                    scrape_ok.add_metric([service], 1)
                    since = self.clock.safe_time(confirmed) if self.clock else None
                    if since is None:
                        continue
                    count, oldest = conn.execute(
                        "SELECT count(*), extract(epoch FROM min(created_at))::float8 FROM outbox "
                        "WHERE created_at >= to_timestamp(%s)", (since,)).fetchone()
                    rows.add_metric([service], count)
                    age.add_metric([service], max(now - oldest, 0.0) if oldest is not None else 0.0)
            except psycopg.Error as exc:
                log.warning("outbox of %s: %s", service, exc)
                scrape_ok.add_metric([service], 0)
        yield from (rows, age, slot_lag, scrape_ok)


# ---------------------------------------------------------------------------------------- kafka

class KafkaLagCollector(LazyCollector):
    """kafka_exporter's names: offsets per topic partition, and per consumer group."""

    def __init__(self, bootstrap: str, timeout: float = 5.0):
        from confluent_kafka.admin import AdminClient

        self.timeout = timeout
        self.admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": int(timeout * 1000)})

    def collect(self) -> Iterable:
        from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, TopicPartition
        from confluent_kafka.admin import OffsetSpec

        brokers = GaugeMetricFamily("kafka_brokers", "Brokers in the cluster.")
        try:
            meta = self.admin.list_topics(timeout=self.timeout)
        except KafkaException as exc:
            log.warning("kafka: %s", exc)
            brokers.add_metric([], 0)
            yield brokers
            return
        brokers.add_metric([], len(meta.brokers))
        yield brokers
        tp_labels = ["topic", "partition"]
        partitions = GaugeMetricFamily("kafka_topic_partitions", "Partitions of a topic.", labels=["topic"])
        newest = GaugeMetricFamily("kafka_topic_partition_current_offset", "Log-end offset.", labels=tp_labels)
        oldest = GaugeMetricFamily("kafka_topic_partition_oldest_offset", "Log-start offset.", labels=tp_labels)
        tps = [TopicPartition(t, p) for t, tm in meta.topics.items() for p in tm.partitions
               if not t.startswith("__")]
        for topic, tm in meta.topics.items():
            if not topic.startswith("__"):
                partitions.add_metric([topic], len(tm.partitions))
        ends, starts = self.offsets(tps, OffsetSpec.latest()), self.offsets(tps, OffsetSpec.earliest())
        for (topic, part), end in sorted(ends.items()):
            newest.add_metric([topic, str(part)], end)
        for (topic, part), start in sorted(starts.items()):
            oldest.add_metric([topic, str(part)], start)
        yield from (partitions, newest, oldest)

        g = ["consumergroup"]
        members = GaugeMetricFamily("kafka_consumergroup_members", "Members of a consumer group.", labels=g)
        current = GaugeMetricFamily("kafka_consumergroup_current_offset", "Committed offset of a group.",
                                    labels=[*g, *tp_labels])
        lag = GaugeMetricFamily("kafka_consumergroup_lag", "Log-end offset minus the group's committed offset.",
                                labels=[*g, *tp_labels])
        current_sum = GaugeMetricFamily("kafka_consumergroup_current_offset_sum", "Committed offsets of a group, "
                                        "summed over a topic's partitions.", labels=[*g, "topic"])
        lag_sum = GaugeMetricFamily("kafka_consumergroup_lag_sum", "Lag of a group summed over a topic's partitions.",
                                    labels=[*g, "topic"])
        try:
            groups = [x.group_id for x in self.admin.list_consumer_groups(request_timeout=self.timeout).result().valid]
            described = self.admin.describe_consumer_groups(groups, request_timeout=self.timeout) if groups else {}
        except KafkaException as exc:
            log.warning("kafka groups: %s", exc)
            groups, described = [], {}
        for group in sorted(groups):
            try:
                members.add_metric([group], len(described[group].result().members))
                committed = self.admin.list_consumer_group_offsets(
                    [ConsumerGroupTopicPartitions(group)], request_timeout=self.timeout)[group].result()
            except KafkaException as exc:
                log.warning("kafka group %s: %s", group, exc)
                continue
            sums: dict[str, list[float]] = {}
            for tp in committed.topic_partitions or []:
                key = (tp.topic, tp.partition)
                if key not in ends:
                    continue
                position = tp.offset if tp.offset >= 0 else starts.get(key, 0)
                behind = max(ends[key] - position, 0)
                labels = [group, tp.topic, str(tp.partition)]
                current.add_metric(labels, position)
                lag.add_metric(labels, behind)
                acc = sums.setdefault(tp.topic, [0.0, 0.0])
                acc[0] += position
                acc[1] += behind
            for topic, (pos, behind) in sorted(sums.items()):
                current_sum.add_metric([group, topic], pos)
                lag_sum.add_metric([group, topic], behind)
        yield from (members, current, lag, current_sum, lag_sum)

    def offsets(self, tps: list, spec) -> dict[tuple[str, int], int]:
        from confluent_kafka import KafkaException

        if not tps:
            return {}
        try:
            futures = self.admin.list_offsets({tp: spec for tp in tps}, request_timeout=self.timeout)
        except KafkaException as exc:
            log.warning("kafka offsets: %s", exc)
            return {}
        out = {}
        for tp, fut in futures.items():
            try:
                out[(tp.topic, tp.partition)] = fut.result().offset
            except KafkaException:
                continue
        return out


# ----------------------------------------------------------------------------------------- main

def register_all(run_dir: Path, bootstrap: str, services: Iterable[str], lsn_step: float = 1.0) -> LsnClock:
    services = list(services)
    clock = LsnClock(pg_dsn(services[0]), step=lsn_step)
    clock.start()
    REGISTRY.register(ProcessCollector(run_dir))
    REGISTRY.register(PostgresCollector(services, clock, admin_db=services[0]))
    REGISTRY.register(KafkaLagCollector(bootstrap))
    return clock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--run-dir", type=Path,
                        default=Path(os.environ.get("CALORIES_STACK_DIR", local.ROOT / ".stack")) / "run")
    parser.add_argument("--bootstrap", default=os.environ.get("CALORIES_KAFKA_BOOTSTRAP",
                                                              f"127.0.0.1:{local.KAFKA_PORT}"))
    parser.add_argument("--services", nargs="*", default=list(local.SERVICES))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format='{"level": "%(levelname)s", "logger": "%(name)s", '
                                                   '"message": "%(message)s"}')
    register_all(args.run_dir, args.bootstrap, args.services)
    start_http_server(args.port, addr=args.host)
    log.info("serving /metrics on %s:%d", args.host, args.port)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
