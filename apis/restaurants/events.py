"""Events restaurants publishes (schemas in schemas/restaurants.restaurant/)."""

from __future__ import annotations

import dataclasses
from datetime import date

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


# ---- the order saga: reservations, keyed by order id (schemas/restaurants.reservation/) ----

@dataclasses.dataclass(frozen=True, kw_only=True)
class _ReservationEvent(Event):
    aggregate_type = "restaurants.reservation"
    order_id: str
    user_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderReserved(_ReservationEvent):
    restaurant_id: str
    delivery_address: str
    phone: str
    dates: list[date]
    portions: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderReserveRejected(_ReservationEvent):
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReservationReleased(_ReservationEvent):
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class ReservationConfirmed(_ReservationEvent):
    pass


@dataclasses.dataclass(frozen=True, kw_only=True)
class DayPrepared(_ReservationEvent):
    restaurant_id: str
    date: date
