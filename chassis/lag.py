"""Consumer lag: how far a consumer group's committed offsets are behind the end of its topics."""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition


def committed_positions(bootstrap: str, group: str, partitions: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """Where `group` stands on each (topic, partition): its committed offset, or the partition's
    start when it never committed there (it would begin from there)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        committed = consumer.committed([TopicPartition(t, p) for t, p in partitions], timeout=10)
        return {(tp.topic, tp.partition): tp.offset if tp.offset >= 0 else
                consumer.get_watermark_offsets(tp, timeout=10)[0] for tp in committed}
    finally:
        consumer.close()


def consumer_lag(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """Lag per partition of `topic` for `group` (a partition never committed counts from its start)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        ends = {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in partitions}
    finally:
        consumer.close()
    positions = committed_positions(bootstrap, group, [(topic, p) for p in ends])
    return {p: max(end - positions[(topic, p)], 0) for p, end in ends.items()}
