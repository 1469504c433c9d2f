"""Poison versus transient failures, on a real probe worker (tests/integration/probe.py):

- a transient failure (the registry away while the worker's schema cache is empty) is retried until
  it passes: every effect happens and nothing is dead-lettered;
- an event that can never apply (data the database refuses) is dead-lettered with its reason, the
  events after it still apply, and the dead-letter metric counts it;
- `python -m chassis.dlq replay <processor>` re-publishes dead letters to their source topic, once.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

import httpx
import pytest
from confluent_kafka import Message, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from chassis.settings import stack_settings
from tests.integration import probe
from tests.integration.conftest import ROOT, STACK, probe_worker_process
from tests.integration.test_consumer_once import applied
from tests.support import TopicReader, poll_until

SOURCE = stack_settings().topic(probe.ProbeHappened.aggregate_type)
DLQ = f"{stack_settings().topic_prefix}.dlq.{probe.CONSUMER}"


def ensure_topic(name: str) -> None:
    """The dead-letter topic exists before a reader looks at its end (the processor would create it
    on its first dead letter, too late for a reader started before)."""
    admin = AdminClient({"bootstrap.servers": stack_settings().kafka_bootstrap})
    if name in admin.list_topics(timeout=10).topics:
        return
    for future in admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)]).values():
        try:
            future.result(15)
        except Exception as exc:  # created meanwhile by the processor: fine
            if "TOPIC_ALREADY_EXISTS" not in str(exc):
                raise


def produce(events: list[probe.ProbeHappened], topic: str = SOURCE,
            extra_headers: list[tuple[str, bytes]] = ()) -> None:
    """Records as the outbox connector writes them (key, Avro value, event headers), encoded by the
    test's own codec, whose schema ids are cached before the registry is stopped."""
    producer = Producer({"bootstrap.servers": stack_settings().kafka_bootstrap})
    for e in events:
        producer.produce(topic, key=e.aggregate_id.encode(), value=probe.codec().encode(e),
                         headers=[("event_id", str(e.event_id).encode()), ("event_type", b"ProbeHappened"),
                                  ("correlation_id", e.correlation_id.encode()), *extra_headers])
    assert producer.flush(15) == 0


def metric(name: str, **labels: str) -> float:
    """A sample of the probe worker's /metrics (0 when absent)."""
    text = httpx.get(f"http://127.0.0.1:{probe.PORT}/metrics", timeout=5).text
    total = 0.0
    for line in text.splitlines():
        m = re.match(rf"{name}\{{(.*)\}} (\S+)$", line)
        if m and all(f'{k}="{v}"' in m.group(1) for k, v in labels.items()):
            total += float(m.group(2))
    return total


def dead_letters_for(records: list[Message], event_ids: set[str]) -> list[Message]:
    return [m for m in records if dict(m.headers() or []).get("event_id", b"").decode() in event_ids]


@pytest.fixture
def dlq_reader(probe_stack: None):
    ensure_topic(DLQ)
    reader = TopicReader(DLQ)
    yield reader
    reader.close()


@pytest.mark.disruptive
@pytest.mark.alone
def test_registry_outage_is_retried_not_dead_lettered(probe_stack: None, dlq_reader: TopicReader) -> None:
    key = f"outage-{uuid.uuid4()}"
    events = [probe.ProbeHappened(aggregate_id=key, seq=i) for i in range(5)]
    probe.codec().encode(events[0])  # the test's codec knows the schema id before the registry goes
    subprocess.run([*STACK, "stop", "registry"], check=True)
    try:
        # A worker started now has no schema cached: decoding needs the registry, which is away.
        with probe_worker_process():
            produce(events)
            poll_until(lambda: metric("calories_stream_retries_total", processor=probe.CONSUMER) > 0,
                       60, "the worker to retry decoding while the registry is down")
            assert applied([key]) == (0, 0)
            subprocess.run([*STACK, "start", "registry"], check=True)
            poll_until(lambda: applied([key]) == (5, 5), 120, "every event to apply once the registry is back")
            assert metric("calories_stream_events_total", processor=probe.CONSUMER, outcome="dead_lettered") == 0
    finally:
        subprocess.run([*STACK, "start", "registry"], check=True)  # a no-op when it is up
    # Nothing of ours reached the dead-letter topic: a marker written after them would be read
    # after anything of ours (one partition, in order).
    marker = probe.ProbeHappened(aggregate_id=f"marker-{uuid.uuid4()}", seq=0)
    produce([marker], topic=DLQ)
    seen = dlq_reader.read_until(lambda s: bool(dead_letters_for(s, {str(marker.event_id)})), timeout=30)
    assert dead_letters_for(seen, {str(e.event_id) for e in events}) == []


def test_event_that_can_never_apply_is_dead_lettered_and_the_next_ones_apply(
        probe_worker, dlq_reader: TopicReader) -> None:
    key = f"poison-{uuid.uuid4()}"
    before = probe.ProbeHappened(aggregate_id=key, seq=1)
    # Postgres' text refuses NUL: a DataError, never true however often retried (the defect of a
    # NUL phone number that blocked the users' profile processor).
    poison = probe.ProbeHappened(aggregate_id=key + "\x00", seq=2)
    after = probe.ProbeHappened(aggregate_id=key, seq=3)
    dead_before = metric("calories_stream_events_total", processor=probe.CONSUMER, outcome="dead_lettered")

    # Same Kafka key for all three: one partition, so `after` really comes after the poison.
    producer = Producer({"bootstrap.servers": stack_settings().kafka_bootstrap})
    for e in (before, poison, after):
        producer.produce(SOURCE, key=key.encode(), value=probe.codec().encode(e),
                         headers=[("event_id", str(e.event_id).encode()), ("event_type", b"ProbeHappened"),
                                  ("correlation_id", e.correlation_id.encode())])
    assert producer.flush(15) == 0

    poll_until(lambda: applied([key]) == (2, 2), 60, "the events before and after the poison to apply")
    [letter] = dead_letters_for(
        dlq_reader.read_until(lambda s: bool(dead_letters_for(s, {str(poison.event_id)})), timeout=60),
        {str(poison.event_id)})
    headers = {k: v.decode() for k, v in letter.headers()}
    assert headers["source_topic"] == SOURCE
    assert "DataError" in headers["error"] and "NUL" in headers["error"]
    assert letter.value() == probe.codec().encode(poison)  # the bytes as received
    poll_until(lambda: metric("calories_stream_events_total", processor=probe.CONSUMER,
                              outcome="dead_lettered") >= dead_before + 1, 15, "the dead-letter metric to count it")


def test_dlq_replay_republishes_dead_letters_to_their_source_once(probe_worker) -> None:
    # A processor name of its own, so dead letters of other tests are not replayed here.
    replayed_for = f"stacktest_replay_{uuid.uuid4().hex[:8]}"
    dlq = f"{stack_settings().topic_prefix}.dlq.{replayed_for}"
    ensure_topic(dlq)
    key = f"replay-{uuid.uuid4()}"
    event = probe.ProbeHappened(aggregate_id=key, seq=1)
    produce([event], topic=dlq, extra_headers=[("error", b"OperationalError: fixed since"),
                                                ("source_topic", SOURCE.encode()),
                                                ("source_partition", b"0"), ("source_offset", b"42")])

    def replay() -> str:
        done = subprocess.run([sys.executable, "-m", "chassis.dlq", "replay", replayed_for], cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    assert "replayed 1 dead letter" in replay()
    poll_until(lambda: applied([key]) == (1, 1), 60, "the replayed event to apply")
    assert "replayed 0 dead letter" in replay()  # the replay group committed its offsets
