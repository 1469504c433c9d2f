"""Benchmark: how long the outbox connector takes to drain a backlog. Stops Kafka Connect, writes N
probe events into the stacktest database's outbox, starts Connect, and times until every one of
them is on the probe's topic (Connect's start included). A benchmark, not a test.

    python -m loadtest.bench_drain [--rows 20000]

It stops and starts the `connect` part of the local stack (stack/stack.py): run it on a stack
nothing else is using.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import uuid

from confluent_kafka import Consumer, TopicPartition

from chassis import local
from chassis.db import UnitOfWork
from chassis.settings import stack_settings
from tests.integration import probe


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20_000)
    args = parser.parse_args()
    probe.prepare()
    settings = stack_settings()
    topic = settings.topic(probe.ProbeHappened.aggregate_type)
    reader = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": f"drain-{uuid.uuid4()}",
                       "enable.auto.commit": False})
    parts = reader.list_topics(topic, timeout=10).topics[topic].partitions
    reader.assign([TopicPartition(topic, p, reader.get_watermark_offsets(TopicPartition(topic, p))[1])
                   for p in parts])
    stack = [sys.executable, str(local.ROOT / "stack" / "stack.py")]
    subprocess.run([*stack, "stop", "connect"], check=True, capture_output=True)
    run = uuid.uuid4().hex[:8]
    events = [probe.ProbeHappened(aggregate_id=f"drain-{run}-{i % 50}", seq=i) for i in range(args.rows)]
    with UnitOfWork(probe.sessions(), probe.codec()) as uow:  # one transaction, as a burst of writes
        for event in events:
            uow.publish(event)
        uow.commit()
    started = time.monotonic()
    subprocess.run([*stack, "start", "connect"], check=True, capture_output=True)
    healthy = time.monotonic() - started
    seen = 0
    while seen < args.rows and time.monotonic() - started < 600:
        seen += sum(1 for m in reader.consume(500, 0.5)
                    if m.error() is None and (m.key() or b"").decode().startswith(f"drain-{run}-"))
    reader.close()
    print(f"{args.rows} queued outbox rows: Connect healthy {healthy:.1f} s after its start, "
          f"{seen} on the topic {time.monotonic() - started:.1f} s after it")


if __name__ == "__main__":
    main()
