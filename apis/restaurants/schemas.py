"""restaurants' request and response bodies."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RestaurantIn(Strict):
    name: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=500)
    daily_capacity: int = Field(ge=0, le=100000, description="portions per day")
    active: bool = True


class RestaurantPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, min_length=1, max_length=500)
    daily_capacity: int | None = Field(default=None, ge=0, le=100000)
    active: bool | None = None


class RestaurantOut(BaseModel):
    id: uuid.UUID
    name: str
    address: str
    daily_capacity: int
    active: bool
    version: int


class RestaurantPage(BaseModel):
    items: list[RestaurantOut]
    next_cursor: str | None


class DishIn(Strict):
    text: str = Field(min_length=1, max_length=300)
    calories: int = Field(ge=0, le=5000)
    kind: str = Field(min_length=1, max_length=40, examples=["soup", "main", "salad", "dessert", "drink"])
    comment: str | None = Field(default=None, max_length=1000)
    price: int = Field(ge=0, le=10_000_000, description="minor units, e.g. cents")
    available: bool = True


class DishOut(BaseModel):
    id: uuid.UUID
    restaurant_id: uuid.UUID
    text: str
    calories: int
    kind: str
    comment: str | None
    price: int
    available: bool
    version: int


class MenuSection(BaseModel):
    kind: str
    dishes: list[DishOut]


class MenuOut(BaseModel):
    restaurant: RestaurantOut
    sections: list[MenuSection]


class PreparedIn(Strict):
    """The day of the order whose meals are ready."""

    date: date
