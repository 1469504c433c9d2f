"""Dead letters: read them, and replay them after a fix.

    python -m chassis.dlq show <processor>     # what is in calories.dlq.<processor>, with reasons
    python -m chassis.dlq replay <processor>   # re-publish each to its source topic, once

A processor (chassis/streams.py) sends an event that can never apply to `<prefix>.dlq.<processor>`
with its original key, value and headers plus `error`, `source_topic`, `source_partition` and
`source_offset`. `replay` reads that topic with a consumer group of its own
(`<prefix>-dlq-replay-<processor>`), produces each record again to its `source_topic` with its
original key, value and headers (the dead-letter headers dropped), and commits the group's offsets
only after the broker acknowledged every re-published record. So a second `replay` re-publishes
only what was dead-lettered since; a crash mid-way re-publishes at most a few records twice, which
the consumers' inbox ignores (the `event_id` header is unchanged). A replayed event that still
cannot apply is dead-lettered again, with its new reason.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import cast

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition

from chassis.settings import StackSettings, stack_settings

DEAD_LETTER_HEADERS = ("error", "source_topic", "source_partition", "source_offset")


def dlq_topic(processor: str, settings: StackSettings) -> str:
    return f"{settings.topic_prefix}.dlq.{processor}"


def replay_group(processor: str, settings: StackSettings) -> str:
    return f"{settings.topic_prefix}-dlq-replay-{processor}"


@dataclass
class DeadLetter:
    message: Message

    def _pairs(self) -> list[tuple[str, bytes | None]]:
        # A consumed message's headers are (key, value) pairs; the stub's dict form is for producing.
        return cast(list[tuple[str, bytes | None]], self.message.headers() or [])

    @property
    def headers(self) -> dict[str, str]:
        return {k: (v or b"").decode(errors="replace") for k, v in self._pairs()}

    @property
    def source_topic(self) -> str | None:
        return self.headers.get("source_topic")

    @property
    def original_headers(self) -> list[tuple[str, str | bytes | None]]:
        return [(k, v) for k, v in self._pairs() if k not in DEAD_LETTER_HEADERS]


def _read_new(processor: str, settings: StackSettings, timeout: float = 10.0) -> tuple[Consumer, list[DeadLetter]]:
    """Everything in the dead-letter topic past the replay group's committed offsets, up to the end
    as it was when we started. The consumer is returned for the caller to commit and close."""
    topic = dlq_topic(processor, settings)
    consumer = Consumer({"bootstrap.servers": settings.kafka_bootstrap, "group.id": replay_group(processor, settings),
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    meta = consumer.list_topics(topic, timeout=timeout).topics.get(topic)
    if meta is None or meta.error is not None or not meta.partitions:
        return consumer, []  # nothing was ever dead-lettered
    partitions = [TopicPartition(topic, p) for p in sorted(meta.partitions)]
    committed = {tp.partition: tp.offset for tp in consumer.committed(partitions, timeout=timeout)}
    assignment, ends = [], {}
    for tp in partitions:
        low, high = consumer.get_watermark_offsets(tp, timeout=timeout)
        start = committed[tp.partition] if committed[tp.partition] >= 0 else low
        start = max(start, low)
        if start < high:
            assignment.append(TopicPartition(topic, tp.partition, start))
            ends[tp.partition] = high
    letters: list[DeadLetter] = []
    if not assignment:
        return consumer, letters
    consumer.assign(assignment)
    position = {tp.partition: tp.offset for tp in assignment}
    while any(position[p] < ends[p] for p in ends):
        msg = consumer.poll(timeout)
        if msg is None:
            raise TimeoutError(f"{topic}: no record within {timeout}s though the offsets say there are more")
        if msg.error() is not None:
            raise KafkaException(msg.error())
        partition, offset = msg.partition(), msg.offset()
        assert partition is not None and offset is not None
        position[partition] = offset + 1
        if offset < ends[partition]:
            letters.append(DeadLetter(msg))
    return consumer, letters


def replay(processor: str, settings: StackSettings | None = None) -> int:
    """Re-publish the new dead letters of `processor` to their source topics; the number replayed."""
    settings = settings or stack_settings()
    consumer, letters = _read_new(processor, settings)
    try:
        if not letters:
            return 0
        producer = Producer({"bootstrap.servers": settings.kafka_bootstrap, "enable.idempotence": True})
        failures: list[str] = []

        def delivered(err: object, _msg: Message) -> None:
            if err is not None:
                failures.append(str(err))

        for letter in letters:
            source = letter.source_topic
            if not source:
                raise ValueError(f"dead letter at offset {letter.message.offset()} has no source_topic header")
            producer.produce(source, key=letter.message.key(), value=letter.message.value(),
                             headers=letter.original_headers, on_delivery=delivered)
        if producer.flush(30) != 0 or failures:
            raise RuntimeError(f"re-publishing failed; offsets not committed: {failures or 'flush timed out'}")
        ends: dict[int, int] = {}
        for letter in letters:
            p, o = letter.message.partition(), letter.message.offset()
            assert p is not None and o is not None
            ends[p] = max(ends.get(p, -1), o + 1)
        topic = dlq_topic(processor, settings)
        consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in ends.items()], asynchronous=False)
        return len(letters)
    finally:
        consumer.close()


def show(processor: str, settings: StackSettings | None = None) -> list[DeadLetter]:
    """The dead letters not replayed yet (reads without committing)."""
    settings = settings or stack_settings()
    consumer, letters = _read_new(processor, settings)
    consumer.close()
    return letters


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m chassis.dlq", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["show", "replay"])
    parser.add_argument("processor", help="the processor's name, e.g. users_profiles")
    args = parser.parse_args(argv)
    if args.command == "show":
        for letter in show(args.processor):
            h = letter.headers
            print(f"{h.get('source_topic')}[{h.get('source_partition')}]@{h.get('source_offset')} "
                  f"{h.get('event_type')} {h.get('event_id')}: {h.get('error')}")
        return 0
    count = replay(args.processor)
    print(f"[dlq] {args.processor}: replayed {count} dead letter(s) to their source topics")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
