"""Benchmark of the outbox path: commit → consumed latency and throughput, on the real stack.

Writes probe events (one transaction each) at a fixed rate for a fixed time, while a Kafka
consumer reads the topic; latency is the time from the writer's commit returning to the record
reaching the consumer (Postgres WAL → Debezium → Kafka → consumer). Prints p50/p95/p99/max and
the achieved events/s. A benchmark, not a test: it asserts nothing about speed.

    python -m loadtest.bench_outbox [--rate 200] [--seconds 20] [--writers 4] [--writer uow|sql] [--timeline]

It also samples CPU once a second (the machine, and each part of the stack from its pid file):
it prints what each part used over the run and, with `--timeline`, one row per second of commit
time (events, p50/p99/max latency, the machine's busy share, the busiest parts), to tell a stall
that comes with a saturated machine from one that comes on its own.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import threading
import time
import uuid
from typing import Any

import psycopg
from confluent_kafka import Consumer, TopicPartition

from chassis.db import UnitOfWork
from chassis.settings import stack_settings
from loadtest.sampler import process_snapshot
from tests.integration import probe

# The row chassis.outbox.write_events writes, as one statement (`--writer sql`).
SQL_OUTBOX_ROW = ("INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, correlation_id) "
                  "VALUES (%s, %s, %s, %s, %s, %s)")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200.0, help="events per second, in total")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--writers", type=int, default=4, help="writer threads sharing the rate")
    parser.add_argument("--timeline", action="store_true", help="one row per second of the run")
    parser.add_argument("--writer", choices=["uow", "sql"], default="uow",
                        help="uow: the services' unit of work (SQLAlchemy session, chassis.outbox); sql: the "
                             "same outbox row through one prepared INSERT on a plain psycopg connection, so "
                             "the load generator takes less of the machine it shares with the stack")
    args = parser.parse_args()

    probe.prepare()
    settings = stack_settings()
    topic = settings.topic(probe.ProbeHappened.aggregate_type)
    run = uuid.uuid4().hex[:8]
    committed: dict[str, float] = {}
    # The reader and the CPU sampler run in processes of their own: in the writers' process a
    # record's arrival would be stamped only once the writer threads let go of the GIL.
    # CLOCK_MONOTONIC is one clock for every process of the machine.
    mp = multiprocessing.get_context("spawn")
    stop, ready, seen = mp.Event(), mp.Event(), mp.Value("i", 0)
    to_reader, from_reader = mp.Pipe()
    to_sampler, from_sampler = mp.Pipe()
    reader = mp.Process(target=read_topic, args=(settings.kafka_bootstrap, topic, f"bench-{run}-", ready, stop,
                                                 seen, to_reader), daemon=True)
    reader.start()
    sampler = mp.Process(target=sample_cpu, args=(stop, reader.pid, to_sampler), daemon=True)
    sampler.start()
    children = [reader, sampler]
    to_reader.close()  # the children hold these ends now: a dead child is an EOF here, not a hang
    to_sampler.close()
    if not ready.wait(60):
        raise SystemExit("the reader process did not get its partitions within 60 s")

    total = int(args.rate * args.seconds)
    per_writer = total // args.writers
    interval = args.writers / args.rate
    start = time.monotonic()

    def write(w: int) -> None:
        conn = psycopg.connect(settings.database_url("stacktest").replace("+psycopg", "")) \
            if args.writer == "sql" else None
        for i in range(per_writer):
            due = start + i * interval + w * interval / args.writers
            if (delay := due - time.monotonic()) > 0:
                time.sleep(delay)
            event = probe.ProbeHappened(aggregate_id=f"bench-{run}-{w}", seq=i)
            if conn is None:
                with UnitOfWork(probe.sessions(), probe.codec()) as uow:
                    uow.publish(event)
                    uow.commit()
            else:  # one transaction per event, as with the unit of work
                with conn.transaction():
                    conn.execute(SQL_OUTBOX_ROW, (event.event_id, event.aggregate_type, event.aggregate_id,
                                                  event.event_type(), probe.codec().encode(event),
                                                  event.correlation_id), prepare=True)
            committed[str(event.event_id)] = time.monotonic()
        if conn is not None:
            conn.close()

    writers = [threading.Thread(target=write, args=(w,)) for w in range(args.writers)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    write_end = time.monotonic()
    deadline = write_end + 60
    while seen.value < len(committed) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    consumed: dict[str, float] = receive(from_reader, "reader")
    samples: list[tuple[float, dict[str, tuple[float, int]]]] = receive(from_sampler, "sampler")
    for child in children:
        child.join(10)

    latencies = [(consumed[k] - committed[k]) * 1000 for k in committed if k in consumed]
    last = max(consumed[k] for k in committed if k in consumed)
    print(f"outbox → Kafka benchmark: target {args.rate:.0f} ev/s for {args.seconds:.0f}s, {args.writers} writers "
          f"({args.writer})")
    print(f"  events written      {len(committed)} ({len(committed) / (write_end - start):.0f} ev/s achieved)")
    print(f"  events consumed     {len(latencies)} (missing {len(committed) - len(latencies)})")
    print(f"  end-to-end rate     {len(latencies) / (last - start):.0f} ev/s (first write → last consumed)")
    print(f"  commit→consumed ms  p50 {percentile(latencies, .5):.1f}  p95 {percentile(latencies, .95):.1f}  "
          f"p99 {percentile(latencies, .99):.1f}  max {max(latencies):.1f}  mean {statistics.mean(latencies):.1f}")
    if len(samples) >= 2:
        (t0, first), (t1, last_sample) = samples[0], samples[-1]
        used = cpu_shares(first, last_sample, t1 - t0)
        print(f"  CPU over the run    (share of one core; the machine has {os.cpu_count()} cores) " +
              "  ".join(f"{name} {share:.2f}" for name, share in used[:8]))
    if args.timeline:
        print_timeline(start, committed, consumed, samples)


def read_topic(bootstrap: str, topic: str, prefix: str, ready: Any, stop: Any, seen: Any, out: Any) -> None:
    """A child process: stamps the arrival of each record whose key starts with `prefix`, from the
    topic's end onwards, and sends {event id: arrival} through `out` once `stop` is set."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"{prefix}reader",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 10})
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p))[1])
                     for p in parts])
    consumer.poll(0.5)  # joins the partitions before the writers start
    ready.set()
    arrived: dict[str, float] = {}
    while not stop.is_set():
        msg = consumer.poll(0.05)
        if msg is not None and msg.error() is None and (msg.key() or b"").decode().startswith(prefix):
            event_id = dict(msg.headers() or [])["event_id"].decode()
            if event_id not in arrived:
                arrived[event_id] = time.monotonic()
                seen.value = len(arrived)
    consumer.close()
    out.send(arrived)


def receive(end: Any, child: str) -> Any:
    if not end.poll(60):
        raise SystemExit(f"the {child} process sent nothing within 60 s of the end")
    try:
        return end.recv()
    except EOFError:
        raise SystemExit(f"the {child} process died before sending its results") from None


def sample_cpu(stop: Any, reader: int, out: Any) -> None:
    """A child process: CPU of the machine and of each part once a second; `(bench)` is the writers'
    process alone, the reader and this sampler counted apart."""
    bench = {"(bench)": os.getppid(), "(bench reader)": reader, "(bench sampler)": os.getpid()}
    samples = []
    while not stop.is_set():
        samples.append((time.monotonic(), process_snapshot(bench)))
        stop.wait(1.0)
    samples.append((time.monotonic(), process_snapshot(bench)))
    out.send(samples)


def cpu_shares(before: dict[str, tuple[float, int]], after: dict[str, tuple[float, int]],
               seconds: float) -> list[tuple[str, float]]:
    """(part, CPU seconds per second) between two snapshots, busiest first; the machine first."""
    shares = {name: (after[name][0] - before[name][0]) / seconds for name in after.keys() & before.keys()}
    return sorted(shares.items(), key=lambda kv: (kv[0] != "(machine)", -kv[1]))


def print_timeline(start: float, committed: dict[str, float], consumed: dict[str, float],
                   samples: list[tuple[float, dict[str, tuple[float, int]]]]) -> None:
    by_second: dict[int, list[float]] = {}
    for key, at in committed.items():
        if key in consumed:
            by_second.setdefault(int(at - start), []).append((consumed[key] - at) * 1000)
    print("  second  events   p50 ms   p99 ms   max ms  machine  busiest parts (share of one core)")
    for second, lat in sorted(by_second.items()):
        cpu = ""
        window = [(t, snap) for t, snap in samples if second <= t - start < second + 2]
        if len(window) >= 2:
            (ta, a), (tb, b) = window[0], window[-1]
            used = cpu_shares(a, b, tb - ta)
            cpu = f"{used[0][1]:7.2f}  " + "  ".join(f"{n} {v:.2f}" for n, v in used[1:4])
        print(f"  {second:6d} {len(lat):7d} {percentile(lat, .5):8.1f} {percentile(lat, .99):8.1f} "
              f"{max(lat):8.1f}  {cpu}")


if __name__ == "__main__":
    main()
