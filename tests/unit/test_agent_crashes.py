"""A crashing agent is counted and makes its processor unready for a while (chassis/streams.py)."""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from chassis.streams import AGENT_CRASHES, CRASH_UNREADY_SECONDS, Processor


def fake() -> Any:
    p = SimpleNamespace(name="records_totals", last_crash=None)
    p.guarded = Processor.guarded.__get__(p)
    p.crashed_recently = Processor.crashed_recently.__get__(p)
    return p


def test_a_crash_is_counted_remembered_and_reraised_for_the_supervisor() -> None:
    p = fake()

    async def boom(stream: Any) -> None:
        raise ValueError("bad totals")

    before = AGENT_CRASHES.labels("records_totals", "records_totals.boom")._value.get()
    with pytest.raises(ValueError):
        asyncio.run(p.guarded("records_totals.boom", boom)(None))
    assert AGENT_CRASHES.labels("records_totals", "records_totals.boom")._value.get() == before + 1
    assert p.crashed_recently() == "records_totals.boom: ValueError: bad totals"
    later = time.monotonic() + CRASH_UNREADY_SECONDS + 1
    assert p.crashed_recently(now=later) is None  # one crash heals by itself


def test_a_clean_end_or_a_cancellation_is_no_crash() -> None:
    p = fake()

    async def fine(stream: Any) -> None:
        return None

    async def cancelled(stream: Any) -> None:
        raise asyncio.CancelledError

    asyncio.run(p.guarded("records_totals.fine", fine)(None))
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(p.guarded("records_totals.cancelled", cancelled)(None))
    assert p.crashed_recently() is None
