"""notifications from every service's events: one per (event, recipient), whatever the redeliveries.

One agent per topic that `apis.notifications.domain.NOTIFIED` names, so a new notified event type
(even on a new topic) is one line in that table. The inbox (consumer `notifications.notifier`) and
the notification are written in one transaction, with a `pg_notify` that wakes live streams.
Run: faust -A stream_processors.notifier worker
"""

from __future__ import annotations

from apis.notifications import domain
from apis.notifications import service as notifications
from chassis.db import UnitOfWork
from chassis.service import Service
from chassis.streams import ExactlyOnceEffects, IncomingEvent, PermanentFailure, create_app, event_topic

svc = Service("notifications")
app = create_app("notifier")
effects = ExactlyOnceEffects(app, "notifications.notifier", svc.sessions, svc.codec)


def notify(uow: UnitOfWork, event: IncomingEvent) -> None:
    # Types outside the table (internal saga steps on the same topics) make no notification.
    try:
        notifications.record(uow=uow, event_id=event.event_id, event_type=event.event_type, value=event.value)
    except domain.NotNotifiable as exc:  # no recipient or a missing field: retrying cannot help
        raise PermanentFailure(str(exc)) from exc


def _agent_for(aggregate_type: str) -> None:
    async def notify_from(stream):
        async for event in stream.events():
            await effects.apply(event, notify)

    # Named per topic: Faust names an agent after its function, which is the same for every topic here.
    app.agent(event_topic(app, aggregate_type), name=f"{__name__}.notify_from_{aggregate_type.replace('.', '_')}")(
        notify_from)


for _aggregate_type in domain.notified_aggregate_types():
    _agent_for(_aggregate_type)
