"""notifications from every service's events: one per (event, recipient), whatever the redeliveries.

One agent per topic that `apis.notifications.domain.NOTIFIED` names, so a new notified event type
(even on a new topic) is one line in that table. The inbox (consumer `notifications.notifier`) and
the notification are written in one transaction, with a `pg_notify` that wakes live streams.
Run: faust -A stream_processors.notifications_feed worker
"""

from __future__ import annotations

from apis.notifications import domain
from apis.notifications import service as notifications
from chassis.db import UnitOfWork
from chassis.events import Event, all_event_classes
from chassis.service import Service
from chassis.streams import PermanentFailure, Processor

processor = Processor("notifications_feed", Service("notifications"))
app = processor.app


def notify(uow: UnitOfWork, event: Event) -> None:
    try:
        notifications.record(uow=uow, event_id=event.event_id, event_type=event.event_type(),
                             value=event.to_record())
    except domain.NotNotifiable as exc:  # no recipient or a missing field: retrying cannot help
        raise PermanentFailure(str(exc)) from exc


# A name in NOTIFIED without an event class of its topic fails here, at start-up (KeyError).
_classes = all_event_classes()
for _aggregate_type in domain.notified_aggregate_types():
    processor.consume(_aggregate_type, {_classes[(_aggregate_type, name)]: notify
                                        for name, template in domain.NOTIFIED.items()
                                        if template.aggregate_type == _aggregate_type})
