"""orders' request and response bodies."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DishLine(Strict):
    dish_id: uuid.UUID
    quantity: int = Field(default=1, ge=1, le=20)


class MealIn(Strict):
    meal: str = Field(min_length=1, max_length=40)
    dishes: list[DishLine] = Field(min_length=1, max_length=20)


class DayIn(Strict):
    date: date
    meals: list[MealIn] = Field(min_length=1, max_length=6)


class OrderIn(Strict):
    restaurant_id: uuid.UUID | None = None
    days: list[DayIn] | None = Field(default=None, min_length=1, max_length=14)
    recommendation_id: uuid.UUID | None = None
    delivery_address: str | None = Field(default=None, min_length=1, max_length=500)
    phone: str | None = Field(default=None, min_length=3, max_length=40)

    @model_validator(mode="after")
    def days_or_a_recommendation(self) -> OrderIn:
        if self.recommendation_id is None and (self.restaurant_id is None or self.days is None):
            raise ValueError("send restaurant_id and days, or a recommendation_id")
        if self.recommendation_id is not None and (self.restaurant_id is not None or self.days is not None):
            raise ValueError("send either a recommendation_id or restaurant_id and days, not both")
        return self


class OrderCreatedOut(BaseModel):
    order_id: uuid.UUID
    total: int
    status: str


class HistoryEntry(BaseModel):
    status: str
    at: datetime
    event: str
    reason: str | None


class OrderOut(BaseModel):
    order_id: uuid.UUID
    user_id: uuid.UUID
    restaurant_id: uuid.UUID
    status: str
    reason: str | None
    total: int
    delivery_address: str
    phone: str
    days: list[dict]
    delivered_dates: list[str]
    expires_at: datetime
    created_at: datetime
    history: list[HistoryEntry]


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None
