"""Helpers shared by integration and end-to-end tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from confluent_kafka import Consumer, Message, TopicPartition

from chassis.lag import committed_positions
from chassis.settings import stack_settings

T = TypeVar("T")

# `make test` runs the disruptive tests after the parallel pass: first those marked `alone` (they
# stop what every flow needs, the schema registry), then two lanes side by side, each its own
# pytest process running one test at a time (`python -m tests.lanes`). A lane owns the parts its
# tests stop or kill, so no test has a part killed under it by the other lane; the other lane's
# kills only slow its flows for a few seconds. (Not pytest-xdist's `loadgroup`: with pytest 9 it
# silently schedules like `load`, its group suffix on the node id being ignored.)
SAGA_LANE = pytest.mark.lane_saga  # Kafka Connect, the orders API, the processors below
SIDE_LANE = pytest.mark.lane_side  # every other processor
LANES = {"saga": "lane_saga", "side": "lane_side"}  # lane → its marker
# The saga's processors, and orders' copy of the menus (a saga test stops it to make it stale).
SAGA_PROCESSORS = frozenset({"restaurants_reservations", "delivery_bookings", "orders_saga", "payments_orders",
                             "orders_copies"})


def lane_of(processor: str) -> pytest.MarkDecorator:
    return SAGA_LANE if processor in SAGA_PROCESSORS else SIDE_LANE


def poll_until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll `check` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {result!r})")
        time.sleep(interval)


def end_offsets(topics: list[str]) -> dict[tuple[str, int], int]:
    """The current end of every partition of `topics`: a mark to wait for with `caught_up_to`."""
    consumer = Consumer({"bootstrap.servers": stack_settings().kafka_bootstrap, "group.id": f"test-{uuid.uuid4()}"})
    try:
        ends = {}
        for topic in topics:
            for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                ends[(topic, p)] = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
        return ends
    finally:
        consumer.close()


def caught_up_to(group: str, ends: dict[tuple[str, int], int]) -> bool:
    """`group` has committed at least `ends` on every partition: it has consumed everything published
    before the mark was taken. Not "lag 0": the other lane may keep writing to the same topics, and
    a processor commits every few seconds, so a moment with nothing outstanding may be long coming."""
    positions = committed_positions(stack_settings().kafka_bootstrap, group, list(ends))
    return all(positions[tp] >= end for tp, end in ends.items())


class TopicReader:
    """Reads one topic from the offsets it had when the reader was made (`start`)."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.consumer = Consumer({"bootstrap.servers": stack_settings().kafka_bootstrap,
                                  "group.id": f"test-{uuid.uuid4()}", "enable.auto.commit": False})
        self.start = self._ends()
        self.consumer.assign(self.start)

    def _ends(self) -> list[TopicPartition]:
        partitions = self.consumer.list_topics(self.topic, timeout=10).topics[self.topic].partitions
        return [TopicPartition(self.topic, p, self.consumer.get_watermark_offsets(
            TopicPartition(self.topic, p), timeout=10)[1]) for p in sorted(partitions)]

    def read_to_end(self, timeout: float) -> list[Message]:
        """Every record written since the reader was made, up to each partition's end as of this
        call: what a test wrote, without reading what every earlier test wrote (a long-lived
        stack's topics hold hundreds of thousands of records). Records written after the call,
        by a test running beside this one, are left out."""
        ends = {tp.partition: tp.offset for tp in self._ends()}
        left = {tp.partition for tp in self.start if tp.offset < ends[tp.partition]}
        kept: list[Message] = []
        deadline = time.monotonic() + timeout
        while left:
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f}s reading {self.topic} to its end; partitions "
                            f"{sorted(left)} not reached, {len(kept)} records read")
            msg = self.consumer.poll(0.2)
            if msg is None or msg.error() is not None:
                continue
            part, offset = msg.partition(), msg.offset()
            if offset < ends[part]:
                kept.append(msg)
            if offset + 1 >= ends[part]:
                left.discard(part)
        return kept

    def read_until(self, done: Callable[[list[Message]], bool], timeout: float) -> list[Message]:
        seen: list[Message] = []
        deadline = time.monotonic() + timeout
        while not done(seen):
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout:.0f}s reading {self.topic}; got {len(seen)} records")
            msg = self.consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                seen.append(msg)
        return seen

    def close(self) -> None:
        self.consumer.close()


def without_logical_types(schema: Any) -> Any:
    """An Avro schema with its logical types dropped: the writer side of a fuzz, so any value the
    wire allows (an out-of-range timestamp, say) can be written."""
    if isinstance(schema, dict):
        return {k: without_logical_types(v) for k, v in schema.items() if k != "logicalType"}
    if isinstance(schema, list):
        return [without_logical_types(s) for s in schema]
    return schema
