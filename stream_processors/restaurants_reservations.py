"""restaurants' side of the order saga: portions reserved on OrderCreated, released by any
compensation (delivery rejected, payment failed, cancelled, expired, rejected), confirmed when the
order is activated. Confirmation follows OrderActivated, orders' own decision after OrderPaid,
not OrderPaid: a payment that lands on an order cancelled meanwhile must not confirm, and only on
orders' topic do OrderCancelled and OrderActivated arrive in the order orders decided them.

Run: faust -A stream_processors.restaurants_reservations worker
"""

from __future__ import annotations

from collections.abc import Callable

from apis.delivery.events import DeliveryRejected
from apis.orders.events import OrderActivated, OrderCancelled, OrderCreated, OrderExpired, OrderRejected
from apis.payments.events import OrderPaymentFailed
from apis.restaurants import reservations
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import Processor

processor = Processor("restaurants_reservations", Service("restaurants"))
app = processor.app


def release(why: str) -> Callable[[UnitOfWork, OrderCancelled | OrderExpired | OrderRejected | DeliveryRejected
                                    | OrderPaymentFailed], None]:
    def apply(uow: UnitOfWork, e: OrderCancelled | OrderExpired | OrderRejected | DeliveryRejected
              | OrderPaymentFailed) -> None:
        reservations.release(uow, e.order_id, e.user_id, getattr(e, "reason", None) or why)

    return apply


def confirm(uow: UnitOfWork, e: OrderActivated) -> None:
    reservations.confirm(uow, e.order_id, e.user_id)


processor.consume("orders.order", {
    OrderCreated: reservations.reserve, OrderCancelled: release("order cancelled"),
    OrderExpired: release("order expired"), OrderRejected: release("order rejected"), OrderActivated: confirm})
processor.consume("delivery.booking", {DeliveryRejected: release("no courier")})
processor.consume("payments.payment", {OrderPaymentFailed: release("payment failed")})
