"""auth's growing delay per client address after failed logins (issue 10: no lock-out of the account)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apis.auth.domain import LoginDelay


def test_the_delay_starts_after_the_free_failures_and_doubles_with_each_further_one() -> None:
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    delay = LoginDelay(window=timedelta(minutes=15), free=3, base=1.0, cap=60.0)
    at = [now - timedelta(seconds=1)] * 2
    assert delay.retry_after(at, now) is None  # fewer than `free`: no delay
    assert delay.retry_after([*at, now], now) == 1  # the third: base seconds after the last failure
    assert delay.retry_after([*at, now, now], now) == 2
    assert delay.retry_after([now] * 6, now) == 8
    assert delay.retry_after([now] * 20, now) == 60  # capped
    assert delay.retry_after([now] * 6, now + timedelta(seconds=8)) is None  # waited it out
    old = [now - timedelta(minutes=16)] * 10
    assert delay.retry_after(old, now) is None  # outside the window, failures are forgotten
