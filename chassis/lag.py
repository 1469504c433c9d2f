"""Consumer lag: how far a consumer group's committed offsets are behind the end of its topics."""

from __future__ import annotations

from confluent_kafka import Consumer, TopicPartition


def consumer_lag(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    """Lag per partition of `topic` for `group` (a partition never committed counts from 0)."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        committed = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        lag = {}
        for tp in committed:
            low, high = consumer.get_watermark_offsets(tp, timeout=10)
            position = tp.offset if tp.offset >= 0 else low
            lag[tp.partition] = max(high - position, 0)
        return lag
    finally:
        consumer.close()
