"""payments' copy of orders (docs/saga.md): OrderAwaitingPayment makes an order payable with its exact
total until its deadline; OrderCancelled / OrderExpired / OrderRejected close it, and give back a charge that landed
meanwhile (the race of a payment with a cancellation or expiry), with PaymentRefunded.

Each event counts once (inbox in the effect's transaction), and the refund itself is keyed by the
order's payment status, so even a closing that arrives twice under different ids refunds once.
Run: faust -A stream_processors.payments_orders worker
"""

from __future__ import annotations

from apis.orders.events import OrderAwaitingPayment, OrderCancelled, OrderExpired, OrderRejected
from apis.payments import service as payments
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import Processor, event_uuid

processor = Processor("payments_orders", Service("payments"))
app = processor.app


def awaiting(uow: UnitOfWork, e: OrderAwaitingPayment) -> None:
    payments.copy_awaiting(uow=uow, order_id=event_uuid(e.order_id, "order_id"),
                           user_id=event_uuid(e.user_id, "user_id"), total=e.total, expires_at=e.expires_at)


def closed(uow: UnitOfWork, e: OrderCancelled | OrderExpired | OrderRejected) -> None:
    payments.close_order(uow=uow, order_id=event_uuid(e.order_id, "order_id"),
                         user_id=event_uuid(e.user_id, "user_id"), event_type=e.event_type(),
                         reason=getattr(e, "reason", None))


processor.consume("orders.order", {OrderAwaitingPayment: awaiting, OrderCancelled: closed, OrderExpired: closed,
                                   OrderRejected: closed})
