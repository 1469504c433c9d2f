"""For every tier: the processes the tests build settings in (and the workers they start, which
inherit the environment) run in the development environment unless told otherwise; outside the
tests an unset CALORIES_ENVIRONMENT refuses to start (chassis/settings.py)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("CALORIES_ENVIRONMENT", "development")


def pytest_collection_modifyitems(items: list) -> None:
    """A disruptive test names where it runs (tests/support.py, LANES): alone, or in one of the
    lanes `make test` runs side by side. Unnamed, it would run in no lane, or beside anything:
    refuse that at collection, not as a flake later."""
    from tests.support import LANES

    for item in items:
        if not item.get_closest_marker("disruptive"):
            continue
        places = {m for m in ("alone", *LANES.values()) if item.get_closest_marker(m)}
        if len(places) != 1:
            raise pytest.UsageError(f"{item.nodeid} is disruptive: mark it `alone` or put it in one lane "
                                    f"({', '.join(LANES.values())}, tests/support.py); it has {sorted(places)}")
