"""restaurants' side of the order saga: portions reserved on OrderCreated, released by any
compensation (delivery rejected, payment failed, cancelled, expired, rejected), confirmed when the
order is activated. Confirmation follows OrderActivated, orders' own decision after OrderPaid,
not OrderPaid: a payment that lands on an order cancelled meanwhile must not confirm, and only on
orders' topic do OrderCancelled and OrderActivated arrive in the order orders decided them.

Run: faust -A stream_processors.kitchen_reservations worker
"""

from __future__ import annotations

from apis.restaurants import reservations
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import ExactlyOnceEffects, IncomingEvent, by_event_type, create_app, event_topic

svc = Service("restaurants")
app = create_app("kitchen-reservations")
effects = ExactlyOnceEffects(app, "restaurants.reservations", svc.sessions, svc.codec)


def release(why: str):
    def apply(uow: UnitOfWork, e: IncomingEvent) -> None:
        reservations.release(uow, e.value["order_id"], e.value["user_id"], e.value.get("reason") or why)

    return apply


def confirm(uow: UnitOfWork, e: IncomingEvent) -> None:
    reservations.confirm(uow, e.value["order_id"], e.value["user_id"])


def reserve(uow: UnitOfWork, e: IncomingEvent) -> None:
    reservations.reserve(uow, e.value)


from_orders = by_event_type({"OrderCreated": reserve, "OrderCancelled": release("order cancelled"),
                             "OrderExpired": release("order expired"), "OrderRejected": release("order rejected"),
                             "OrderActivated": confirm})
from_delivery = by_event_type({"DeliveryRejected": release("no courier")})
from_payments = by_event_type({"OrderPaymentFailed": release("payment failed")})


@app.agent(event_topic(app, "orders.order"))
async def follow_orders(stream):
    async for event in stream.events():
        await effects.apply(event, from_orders)


@app.agent(event_topic(app, "delivery.booking"))
async def follow_delivery(stream):
    async for event in stream.events():
        await effects.apply(event, from_delivery)


@app.agent(event_topic(app, "payments.payment"))
async def follow_payments(stream):
    async for event in stream.events():
        await effects.apply(event, from_payments)
