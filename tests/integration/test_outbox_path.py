"""An outbox row written in a transaction becomes a decoded Avro event on the right topic."""

from __future__ import annotations

import uuid

from confluent_kafka import Message

from chassis.db import UnitOfWork
from tests.integration import probe
from tests.support import TopicReader


def headers(msg: Message) -> dict[str, str]:
    return {k: v.decode() for k, v in (msg.headers() or [])}


def test_committed_row_arrives_decoded_with_key_and_headers(probe_reader: TopicReader) -> None:
    aggregate_id = str(uuid.uuid4())
    event = probe.ProbeHappened(aggregate_id=aggregate_id, seq=7, note="borscht", correlation_id="corr-1")
    with UnitOfWork(probe.sessions(), probe.codec()) as uow:
        uow.publish(event)
        uow.commit()

    [msg] = probe_reader.read_until(
        lambda seen: any(m.key() == aggregate_id.encode() for m in seen), timeout=30)[-1:]
    assert msg.topic() == "calories.stacktest.probe"
    assert msg.key().decode() == aggregate_id
    h = headers(msg)
    assert h["event_id"] == str(event.event_id)
    assert h["event_type"] == "ProbeHappened"
    assert h["correlation_id"] == "corr-1"
    value = probe.codec().decode(msg.value())
    assert value["seq"] == 7 and value["note"] == "borscht"
    assert value["event_id"] == event.event_id
    assert value["aggregate_id"] == aggregate_id
    assert value["occurred_at"] == event.occurred_at


def test_rolled_back_transaction_produces_nothing(probe_reader: TopicReader) -> None:
    aggregate_id = str(uuid.uuid4())  # one key: one partition, so order is the commit order
    with UnitOfWork(probe.sessions(), probe.codec()) as uow:
        uow.publish(probe.ProbeHappened(aggregate_id=aggregate_id, seq=1, note="rolled back"))
        uow.session.flush()
        # leaving without commit rolls back
    with UnitOfWork(probe.sessions(), probe.codec()) as uow:
        uow.publish(probe.ProbeHappened(aggregate_id=aggregate_id, seq=2, note="committed"))
        uow.commit()

    def marker_seen(seen: list[Message]) -> bool:
        return any(probe.codec().decode(m.value())["seq"] == 2 for m in seen if m.key() == aggregate_id.encode())

    seen = probe_reader.read_until(marker_seen, timeout=30)
    ours = [probe.codec().decode(m.value())["note"] for m in seen if m.key() == aggregate_id.encode()]
    assert ours == ["committed"]


def test_event_written_inside_a_failing_unit_of_work_is_not_published(probe_reader: TopicReader) -> None:
    aggregate_id = str(uuid.uuid4())
    try:
        with UnitOfWork(probe.sessions(), probe.codec()) as uow:
            uow.publish(probe.ProbeHappened(aggregate_id=aggregate_id, seq=1, note="failed"))
            raise RuntimeError("the use case failed after publishing")
    except RuntimeError:
        pass
    with UnitOfWork(probe.sessions(), probe.codec()) as uow:
        uow.publish(probe.ProbeHappened(aggregate_id=aggregate_id, seq=2, note="after"))
        uow.commit()
    seen = probe_reader.read_until(
        lambda s: any(m.key() == aggregate_id.encode() for m in s), timeout=30)
    ours = [probe.codec().decode(m.value())["note"] for m in seen if m.key() == aggregate_id.encode()]
    assert ours == ["after"]
