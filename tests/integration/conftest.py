"""Fixtures on the real stack: `make test` starts it (stack/stack.py up) before pytest runs."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Message, TopicPartition

from chassis.settings import stack_settings
from tests.integration import probe

ROOT = Path(__file__).resolve().parents[2]
STACK = [sys.executable, str(ROOT / "stack" / "stack.py")]

pytestmark = pytest.mark.integration


def poll_until(check: Callable[[], object], timeout: float, what: str, interval: float = 0.2) -> object:
    """Poll `check` until it returns something truthy; fail with `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {result!r})")
        time.sleep(interval)


@pytest.fixture(scope="session")
def stack() -> None:
    status = subprocess.run([*STACK, "status"], capture_output=True, text=True)
    if status.returncode != 0:
        pytest.fail(f"the local stack is not up; run `make up` (status:\n{status.stdout})")


@pytest.fixture(scope="session")
def probe_stack(stack: None) -> None:
    """The stacktest database with outbox, inbox and probe tables, its schemas and its connector."""
    probe.prepare()


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


@pytest.fixture
def probe_reader(probe_stack: None) -> Iterator[TopicReader]:
    reader = TopicReader(stack_settings().topic(probe.ProbeHappened.aggregate_type))
    yield reader
    reader.close()


@pytest.fixture
def probe_worker(probe_stack: None) -> Iterator[subprocess.Popen]:
    """The probe Faust app as a real worker process."""
    log = open(ROOT / ".stack" / "logs" / "probe-worker.log", "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "faust", "-A", "tests.integration.probe", "worker",
                             "-l", "info"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
