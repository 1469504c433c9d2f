"""The order and its state machine, free of I/O (SPEC §5)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from apis.delivery.events import DeliveryRejected, DeliveryReserved
from apis.orders.events import OrderCancelled, OrderCompleted, OrderExpired
from apis.payments.events import OrderPaid, OrderPaymentFailed
from apis.restaurants.events import OrderReserveRejected
from chassis.events import Event


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    AWAITING_PAYMENT = "AWAITING_PAYMENT"
    ACTIVE = "ACTIVE"
    COMPLETED = "COMPLETED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"


PENDING, AWAITING_PAYMENT, ACTIVE = OrderStatus.PENDING, OrderStatus.AWAITING_PAYMENT, OrderStatus.ACTIVE
COMPLETED, REJECTED = OrderStatus.COMPLETED, OrderStatus.REJECTED
CANCELLED, EXPIRED = OrderStatus.CANCELLED, OrderStatus.EXPIRED
TERMINAL = frozenset({COMPLETED, REJECTED, CANCELLED, EXPIRED})
# The semantic lock: an order in these states holds reservations that others must respect.
OPEN = frozenset({PENDING, AWAITING_PAYMENT})

# The state machine: (status now, the event that moves it) → the next status. The participants'
# events drive the saga; orders' own OrderCancelled / OrderExpired / OrderCompleted stand for the
# user's cancel, the deadline and the last delivered day. Any pair not here is not applied (a late
# or repeated event, or a race lost to a cancellation): service.transition checks it under a lock.
TRANSITIONS: dict[tuple[OrderStatus, type[Event]], OrderStatus] = {
    (PENDING, OrderReserveRejected): REJECTED,
    (PENDING, DeliveryRejected): REJECTED,
    (PENDING, DeliveryReserved): AWAITING_PAYMENT,
    (AWAITING_PAYMENT, OrderPaymentFailed): REJECTED,
    (AWAITING_PAYMENT, OrderPaid): ACTIVE,
    (PENDING, OrderCancelled): CANCELLED,
    (AWAITING_PAYMENT, OrderCancelled): CANCELLED,
    (PENDING, OrderExpired): EXPIRED,
    (AWAITING_PAYMENT, OrderExpired): EXPIRED,
    (ACTIVE, OrderCompleted): COMPLETED,
}


def next_status(current: str, cause: type[Event]) -> OrderStatus | None:
    return TRANSITIONS.get((OrderStatus(current), cause))


@dataclass(frozen=True)
class MenuItem:
    dish_id: str
    restaurant_id: str
    text: str
    calories: int
    price: int
    available: bool


def merge_repeated(dishes: list[dict]) -> list[dict]:
    """One line per dish in a meal, quantities summed, in the order each dish first appears: a dish
    listed twice would otherwise be charged and reserved twice but entered in the diary once."""
    merged: dict[str, dict] = {}
    for item in dishes:
        key = str(item["dish_id"])
        if key in merged:
            merged[key]["quantity"] += item["quantity"]
        else:
            merged[key] = {**item, "quantity": item["quantity"]}
    return list(merged.values())


def price_days(days: list[dict], menu: dict[str, MenuItem], restaurant_id: str) -> tuple[list[dict], int, list[str]]:
    """Priced lines from orders' own menu copy, the total, and every problem naming day, meal and dish."""
    problems: list[str] = []
    priced, total = [], 0
    for day in days:
        meals = []
        names = [m["meal"] for m in day["meals"]]
        for meal in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"{day['date']}: the meal {meal!r} appears twice")
        for meal in day["meals"]:
            lines = []
            for item in merge_repeated(meal["dishes"]):
                where = f"{day['date']} {meal['meal']}: dish {item['dish_id']}"
                dish = menu.get(str(item["dish_id"]))
                if dish is None:
                    problems.append(f"{where} is not on any menu we know")
                    continue
                if dish.restaurant_id != restaurant_id:
                    problems.append(f"{where} ({dish.text}) belongs to another restaurant")
                    continue
                if not dish.available:
                    problems.append(f"{where} ({dish.text}) is not available")
                    continue
                total += dish.price * item["quantity"]
                lines.append({"dish_id": dish.dish_id, "quantity": item["quantity"], "calories": dish.calories,
                              "price": dish.price, "text": dish.text})
            meals.append({"meal": meal["meal"], "dishes": lines})
        priced.append({"date": day["date"], "meals": meals})
    dates = [d["date"] for d in days]
    for repeated in sorted({d for d in dates if dates.count(d) > 1}):
        problems.append(f"{repeated}: the day appears twice")
    return priced, total, problems


def canonical_hash(user_id: str, body: dict[str, Any]) -> str:
    """The natural key: the same user sending the same order (whatever the key order or spacing)."""
    canonical = json.dumps({"user": user_id, "body": body}, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()



def portions(days: list[dict]) -> int:
    """Portions an order holds: every dish's quantity, over every meal and day."""
    return sum(x["quantity"] for d in days for m in d["meals"] for x in m["dishes"])
