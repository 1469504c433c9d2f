"""records: each delivered day of an order adds its dishes to the eater's diary (source `order`),
once, whatever the redeliveries (inbox, and entry ids derived from the order line).

Run: faust -A stream_processors.diary_from_orders worker
"""

from __future__ import annotations

from datetime import date

from apis.records import service as records
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import ExactlyOnceEffects, IncomingEvent, by_event_type, create_app, event_topic

svc = Service("records")
app = create_app("diary-from-orders")
effects = ExactlyOnceEffects(app, "records.orders", svc.sessions, svc.codec)


def add_delivered_day(uow: UnitOfWork, e: IncomingEvent) -> None:
    day = e.value["date"]
    records.add_delivered_dishes(uow, order_id=e.value["order_id"], user_id=e.value["user_id"],
                                 day=day if isinstance(day, date) else date.fromisoformat(day),
                                 dishes=e.value["dishes"])


apply = by_event_type({"OrderDayDelivered": add_delivered_day})


@app.agent(event_topic(app, "orders.order"))
async def diary_from_deliveries(stream):
    async for event in stream.events():
        await effects.apply(event, apply)
