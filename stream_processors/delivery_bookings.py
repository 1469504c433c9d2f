"""delivery's part of the order saga (docs/saga.md): courier slots per day, and the delivery tasks.

- OrderReserved (restaurants) → book a slot on every date → DeliveryReserved / DeliveryRejected;
- OrderPaymentFailed (payments), OrderCancelled, OrderExpired (orders) → release a pending booking
  → DeliveryReleased;
- OrderActivated (orders: the order's own decision after OrderPaid) → confirm a pending booking,
  one task per date → DeliveryConfirmed. Not OrderPaid itself: a payment can land on an order
  the user cancelled meanwhile, and OrderPaid (payments' topic) could then overtake OrderCancelled
  (orders' topic) here; OrderActivated and OrderCancelled are on one partition, in orders' order;
- DayPrepared (restaurants) → that date's task can be picked up.
The three topics are read independently, so an event can overtake the one it depends on: such an
event is recorded (delivery's `early_events`, the version file) and applied when the other arrives.
The inbox makes each event count once; the effects and the events they raise share its transaction.

Run: faust -A stream_processors.courier_bookings worker
"""

from __future__ import annotations

import uuid
from datetime import date

from apis.delivery import service as delivery
from apis.delivery.settings import DeliverySettings
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import (
    ExactlyOnceEffects,
    IncomingEvent,
    PermanentFailure,
    by_event_type,
    create_app,
    event_topic,
)

settings = DeliverySettings()
svc = Service("delivery", settings)
app = create_app("courier-bookings")
reservations = event_topic(app, "restaurants.reservation")
payments = event_topic(app, "payments.payment")
orders = event_topic(app, "orders.order")
effects = ExactlyOnceEffects(app, "delivery.bookings", svc.sessions, svc.codec)


def _id(event: IncomingEvent, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(event.value[field])
    except (KeyError, TypeError, ValueError):
        # Retrying would never make it a UUID: dead-letter it rather than block the partition.
        raise PermanentFailure(f"{field} {event.value.get(field)!r} is not a UUID") from None


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def reserve(uow: UnitOfWork, event: IncomingEvent) -> None:
    v = event.value
    delivery.reserve(uow=uow, order_id=_id(event, "order_id"), user_id=_id(event, "user_id"),
                     restaurant_id=_id(event, "restaurant_id"), address=v["delivery_address"], phone=v["phone"],
                     dates=[_as_date(d) for d in v["dates"]], capacity=settings.delivery_slots_per_day)


def release(uow: UnitOfWork, event: IncomingEvent) -> None:
    delivery.release(uow=uow, order_id=_id(event, "order_id"), user_id=_id(event, "user_id"),
                     event_type=event.event_type, reason=event.value.get("reason"))


def confirm(uow: UnitOfWork, event: IncomingEvent) -> None:
    delivery.confirm(uow=uow, order_id=_id(event, "order_id"), user_id=_id(event, "user_id"))


def day_prepared(uow: UnitOfWork, event: IncomingEvent) -> None:
    delivery.day_prepared(uow=uow, order_id=_id(event, "order_id"), day=_as_date(event.value["date"]))


apply_reservation = by_event_type({"OrderReserved": reserve, "DayPrepared": day_prepared})
apply_payment = by_event_type({"OrderPaymentFailed": release})
apply_order = by_event_type({"OrderCancelled": release, "OrderExpired": release, "OrderActivated": confirm})


@app.agent(reservations)
async def from_reservations(stream):
    async for event in stream.events():
        await effects.apply(event, apply_reservation)


@app.agent(payments)
async def from_payments(stream):
    async for event in stream.events():
        await effects.apply(event, apply_payment)


@app.agent(orders)
async def from_orders(stream):
    async for event in stream.events():
        await effects.apply(event, apply_order)
