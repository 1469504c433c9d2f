"""Events orders publishes (schemas in schemas/orders.order/), keyed by order id."""

from __future__ import annotations

from datetime import date, datetime

from chassis.events import Event


class _OrderEvent(Event):
    aggregate_type = "orders.order"
    order_id: str
    user_id: str


class OrderCreated(_OrderEvent):
    restaurant_id: str
    delivery_address: str
    phone: str
    total: int
    expires_at: datetime
    days: list[dict]  # [{date, meals: [{meal, dishes: [{dish_id, quantity, calories, price, text}]}]}]


class OrderAwaitingPayment(_OrderEvent):
    total: int
    expires_at: datetime | None = None  # the payment deadline, which payments enforces


class OrderActivated(_OrderEvent):
    total: int


class OrderRejected(_OrderEvent):
    reason: str


class OrderCancelled(_OrderEvent):
    reason: str


class OrderExpired(_OrderEvent):
    pass


class OrderDayDelivered(_OrderEvent):
    date: date
    dishes: list[dict]  # [{dish_id, meal, text, calories, quantity}]


class OrderCompleted(_OrderEvent):
    pass
