"""The daily-totals algebra: the same totals whatever the duplicates, replays and redeliveries."""

from __future__ import annotations

import random
import uuid

import pytest

from apis.records.domain import MAX_ENTRY_CALORIES, Contribution, DayTotal, check_event_contribution, moves, supersedes


def fold_all(events: list[tuple[str, Contribution]]) -> dict[str, dict]:
    """What the processor does, on plain dicts instead of Faust tables."""
    contributions: dict[str, Contribution] = {}
    totals: dict[str, DayTotal] = {}
    for entry_id, incoming in events:
        current = contributions.get(entry_id)
        if not supersedes(current, incoming):
            continue
        for c, sign in moves(current, incoming):
            totals.setdefault(f"{c.user_id}/{c.day}", DayTotal()).add(c, sign)
        contributions[entry_id] = incoming
    return {k: v.to_dict() for k, v in totals.items()}


def history() -> list[tuple[str, Contribution]]:
    u = "u1"
    return [
        ("a", Contribution(u, "2026-11-24", "lunch", 600, 1)),
        ("b", Contribution(u, "2026-11-24", "dinner", 700, 1)),
        ("a", Contribution(u, "2026-11-24", "lunch", 650, 2)),            # changed
        ("c", Contribution(u, "2026-11-25", "snack", 150, 1)),
        ("c", Contribution(u, "2026-11-24", "dinner", 150, 2)),           # moved to another day and meal
        ("b", Contribution(u, "2026-11-24", "dinner", 0, 2, removed=True)),
    ]


EXPECTED = {"u1/2026-11-24": {"calories": 800, "by_meal": {"dinner": 150, "lunch": 650}},
            "u1/2026-11-25": {"calories": 0, "by_meal": {}}}


def test_changes_moves_and_removals_add_up() -> None:
    assert fold_all(history()) == EXPECTED


def test_every_event_twice_or_the_whole_history_replayed_changes_nothing() -> None:
    twice = [e for e in history() for _ in range(2)]
    assert fold_all(twice) == EXPECTED
    assert fold_all(history() + history()) == EXPECTED


def test_redeliveries_of_any_earlier_range_change_nothing() -> None:
    rng = random.Random(7)
    events = history()
    for _ in range(200):
        # Connect re-sends a contiguous range after a crash; Faust re-reads from the last commit.
        i = rng.randrange(len(events))
        j = rng.randrange(i, len(events))
        noisy = events[: j + 1] + events[i: j + 1] + events[j + 1:]
        assert fold_all(noisy) == EXPECTED


def test_an_older_version_arriving_late_cannot_revive_a_removed_entry() -> None:
    events = history()
    late = [*events, ("b", Contribution("u1", "2026-11-24", "dinner", 700, 1))]
    assert fold_all(late) == EXPECTED


def test_an_event_the_api_could_not_have_written_is_refused() -> None:
    good = Contribution(str(uuid.uuid4()), "2026-11-24", "lunch", 600, 1)
    assert check_event_contribution(good) == good
    shouting = Contribution(good.user_id.upper(), "2026-11-24", "lunch", 600, 1)
    assert check_event_contribution(shouting) == good  # one user, one key
    for bad in (Contribution("not-a-uuid/x", "2026-11-24", "lunch", 600, 1),
                Contribution(good.user_id, "2026-11-24", "lunch", MAX_ENTRY_CALORIES + 1, 1),
                Contribution(good.user_id, "2026-11-24", "lunch", -1, 1),
                Contribution(good.user_id, "2026-11-24", "", 10, 1)):
        with pytest.raises(ValueError):
            check_event_contribution(bad)
