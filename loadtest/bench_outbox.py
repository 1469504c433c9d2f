"""Benchmark of the outbox path: commit → consumed latency and throughput, on the real stack.

Writes probe events (one transaction each) at a fixed rate for a fixed time, while a Kafka
consumer reads the topic; latency is the time from the writer's commit returning to the record
reaching the consumer (Postgres WAL → Debezium → Kafka → consumer). Prints p50/p95/p99/max and
the achieved events/s. A benchmark, not a test: it asserts nothing about speed.

    python -m loadtest.bench_outbox [--rate 200] [--seconds 20] [--writers 4]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time
import uuid

from confluent_kafka import Consumer, TopicPartition

from chassis.db import UnitOfWork
from chassis.settings import stack_settings
from tests.integration import probe


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200.0, help="events per second, in total")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--writers", type=int, default=4, help="writer threads sharing the rate")
    args = parser.parse_args()

    probe.prepare()
    settings = stack_settings()
    topic = settings.topic(probe.ProbeHappened.aggregate_type)
    run = uuid.uuid4().hex[:8]
    committed: dict[str, float] = {}
    consumed: dict[str, float] = {}

    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"bench-{run}",
                         "enable.auto.commit": False, "fetch.wait.max.ms": 10})
    parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p))[1])
                     for p in parts])
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            msg = consumer.poll(0.05)
            if msg is not None and msg.error() is None:
                event_id = dict(msg.headers())["event_id"].decode()
                consumed.setdefault(event_id, time.monotonic())

    total = int(args.rate * args.seconds)
    per_writer = total // args.writers
    interval = args.writers / args.rate
    start = time.monotonic()

    def write(w: int) -> None:
        for i in range(per_writer):
            due = start + i * interval + w * interval / args.writers
            if (delay := due - time.monotonic()) > 0:
                time.sleep(delay)
            event = probe.ProbeHappened(aggregate_id=f"bench-{run}-{w}", seq=i)
            with UnitOfWork(probe.sessions(), probe.codec()) as uow:
                uow.publish(event)
                uow.commit()
            committed[str(event.event_id)] = time.monotonic()

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    writers = [threading.Thread(target=write, args=(w,)) for w in range(args.writers)]
    for t in writers:
        t.start()
    for t in writers:
        t.join()
    write_end = time.monotonic()
    deadline = write_end + 60
    while len(consumed.keys() & committed.keys()) < len(committed) and time.monotonic() < deadline:
        time.sleep(0.1)
    stop.set()
    reader.join()
    consumer.close()

    latencies = [(consumed[k] - committed[k]) * 1000 for k in committed if k in consumed]
    last = max(consumed[k] for k in committed if k in consumed)
    print(f"outbox → Kafka benchmark: target {args.rate:.0f} ev/s for {args.seconds:.0f}s, {args.writers} writers")
    print(f"  events written      {len(committed)} ({len(committed) / (write_end - start):.0f} ev/s achieved)")
    print(f"  events consumed     {len(latencies)} (missing {len(committed) - len(latencies)})")
    print(f"  end-to-end rate     {len(latencies) / (last - start):.0f} ev/s (first write → last consumed)")
    print(f"  commit→consumed ms  p50 {percentile(latencies, .5):.1f}  p95 {percentile(latencies, .95):.1f}  "
          f"p99 {percentile(latencies, .99):.1f}  max {max(latencies):.1f}  mean {statistics.mean(latencies):.1f}")


if __name__ == "__main__":
    main()
