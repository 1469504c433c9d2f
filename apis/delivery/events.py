"""Events delivery publishes (schemas in schemas/delivery.booking/), keyed by order id."""

from __future__ import annotations

import dataclasses
from datetime import date

from chassis.events import Event


@dataclasses.dataclass(frozen=True, kw_only=True)
class _BookingEvent(Event):
    aggregate_type = "delivery.booking"
    order_id: str
    user_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeliveryReserved(_BookingEvent):
    dates: list[date]


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeliveryRejected(_BookingEvent):
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeliveryReleased(_BookingEvent):
    reason: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class DeliveryConfirmed(_BookingEvent):
    pass


@dataclasses.dataclass(frozen=True, kw_only=True)
class DayPickedUp(_BookingEvent):
    date: date
    courier_id: str


@dataclasses.dataclass(frozen=True, kw_only=True)
class DayDelivered(_BookingEvent):
    date: date
    courier_id: str
