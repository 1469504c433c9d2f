"""For every tier: the processes the tests build settings in (and the workers they start, which
inherit the environment) run in the development environment unless told otherwise; outside the
tests an unset CALORIES_ENVIRONMENT refuses to start (chassis/settings.py)."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("CALORIES_ENVIRONMENT", "development")


def pytest_collection_modifyitems(items: list) -> None:
    """A disruptive test names where it runs (tests/support.py, LANES): alone, or in one of the
    lanes `make test` runs side by side. Unnamed, xdist would run it beside anything, a kill in
    the middle of another test's flow: refuse that at collection, not as a flake later."""
    from tests.support import LANES

    for item in items:
        if not item.get_closest_marker("disruptive"):
            continue
        groups = {m.kwargs.get("name", m.args[0] if m.args else None) for m in item.iter_markers("xdist_group")}
        places = groups | ({"alone"} if item.get_closest_marker("alone") else set())
        if len(places) != 1 or not places <= {*LANES, "alone"}:
            raise pytest.UsageError(f"{item.nodeid} is disruptive: mark it `alone` or put it in one lane of "
                                    f"{sorted(LANES)} (tests/support.py); it has {sorted(map(str, places))}")
