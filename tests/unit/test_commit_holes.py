"""The processor's watchdog for commits stuck behind a hole in Faust's acked offsets."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from types import SimpleNamespace
from typing import Any

from chassis.streams import Processor

TOPIC = "calories.records.diary"


class TP(SimpleNamespace):
    topic: str
    partition: int

    def __hash__(self) -> int:
        return hash((self.topic, self.partition))


def processor(acked: list[int], committed: int | None, unacked: tuple[int, ...] = ()) -> Any:
    tp = TP(topic=TOPIC, partition=0)
    consumer = SimpleNamespace(
        _acked={tp: list(acked)},
        _committed_offset=defaultdict(lambda: None, {} if committed is None else {tp: committed}),
        _unacked_messages=[SimpleNamespace(tp=tp, offset=o) for o in unacked],
        _read_offset={tp: max(acked, default=0)}, _paused_partitions=set(), flow_active=True,
    )
    app = SimpleNamespace(consumer=consumer, rebalancing=False, in_recovery=False,
                          flow_control=SimpleNamespace(is_active=lambda: True))
    settings = SimpleNamespace(topic=lambda aggregate: f"calories.{aggregate}")
    fake = SimpleNamespace(app=app, service=SimpleNamespace(settings=settings), name="records_totals",
                           subscriptions={"records.diary": {}}, _holes_seen={})
    fake.tp = tp
    return fake


def tick(p: Any) -> None:
    asyncio.run(Processor._heal_commit_holes(p))


def test_a_hole_seen_on_two_ticks_is_committed_past() -> None:
    p = processor(acked=[44, 45, 46], committed=34)
    tick(p)
    assert p.app.consumer._committed_offset[p.tp] == 34  # once could be a commit on its way
    tick(p)
    assert p.app.consumer._committed_offset[p.tp] == 43  # Faust now commits the run from 44


def test_no_hole_no_change() -> None:
    p = processor(acked=[35, 36], committed=34)
    tick(p)
    tick(p)
    assert p.app.consumer._committed_offset[p.tp] == 34


def test_an_event_in_flight_below_the_acked_ones_is_waited_for() -> None:
    p = processor(acked=[44, 45], committed=34, unacked=(40,))
    tick(p)
    tick(p)
    assert p.app.consumer._committed_offset[p.tp] == 34


def test_nothing_is_touched_during_a_rebalance_or_before_a_first_commit() -> None:
    p = processor(acked=[44, 45], committed=34)
    p.app.rebalancing = True
    tick(p)
    tick(p)
    assert p.app.consumer._committed_offset[p.tp] == 34
    q = processor(acked=[44, 45], committed=None)
    tick(q)
    tick(q)
    assert q.tp not in q.app.consumer._committed_offset


def test_a_moving_hole_is_not_healed() -> None:
    p = processor(acked=[44, 45], committed=34)
    tick(p)
    p.app.consumer._committed_offset[p.tp] = 40  # a commit went through between the ticks
    tick(p)
    assert p.app.consumer._committed_offset[p.tp] == 40


def test_a_paused_partition_or_a_read_offset_short_of_the_acked_ones_is_not_healed() -> None:
    p = processor(acked=[44, 45], committed=34)
    p.app.consumer._paused_partitions = {p.tp}
    tick(p)
    tick(p)
    assert p.app.consumer._committed_offset[p.tp] == 34
    q = processor(acked=[44, 45], committed=34)
    q.app.consumer._read_offset[q.tp] = 40  # a seek went back: 40.. will be fetched again
    tick(q)
    tick(q)
    assert q.app.consumer._committed_offset[q.tp] == 34
    r = processor(acked=[44, 45], committed=34)
    r.app.consumer.flow_active = False
    tick(r)
    tick(r)
    assert r.app.consumer._committed_offset[r.tp] == 34
