"""records' request and response bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from apis.records import domain


class EntryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    eaten_at: AwareDatetime = Field(description="with its UTC offset: the entry's date is the local date there")
    meal: str = Field(min_length=1, max_length=domain.MAX_MEAL_LENGTH,
                      examples=["breakfast", "lunch", "dinner", "snack"])
    text: str = Field(min_length=1, max_length=500)
    calories: int = Field(ge=0, le=domain.MAX_ENTRY_CALORIES)
    grams: float | None = Field(default=None, ge=0, le=10000)
    protein: float | None = Field(default=None, ge=0, le=2000)
    fat: float | None = Field(default=None, ge=0, le=2000)
    carbs: float | None = Field(default=None, ge=0, le=2000)
    dish_id: str | None = Field(default=None, max_length=100)


class EntryOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    eaten_at: datetime
    date: date
    meal: str
    text: str
    calories: int
    grams: float | None
    protein: float | None
    fat: float | None
    carbs: float | None
    dish_id: str | None
    source: str
    version: int


class EntryPage(BaseModel):
    items: list[EntryOut]
    next_cursor: str | None


class DayOut(BaseModel):
    date: date
    calories: int
    by_meal: dict[str, int]
    goal: int | None
    remaining: int | None


class DailyOut(BaseModel):
    days: list[DayOut]


class FrequentFood(BaseModel):
    text: str
    dish_id: str | None
    times: int
    average_calories: float


class HabitsOut(BaseModel):
    user_id: uuid.UUID
    from_: date = Field(alias="from")
    to: date
    entries: int
    days_with_entries: int
    average_calories_per_day: float
    average_calories_per_meal: dict[str, float]
    most_frequent: list[FrequentFood]

    model_config = ConfigDict(populate_by_name=True)
