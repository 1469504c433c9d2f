"""notifications' rules, free of I/O: which events tell whom what.

`NOTIFIED` is the whole policy: one line per event type that someone is told about. Adding a kind
of notification is adding a line there (the notifier subscribes to every topic the table names).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Template:
    """How one event type becomes a notification. `title` and `body` are `str.format` templates over
    the event's fields plus the conveniences of `_fields` ({order}, {amount_money}, {note}, …)."""

    aggregate_type: str  # the event's topic is calories.<aggregate_type>
    kind: str
    title: str
    body: str
    recipient: str = "user_id"  # the event field naming who is told


@dataclass(frozen=True)
class Notice:
    user_id: uuid.UUID
    kind: str
    title: str
    body: str
    data: dict[str, Any]


class NotNotifiable(ValueError):
    """The event lacks what its template needs (no recipient, a missing field): it can never notify."""


NOTIFIED: dict[str, Template] = {
    "UserRegistered": Template("auth.account", "welcome", "Welcome to Calories, {name}!",
                               "Log what you eat in your diary; a nutrition manager can plan your weeks."),
    "RecommendationPublished": Template("recommendations.plan", "recommendation_published",
                                        "Your meal plan for the week of {week_start} is ready",
                                        "Your nutrition manager published a plan for {days_count} days.{note}"),
    "OrderCreated": Template("orders.order", "order_created", "Order {order} received",
                             "{days_count} days, {total_money} in total: we are checking the kitchen and a courier."),
    "OrderAwaitingPayment": Template("orders.order", "order_awaiting_payment", "Order {order} is ready to pay",
                                     "Pay {total_money} to confirm it before it expires."),
    "OrderActivated": Template("orders.order", "order_activated", "Order {order} is confirmed",
                               "Paid {total_money}; the kitchen and the courier are booked."),
    "OrderRejected": Template("orders.order", "order_rejected", "Order {order} was rejected",
                              "Reason: {reason}. Nothing was charged for it."),
    "OrderCancelled": Template("orders.order", "order_cancelled", "Order {order} was cancelled", "Reason: {reason}."),
    "OrderExpired": Template("orders.order", "order_expired", "Order {order} expired",
                             "It was not paid in time, so nothing is booked or charged."),
    "OrderDayDelivered": Template("orders.order", "order_day_delivered", "Order {order}: {date} is done",
                                  "The meals of {date} are in your food diary."),
    "OrderCompleted": Template("orders.order", "order_completed", "Order {order} is complete",
                               "Every day of it was delivered. Enjoy!"),
    "OrderPaid": Template("payments.payment", "payment_succeeded", "Payment of {amount_money} received",
                          "Order {order} is paid."),
    "OrderPaymentFailed": Template("payments.payment", "payment_failed", "Payment for order {order} failed",
                                   "Reason: {reason}."),
    "PaymentRefunded": Template("payments.payment", "payment_refunded", "{amount_money} refunded",
                                "Refund for order {order}. Reason: {reason}."),
    "DayPickedUp": Template("delivery.booking", "delivery_picked_up", "Your meals for {date} are on the way",
                            "A courier picked up order {order}'s meals for {date}."),
    "DayDelivered": Template("delivery.booking", "delivery_delivered", "Your meals for {date} were delivered",
                             "Order {order}: the courier delivered {date}'s meals."),
}

# Events nobody is told about, each on purpose (a unit test makes every schema pick a side):
# internal saga steps, whose outcome the user learns from the order's own status events
# (OrderRejected carries the reason of a refused reservation or delivery); the user's own edits,
# already answered by the HTTP response (diary, profile, wallet deposit); and menu changes.
NOT_NOTIFIED: frozenset[str] = frozenset({
    "OrderReserved", "OrderReserveRejected", "ReservationReleased", "ReservationConfirmed", "DayPrepared",
    "DeliveryReserved", "DeliveryRejected", "DeliveryReleased", "DeliveryConfirmed",
    "WalletDeposited",
    "DiaryEntryAdded", "DiaryEntryChanged", "DiaryEntryRemoved",
    "UserProfileChanged",
    "DishAdded", "DishChanged", "DishRemoved", "RestaurantCreated", "RestaurantChanged",
})

# Fields copied into a notification's `data`, so a client can link to what it is about.
DATA_FIELDS = ("order_id", "plan_id", "restaurant_id", "week_start", "date", "amount", "total", "reason")


def notified_aggregate_types() -> list[str]:
    """The aggregate types (topics) the notifier reads."""
    return sorted({t.aggregate_type for t in NOTIFIED.values()})


def money(minor_units: int) -> str:
    """Integer minor units (SPEC §9) as a decimal amount: 1250 → "12.50"."""
    sign = "-" if minor_units < 0 else ""
    units, cents = divmod(abs(minor_units), 100)
    return f"{sign}{units}.{cents:02d}"


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def _fields(value: dict[str, Any]) -> dict[str, Any]:
    """The event's fields, dates as ISO strings, and derived ones templates read better with."""
    fields = {k: _plain(v) for k, v in value.items()}
    if value.get("order_id"):
        fields["order"] = str(value["order_id"])[:8]  # enough to tell one's orders apart
    for name in ("amount", "total"):
        if isinstance(value.get(name), int):
            fields[f"{name}_money"] = money(value[name])
    if isinstance(value.get("days"), list):
        fields["days_count"] = len(value["days"])
    fields["note"] = f' Their note: "{value["comment"]}"' if value.get("comment") else ""
    return fields


def notice_for(event_type: str, value: dict[str, Any]) -> Notice | None:
    """The notification an event gives its recipient, or None when the event notifies nobody."""
    template = NOTIFIED.get(event_type)
    if template is None:
        return None
    try:
        recipient = uuid.UUID(str(value[template.recipient]))
    except (KeyError, ValueError) as exc:
        raise NotNotifiable(f"{event_type}: no valid recipient in field {template.recipient!r}") from exc
    fields = _fields(value)
    try:
        title, body = template.title.format_map(fields), template.body.format_map(fields)
    except KeyError as exc:
        raise NotNotifiable(f"{event_type}: the template needs field {exc.args[0]!r}") from exc
    data = {k: fields[k] for k in DATA_FIELDS if fields.get(k) is not None}
    return Notice(recipient, template.kind, title, body, data)


class LiveWindow:
    """Which notifications a live stream still has to send, by insert sequence.

    A sequence number is taken at insert but becomes visible at commit, so a smaller one can show up
    after a larger one was sent. The window therefore remembers what it sent and moves its floor past a
    sequence only once it has been sent for `settle` seconds (far longer than a notifier transaction).
    """

    def __init__(self, floor: int, settle: float = 10.0) -> None:
        self.floor = floor
        self.settle = settle
        self._sent: dict[int, float] = {}  # seq -> when it was sent

    def take(self, seqs: list[int], now: float) -> list[int]:
        """The sequences among `seqs` (those above the floor, as queried) not sent yet; they count as sent."""
        fresh = [s for s in seqs if s > self.floor and s not in self._sent]
        self._sent.update((s, now) for s in fresh)
        settled = [s for s, at in self._sent.items() if now - at >= self.settle]
        if settled:  # anything below a settled sequence has committed and been seen by now
            self.floor = max(self.floor, *settled)
            self._sent = {s: at for s, at in self._sent.items() if s > self.floor}
        return fresh
