"""Events orders publishes (schemas in schemas/orders.order/), keyed by order id."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime

from chassis.events import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class _OrderEvent(Event):
    aggregate_type = "orders.order"
    order_id: str
    user_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderCreated(_OrderEvent):
    restaurant_id: str
    delivery_address: str
    phone: str
    total: int
    expires_at: datetime
    days: list[dict]  # [{date, meals: [{meal, dishes: [{dish_id, quantity, calories, price, text}]}]}]


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderAwaitingPayment(_OrderEvent):
    total: int
    expires_at: datetime | None = None  # the payment deadline, which payments enforces


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderActivated(_OrderEvent):
    total: int


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderRejected(_OrderEvent):
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderCancelled(_OrderEvent):
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderExpired(_OrderEvent):
    pass


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderDayDelivered(_OrderEvent):
    date: date
    dishes: list[dict]  # [{dish_id, meal, text, calories, quantity}]


@dataclasses.dataclass(frozen=True, kw_only=True)
class OrderCompleted(_OrderEvent):
    pass
