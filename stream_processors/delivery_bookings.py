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

Run: faust -A stream_processors.delivery_bookings worker
"""

from __future__ import annotations

from apis.delivery import service as delivery
from apis.delivery.settings import DeliverySettings
from apis.orders.events import OrderActivated, OrderCancelled, OrderExpired
from apis.payments.events import OrderPaymentFailed
from apis.restaurants.events import DayPrepared, OrderReserved
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import Processor, event_uuid

settings = DeliverySettings()
processor = Processor("delivery_bookings", Service("delivery", settings))
app = processor.app


def reserve(uow: UnitOfWork, e: OrderReserved) -> None:
    delivery.reserve(uow=uow, order_id=event_uuid(e.order_id, "order_id"), user_id=event_uuid(e.user_id, "user_id"),
                     restaurant_id=event_uuid(e.restaurant_id, "restaurant_id"), address=e.delivery_address,
                     phone=e.phone, dates=list(e.dates), capacity=settings.delivery_slots_per_day)


def release(uow: UnitOfWork, e: OrderPaymentFailed | OrderCancelled | OrderExpired) -> None:
    delivery.release(uow=uow, order_id=event_uuid(e.order_id, "order_id"), user_id=event_uuid(e.user_id, "user_id"),
                     event_type=e.event_type(), reason=getattr(e, "reason", None))


def confirm(uow: UnitOfWork, e: OrderActivated) -> None:
    delivery.confirm(uow=uow, order_id=event_uuid(e.order_id, "order_id"), user_id=event_uuid(e.user_id, "user_id"))


def day_prepared(uow: UnitOfWork, e: DayPrepared) -> None:
    delivery.day_prepared(uow=uow, order_id=event_uuid(e.order_id, "order_id"), day=e.date)


processor.consume("restaurants.reservation", {OrderReserved: reserve, DayPrepared: day_prepared})
processor.consume("payments.payment", {OrderPaymentFailed: release})
processor.consume("orders.order", {OrderCancelled: release, OrderExpired: release, OrderActivated: confirm})
