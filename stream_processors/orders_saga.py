"""orders' side of the choreography: the order reacts to the kitchen, the courier and the payment.

Every reaction rereads the order under a row lock and applies a step only from the statuses the
state machine allows (`apis.orders.domain.TRANSITIONS`): a repeated, late or raced event changes
nothing. A timer expires unpaid orders past their deadline plus a grace period
(`order_payment_grace_seconds`: a payment payments accepted before the deadline still activates).

Run: faust -A stream_processors.orders_saga worker
"""

from __future__ import annotations

import asyncio

from apis.delivery.events import (
    DayDelivered,
    DayPickedUp,
    DeliveryConfirmed,
    DeliveryRejected,
    DeliveryReleased,
    DeliveryReserved,
)
from apis.orders import service as orders
from apis.orders.settings import OrderSettings
from apis.payments.events import OrderPaid, OrderPaymentFailed, PaymentRefunded
from apis.restaurants.events import (
    DayPrepared,
    OrderReserved,
    OrderReserveRejected,
    ReservationConfirmed,
    ReservationReleased,
)
from chassis.db import UnitOfWork
from chassis.events import Event
from chassis.service import Service
from chassis.streams import Processor, event_uuid

settings = OrderSettings()
svc = Service("orders", settings)
processor = Processor("orders_saga", svc)
app = processor.app


def step(uow: UnitOfWork, e: Event) -> None:
    """A step of the state machine (`domain.TRANSITIONS`), caused by this event."""
    order_id = event_uuid(getattr(e, "order_id"), "order_id")  # noqa: B009 - every saga event has one
    if not orders.transition(uow, order_id, type(e), e.event_type(), getattr(e, "reason", None)):
        orders.note(uow, order_id, f"{e.event_type()} (no change)")


def note(uow: UnitOfWork, e: Event) -> None:
    orders.note(uow, event_uuid(getattr(e, "order_id"), "order_id"), e.event_type())  # noqa: B009


def delivered(uow: UnitOfWork, e: DayDelivered) -> None:
    orders.day_delivered(uow, event_uuid(e.order_id, "order_id"), e.date)


processor.consume("restaurants.reservation", {
    OrderReserved: note, OrderReserveRejected: step, ReservationReleased: note, ReservationConfirmed: note,
    DayPrepared: note})
processor.consume("delivery.booking", {
    DeliveryReserved: step, DeliveryRejected: step, DeliveryReleased: note, DeliveryConfirmed: note,
    DayPickedUp: note, DayDelivered: delivered})
processor.consume("payments.payment", {OrderPaid: step, OrderPaymentFailed: step, PaymentRefunded: note})


@app.timer(interval=1.0)
async def expire_unpaid_orders() -> None:
    try:
        await asyncio.to_thread(orders.expire_due, uow=svc.uow(),
                                grace_seconds=settings.order_payment_grace_seconds)
    except Exception:  # the next tick tries again; an order expires late rather than never
        app.log.exception("expiring orders failed")
