"""orders' side of the choreography: the order reacts to the kitchen, the courier and the payment.

Every reaction rereads the order under a row lock and applies a step only from the statuses the
state machine allows (`apis.orders.domain.TRANSITIONS`): a repeated, late or raced event changes
nothing. A timer expires unpaid orders past their deadline.

Run: faust -A stream_processors.order_saga worker
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

from apis.orders import service as orders
from apis.orders.settings import OrderSettings
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import ExactlyOnceEffects, IncomingEvent, by_event_type, create_app, event_topic

svc = Service("orders", OrderSettings())
app = create_app("order-saga")
effects = ExactlyOnceEffects(app, "orders.saga", svc.sessions, svc.codec)


def step(name: str):
    """A saga step named in the state machine, caused by this event (with its reason, if any)."""

    def apply(uow: UnitOfWork, e: IncomingEvent) -> None:
        order_id = uuid.UUID(e.value["order_id"])
        if not orders.transition(uow, order_id, name, e.event_type, e.value.get("reason")):
            orders.note(uow, order_id, f"{e.event_type} (no change)")

    return apply


def note(uow: UnitOfWork, e: IncomingEvent) -> None:
    orders.note(uow, uuid.UUID(e.value["order_id"]), e.event_type)


def delivered(uow: UnitOfWork, e: IncomingEvent) -> None:
    day = e.value["date"]
    orders.day_delivered(uow, uuid.UUID(e.value["order_id"]), day if isinstance(day, date) else date.fromisoformat(day))


kitchen = by_event_type({"OrderReserved": note, "OrderReserveRejected": step("OrderReserveRejected"),
                         "ReservationReleased": note, "ReservationConfirmed": note, "DayPrepared": note})
courier = by_event_type({"DeliveryReserved": step("DeliveryReserved"), "DeliveryRejected": step("DeliveryRejected"),
                         "DeliveryReleased": note, "DeliveryConfirmed": note, "DayPickedUp": note,
                         "DayDelivered": delivered})
payment = by_event_type({"OrderPaid": step("OrderPaid"), "OrderPaymentFailed": step("OrderPaymentFailed"),
                         "PaymentRefunded": note})


@app.agent(event_topic(app, "restaurants.reservation"))
async def follow_kitchen(stream):
    async for event in stream.events():
        await effects.apply(event, kitchen)


@app.agent(event_topic(app, "delivery.booking"))
async def follow_courier(stream):
    async for event in stream.events():
        await effects.apply(event, courier)


@app.agent(event_topic(app, "payments.payment"))
async def follow_payment(stream):
    async for event in stream.events():
        await effects.apply(event, payment)


@app.timer(interval=1.0)
async def expire_unpaid_orders() -> None:
    try:
        await asyncio.to_thread(orders.expire_due, uow=svc.uow())
    except Exception:  # the next tick tries again; an order expires late rather than never
        app.log.exception("expiring orders failed")
