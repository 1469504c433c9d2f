"""Events delivery publishes (schemas in schemas/delivery.booking/), keyed by order id."""

from __future__ import annotations

from datetime import date

from chassis.events import Event


class _BookingEvent(Event):
    aggregate_type = "delivery.booking"
    order_id: str
    user_id: str


class DeliveryReserved(_BookingEvent):
    dates: list[date]


class DeliveryRejected(_BookingEvent):
    reason: str


class DeliveryReleased(_BookingEvent):
    reason: str


class DeliveryConfirmed(_BookingEvent):
    pass


class DayPickedUp(_BookingEvent):
    date: date
    courier_id: str


class DayDelivered(_BookingEvent):
    date: date
    courier_id: str
