"""recommendations' request and response bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MealIn(Strict):
    meal: str = Field(min_length=1, max_length=40)
    dish_ids: list[uuid.UUID] = Field(min_length=1, max_length=10)


class DayIn(Strict):
    date: date
    meals: list[MealIn] = Field(max_length=10)


class PlanIn(Strict):
    user_id: uuid.UUID
    restaurant_id: uuid.UUID
    week_start: date
    days: list[DayIn] = Field(min_length=1, max_length=14)
    comment: str | None = Field(default=None, max_length=2000)


class PlanEdit(Strict):
    days: list[DayIn] = Field(min_length=1, max_length=14)
    comment: str | None = Field(default=None, max_length=2000)


class DraftIn(Strict):
    user_id: uuid.UUID
    restaurant_id: uuid.UUID
    week_start: date
    meals: list[str] = Field(default=["breakfast", "lunch", "dinner"], min_length=1, max_length=6)
    goal: int | None = Field(default=None, ge=800, le=10000,
                             description="kcal per day; defaults to the user's own goal")
    comment: str | None = Field(default=None, max_length=2000)


class DishView(BaseModel):
    id: uuid.UUID
    text: str
    calories: int
    kind: str
    price: int


class MealView(BaseModel):
    meal: str
    dishes: list[DishView]


class DayView(BaseModel):
    date: date
    meals: list[MealView]
    calories: int
    goal: int | None
    difference: int | None
    warning: str | None


class PlanOut(BaseModel):
    id: uuid.UUID
    user_id: uuid.UUID
    manager_id: uuid.UUID
    restaurant_id: uuid.UUID
    week_start: date
    status: str
    comment: str | None
    version: int
    created_at: datetime
    published_at: datetime | None
    tolerance: int
    days: list[DayView]


class PlanPage(BaseModel):
    items: list[PlanOut]
    next_cursor: str | None
