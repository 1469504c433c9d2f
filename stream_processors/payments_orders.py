"""payments' copy of orders (docs/saga.md): OrderAwaitingPayment makes an order payable with its exact
total; OrderCancelled / OrderExpired / OrderRejected close it, and give back a charge that landed
meanwhile (the race of a payment with a cancellation or expiry), with PaymentRefunded.

Each event counts once (inbox in the effect's transaction), and the refund itself is keyed by the
order's payment status, so even a closing that arrives twice under different ids refunds once.
Run: faust -A stream_processors.payment_orders worker
"""

from __future__ import annotations

import uuid

from apis.payments import service as payments
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import ExactlyOnceEffects, IncomingEvent, PermanentFailure, by_event_type, create_app, event_topic

svc = Service("payments")
app = create_app("payment-orders")
order_events = event_topic(app, "orders.order")
effects = ExactlyOnceEffects(app, "payments.orders", svc.sessions, svc.codec)


def _ids(event: IncomingEvent) -> tuple[uuid.UUID, uuid.UUID]:
    try:
        return uuid.UUID(event.value["order_id"]), uuid.UUID(event.value["user_id"])
    except (KeyError, ValueError) as exc:  # retrying would never make it an id
        raise PermanentFailure(f"order_id/user_id are not ids: {exc!r}") from exc


def _awaiting(uow: UnitOfWork, event: IncomingEvent) -> None:
    order_id, user_id = _ids(event)
    payments.copy_awaiting(uow=uow, order_id=order_id, user_id=user_id, total=event.value["total"])


def _closed(uow: UnitOfWork, event: IncomingEvent) -> None:
    order_id, user_id = _ids(event)
    payments.close_order(uow=uow, order_id=order_id, user_id=user_id, event_type=event.event_type,
                         reason=event.value.get("reason"))


apply = by_event_type({"OrderAwaitingPayment": _awaiting, "OrderCancelled": _closed, "OrderExpired": _closed,
                       "OrderRejected": _closed})


@app.agent(order_events)
async def copy_orders(stream):
    async for event in stream.events():
        await effects.apply(event, apply)
