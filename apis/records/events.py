"""Events records publishes (schemas in schemas/records.diary/). The aggregate is a user's diary."""

from __future__ import annotations

from datetime import date, datetime

from chassis.events import Event


class _EntryState(Event):
    aggregate_type = "records.diary"
    entry_id: str
    user_id: str
    version: int
    eaten_at: datetime
    eaten_on: date
    meal: str
    text: str
    calories: int
    grams: float | None = None
    protein: float | None = None
    fat: float | None = None
    carbs: float | None = None
    dish_id: str | None = None
    source: str


class DiaryEntryAdded(_EntryState):
    pass


class DiaryEntryChanged(_EntryState):
    pass


class DiaryEntryRemoved(Event):
    aggregate_type = "records.diary"
    entry_id: str
    user_id: str
    version: int
    eaten_on: date
    meal: str
