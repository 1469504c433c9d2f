"""Events restaurants publishes (schemas in schemas/restaurants.restaurant/)."""

from __future__ import annotations

import dataclasses

from chassis.events import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class _RestaurantState(Event):
    aggregate_type = "restaurants.restaurant"
    restaurant_id: str
    version: int
    name: str
    address: str
    daily_capacity: int
    active: bool


@dataclasses.dataclass(frozen=True, kw_only=True)
class RestaurantCreated(_RestaurantState):
    pass


@dataclasses.dataclass(frozen=True, kw_only=True)
class RestaurantChanged(_RestaurantState):
    pass


@dataclasses.dataclass(frozen=True, kw_only=True)
class _DishState(Event):
    aggregate_type = "restaurants.restaurant"
    dish_id: str
    restaurant_id: str
    version: int
    text: str
    calories: int
    kind: str
    comment: str | None = None
    price: int
    available: bool


@dataclasses.dataclass(frozen=True, kw_only=True)
class DishAdded(_DishState):
    pass


@dataclasses.dataclass(frozen=True, kw_only=True)
class DishChanged(_DishState):
    pass


@dataclasses.dataclass(frozen=True, kw_only=True)
class DishRemoved(Event):
    aggregate_type = "restaurants.restaurant"
    dish_id: str
    restaurant_id: str
    version: int
