"""The order and its state machine, free of I/O (SPEC §5)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from typing import Any

PENDING, AWAITING_PAYMENT, ACTIVE, COMPLETED = "PENDING", "AWAITING_PAYMENT", "ACTIVE", "COMPLETED"
REJECTED, CANCELLED, EXPIRED = "REJECTED", "CANCELLED", "EXPIRED"
TERMINAL = frozenset({COMPLETED, REJECTED, CANCELLED, EXPIRED})
# The semantic lock: an order in these states holds reservations that others must respect.
OPEN = frozenset({PENDING, AWAITING_PAYMENT})

# Which status each saga step may move the order from. A step from any other status is not
# applied (a late or repeated event, or a race lost to a cancellation): the rereads in
# service.transition check this under a row lock.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "DeliveryReserved": (frozenset({PENDING}), AWAITING_PAYMENT),
    "OrderReserveRejected": (frozenset({PENDING}), REJECTED),
    "DeliveryRejected": (frozenset({PENDING}), REJECTED),
    "OrderPaymentFailed": (frozenset({AWAITING_PAYMENT}), REJECTED),
    "OrderPaid": (frozenset({AWAITING_PAYMENT}), ACTIVE),
    "cancel": (OPEN, CANCELLED),
    "expire": (OPEN, EXPIRED),
    "all delivered": (frozenset({ACTIVE}), COMPLETED),
}


def next_status(step: str, current: str) -> str | None:
    allowed_from, to = TRANSITIONS[step]
    return to if current in allowed_from else None


@dataclass(frozen=True)
class MenuItem:
    dish_id: str
    restaurant_id: str
    text: str
    calories: int
    price: int
    available: bool


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
            for item in meal["dishes"]:
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


def order_dates(days: list[dict]) -> list[date]:
    return sorted(date.fromisoformat(d["date"]) if isinstance(d["date"], str) else d["date"] for d in days)
