"""The consuming side: a Faust worker applies each event once, through redeliveries and a
Kafka Connect crash in the middle of a burst."""

from __future__ import annotations

import subprocess
import threading
import uuid

import pytest
from confluent_kafka import Producer
from sqlalchemy import func, select

from chassis.db import UnitOfWork
from chassis.lag import consumer_lag
from chassis.settings import stack_settings
from tests.integration import probe
from tests.integration.conftest import STACK
from tests.support import SAGA_LANE, TopicReader, poll_until

GROUP = f"calories-{probe.CONSUMER}"  # Faust's consumer group is the app id


def applied(aggregate_ids: list[str]) -> tuple[int, int]:
    """(effect rows, distinct events) recorded for these aggregates."""
    with probe.sessions()() as session:
        row = session.execute(
            select(func.count(), func.count(probe.probe_effects.c.event_id.distinct()))
            .where(probe.probe_effects.c.aggregate_id.in_(aggregate_ids))).one()
        return row[0], row[1]


def caught_up() -> bool:
    topic = stack_settings().topic(probe.ProbeHappened.aggregate_type)
    return sum(consumer_lag(stack_settings().kafka_bootstrap, GROUP, topic).values()) == 0


def publish(aggregate_id: str, seq: int) -> None:
    with UnitOfWork(probe.sessions(), probe.codec()) as uow:
        uow.publish(probe.ProbeHappened(aggregate_id=aggregate_id, seq=seq))
        uow.commit()


def test_redelivered_events_have_no_second_effect(probe_worker, probe_reader: TopicReader) -> None:
    keys = [f"redeliver-{uuid.uuid4()}" for _ in range(5)]
    for i, key in enumerate(keys):
        publish(key, i)
    poll_until(lambda: applied(keys) == (5, 5), 60, "the worker to apply 5 events")
    originals = probe_reader.read_until(lambda s: len({m.key() for m in s} & {k.encode() for k in keys}) == 5,
                                        timeout=30)

    # Deliver every one of them again, byte for byte, headers included.
    producer = Producer({"bootstrap.servers": stack_settings().kafka_bootstrap})
    for msg in originals:
        if msg.key().decode() in keys:
            producer.produce(msg.topic(), key=msg.key(), value=msg.value(), headers=msg.headers())
    assert producer.flush(10) == 0
    poll_until(caught_up, 60, "the worker to consume the redeliveries")
    assert applied(keys) == (5, 5)


@pytest.mark.disruptive
@SAGA_LANE  # kills Connect, as the saga's chaos test does
def test_connect_crash_mid_burst_loses_nothing_and_doubles_nothing(probe_worker,
                                                                   probe_reader: TopicReader) -> None:
    keys = [f"burst-{uuid.uuid4()}" for _ in range(8)]
    total = 400
    written = threading.Event()
    crash_at = threading.Event()

    def writer() -> None:
        for seq in range(total):
            publish(keys[seq % len(keys)], seq)
            if seq == total // 4:
                crash_at.set()
        written.set()

    thread = threading.Thread(target=writer)
    thread.start()
    assert crash_at.wait(60)
    subprocess.run([*STACK, "kill", "connect"], check=True)  # SIGKILL: no clean offset flush
    subprocess.run([*STACK, "start", "connect"], check=True)
    thread.join(120)
    assert written.is_set()

    poll_until(lambda: applied(keys)[1] == total, 180, f"all {total} events to be applied")
    poll_until(caught_up, 60, "the worker to reach the end of the topic")
    rows, distinct = applied(keys)
    assert (rows, distinct) == (total, total)

    # Every event also reached the topic (duplicates from Connect's replay are allowed there).
    def event_ids(records: list) -> list[str]:
        return [dict(m.headers())["event_id"] for m in records if m.key().decode() in keys]

    ours = event_ids(probe_reader.read_until(lambda s: len(set(event_ids(s))) >= total, timeout=60))
    print(f"records on the topic: {len(ours)} for {total} events "
          f"({len(ours) - total} redelivered by Connect after the crash)")
