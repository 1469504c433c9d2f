"""Helpers shared by integration and end-to-end tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from confluent_kafka import Consumer, Message, TopicPartition

from chassis.settings import stack_settings

T = TypeVar("T")


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


class TopicReader:
    """Reads one topic from the offsets it had when the reader was made."""

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.consumer = Consumer({"bootstrap.servers": stack_settings().kafka_bootstrap,
                                  "group.id": f"test-{uuid.uuid4()}", "enable.auto.commit": False})
        partitions = self.consumer.list_topics(topic, timeout=10).topics[topic].partitions
        assignment = []
        for p in partitions:
            _, high = self.consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            assignment.append(TopicPartition(topic, p, high))
        self.consumer.assign(assignment)

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
