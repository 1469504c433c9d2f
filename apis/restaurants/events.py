"""Events restaurants publishes (schemas in schemas/restaurants.restaurant/)."""

from __future__ import annotations

from datetime import date

from chassis.events import Event


class _RestaurantState(Event):
    aggregate_type = "restaurants.restaurant"
    restaurant_id: str
    version: int
    name: str
    address: str
    daily_capacity: int
    active: bool


class RestaurantCreated(_RestaurantState):
    pass


class RestaurantChanged(_RestaurantState):
    pass


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


class DishAdded(_DishState):
    pass


class DishChanged(_DishState):
    pass


class DishRemoved(Event):
    aggregate_type = "restaurants.restaurant"
    dish_id: str
    restaurant_id: str
    version: int


# ---- the order saga: reservations, keyed by order id (schemas/restaurants.reservation/) ----

class _ReservationEvent(Event):
    aggregate_type = "restaurants.reservation"
    order_id: str
    user_id: str


class OrderReserved(_ReservationEvent):
    restaurant_id: str
    delivery_address: str
    phone: str
    dates: list[date]
    portions: int


class OrderReserveRejected(_ReservationEvent):
    reason: str


class ReservationReleased(_ReservationEvent):
    reason: str


class ReservationConfirmed(_ReservationEvent):
    pass


class DayPrepared(_ReservationEvent):
    restaurant_id: str
    date: date
