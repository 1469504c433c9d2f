"""notifications' use cases: plain functions over a unit of work."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from apis.notifications import domain
from apis.notifications.models import CHANNEL, notifications
from chassis import pagination
from chassis.db import UnitOfWork
from chassis.problems import Problem

# ---- written by the notifier processor ----------------------------------------------------


def record(*, uow: UnitOfWork, event_id: uuid.UUID, event_type: str, value: dict[str, Any]) -> bool:
    """The event's notification, if it makes one, and a wake-up for its recipient's live streams.

    Runs inside the processor's exactly-once transaction; the (event, recipient) unique key makes a
    second insert a no-op even without the inbox, and the NOTIFY is only sent when a row was added
    (Postgres delivers it at commit, so a listener never wakes before the row is visible).
    """
    notice = domain.notice_for(event_type, value)  # NotNotifiable: the processor dead-letters the event
    if notice is None:
        return False
    added = uow.session.execute(pg_insert(notifications).values(
        id=uuid.uuid4(), user_id=notice.user_id, event_id=event_id, event_type=event_type, kind=notice.kind,
        title=notice.title, body=notice.body, data=notice.data, created_at=value["occurred_at"],
    ).on_conflict_do_nothing(constraint="notifications_event_recipient").returning(notifications.c.id)).first()
    if added is not None:
        uow.session.execute(select(func.pg_notify(CHANNEL, str(notice.user_id))))
    return added is not None


# ---- the owner's feed -------------------------------------------------------------------------


def list_mine(*, uow: UnitOfWork, user_id: uuid.UUID, unread: bool, cursor: str | None,
              limit: int) -> tuple[Sequence[Any], str | None]:
    """Newest first; the cursor is the last item's (created_at, id), so new arrivals never shift a page."""
    query = select(notifications).where(notifications.c.user_id == user_id)
    if unread:
        query = query.where(notifications.c.read_at.is_(None))
    if cursor:
        query = query.where(pagination.after(cursor, notifications.c.created_at, notifications.c.id,
                                             datetime.fromisoformat, descending=True))
    with uow:
        rows = uow.session.execute(query.order_by(notifications.c.created_at.desc(), notifications.c.id.desc())
                                   .limit(limit + 1)).all()
    return pagination.page(rows, limit, lambda r: r.created_at)


def mark_read(*, uow: UnitOfWork, user_id: uuid.UUID, notification_id: uuid.UUID) -> Any:
    """Idempotent: marking again keeps the first read time."""
    with uow:
        row = uow.session.execute(
            update(notifications)
            .where(notifications.c.id == notification_id, notifications.c.user_id == user_id)
            .values(read_at=func.coalesce(notifications.c.read_at, func.now()))
            .returning(*notifications.c)).first()
        if row is None:  # someone else's notification is indistinguishable from none
            raise Problem(404, f"No notification {notification_id} among yours.")
        uow.commit()
        return row


# ---- live streams -----------------------------------------------------------------------------


def stream_floor(*, uow: UnitOfWork, user_id: uuid.UUID, last_event_id: str | None) -> int:
    """Where a live stream starts: after the notification the client last received (Last-Event-ID,
    if it is one of theirs), otherwise after everything they have now — a new stream sends nothing old."""
    with uow:
        if last_event_id:
            try:
                seq = uow.session.execute(select(notifications.c.seq).where(
                    notifications.c.id == uuid.UUID(last_event_id), notifications.c.user_id == user_id)).scalar()
            except ValueError:
                seq = None
            if seq is not None:
                return seq
        return uow.session.execute(select(func.coalesce(func.max(notifications.c.seq), 0))
                                   .where(notifications.c.user_id == user_id)).scalar_one()


LIVE_PAGE = 200


def inserted_after(*, uow: UnitOfWork, user_id: uuid.UUID, seq: int) -> Sequence[Any]:
    """The user's notifications inserted after `seq`, in insert order, one page at a time."""
    with uow:
        return uow.session.execute(select(notifications).where(
            notifications.c.user_id == user_id, notifications.c.seq > seq)
            .order_by(notifications.c.seq).limit(LIVE_PAGE)).all()
