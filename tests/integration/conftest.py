"""Fixtures on the real stack: `make test` starts it (stack/stack.py up) before pytest runs."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chassis.settings import stack_settings
from tests.integration import probe
from tests.support import TopicReader, poll_until

ROOT = Path(__file__).resolve().parents[2]
STACK = [sys.executable, str(ROOT / "stack" / "stack.py")]

pytestmark = pytest.mark.integration


# What this tier needs: the event stack. A service or the monitoring restarting meanwhile (the stack
# is shared) is no reason to fail these tests.
ENGINES = ("postgres", "kafka", "registry", "connect")


@pytest.fixture(scope="session")
def stack() -> None:
    status = subprocess.run([*STACK, "status"], capture_output=True, text=True)
    down = [line for line in status.stdout.splitlines() if line.split()[:2] in ([e, "DOWN"] for e in ENGINES)]
    if status.returncode != 0 and (down or not status.stdout.strip()):
        pytest.fail(f"the local event stack is not up; run `make up` (status:\n{status.stdout}{status.stderr})")


@pytest.fixture(scope="session")
def probe_stack(stack: None) -> None:
    """The stacktest database with outbox, inbox and probe tables, its schemas and its connector."""
    probe.prepare()


@pytest.fixture
def probe_reader(probe_stack: None) -> Iterator[TopicReader]:
    reader = TopicReader(stack_settings().topic(probe.ProbeHappened.aggregate_type))
    yield reader
    reader.close()


@contextlib.contextmanager
def probe_worker_process() -> Iterator[subprocess.Popen]:
    """The probe Faust app as a real worker process, ready (it has its partitions), until the end
    of the block. A fresh process: its schema cache is empty."""
    path = ROOT / ".stack" / "logs" / "probe-worker.log"
    log = open(path, "ab")  # noqa: SIM115
    proc = subprocess.Popen([sys.executable, "-m", "faust", "-A", "tests.integration.probe", "worker",
                             "-l", "info"], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})

    def ready() -> bool:
        if proc.poll() is not None:
            pytest.fail(f"the probe worker exited with {proc.returncode}; see {path}")
        try:
            return httpx.get(f"http://127.0.0.1:{probe.PORT}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        poll_until(ready, 60, "the probe worker to be ready")
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture
def probe_worker(probe_stack: None) -> Iterator[subprocess.Popen]:
    """The probe Faust app as a real worker process."""
    with probe_worker_process() as proc:
        yield proc
