"""records' rules, free of I/O: local dates, and the commutative algebra of daily totals."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

MAX_RANGE_DAYS = 366
MAX_ENTRY_CALORIES = 20_000
MAX_MEAL_LENGTH = 40


def local_date(eaten_at: datetime) -> date:
    """The eater's date: the calendar date in the offset the client sent (12:30+02:00 → that day)."""
    return eaten_at.date()


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


@dataclass(frozen=True)
class Contribution:
    """What one entry adds to one day's total, at one version of the entry."""

    user_id: str
    day: str  # ISO date
    meal: str
    calories: int
    version: int
    removed: bool = False

    def to_dict(self) -> dict:
        return self.__dict__.copy()

    @classmethod
    def from_dict(cls, d: dict) -> Contribution:
        return cls(**d)


@dataclass
class DayTotal:
    calories: int = 0
    by_meal: dict[str, int] = field(default_factory=dict)

    def add(self, c: Contribution, sign: int) -> None:
        self.calories += sign * c.calories
        self.by_meal[c.meal] = self.by_meal.get(c.meal, 0) + sign * c.calories
        if self.by_meal[c.meal] == 0:
            del self.by_meal[c.meal]

    def to_dict(self) -> dict:
        return {"calories": self.calories, "by_meal": dict(sorted(self.by_meal.items()))}

    @classmethod
    def from_dict(cls, d: dict | None) -> DayTotal:
        return cls(d["calories"], dict(d["by_meal"])) if d else cls()


def check_event_contribution(c: Contribution) -> Contribution:
    """`c` (its user id in the canonical spelling) if the API could have written it; ValueError
    otherwise. A forged or corrupt event that reads with the schema must still not reach the
    totals (a name as user id, calories no entry can have)."""
    c = replace(c, user_id=str(uuid.UUID(c.user_id)))
    if not 0 <= c.calories <= MAX_ENTRY_CALORIES:
        raise ValueError(f"calories {c.calories} outside 0..{MAX_ENTRY_CALORIES}")
    if not 0 < len(c.meal) <= MAX_MEAL_LENGTH:
        raise ValueError(f"meal of {len(c.meal)} characters")
    return c


def supersedes(current: Contribution | None, incoming: Contribution) -> bool:
    """Whether `incoming` is news. A duplicate or an older version changes nothing, so the totals
    are the same whatever the redeliveries and replays (the entry's version orders its events)."""
    return current is None or incoming.version > current.version


def moves(current: Contribution | None, incoming: Contribution) -> list[tuple[Contribution, int]]:
    """The (contribution, sign) pairs that take the totals from `current` to `incoming`:
    the old contribution leaves its day, the new one joins its own (which may be another day)."""
    out = []
    if current is not None and not current.removed:
        out.append((current, -1))
    if not incoming.removed:
        out.append((incoming, +1))
    return out
