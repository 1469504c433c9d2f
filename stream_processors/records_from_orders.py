"""records: each delivered day of an order adds its dishes to the eater's diary (source `order`),
once, whatever the redeliveries (inbox, and entry ids derived from the order line).

Run: faust -A stream_processors.records_from_orders worker
"""

from __future__ import annotations

from apis.orders.events import OrderDayDelivered
from apis.records import service as records
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import Processor

processor = Processor("records_from_orders", Service("records"))
app = processor.app


def add_delivered_day(uow: UnitOfWork, e: OrderDayDelivered) -> None:
    records.add_delivered_dishes(uow, order_id=e.order_id, user_id=e.user_id, day=e.date, dishes=e.dishes)


processor.consume("orders.order", {OrderDayDelivered: add_delivered_day})
