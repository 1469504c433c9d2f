"""notifications' one table, written only by the notifier processor and read (or marked read) by its owner."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, MetaData, Table, Text, UniqueConstraint, Uuid
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

# The channel the notifier signals (payload: the recipient's user id) in the insert's transaction,
# so a live stream wakes as soon as the notification is committed.
CHANNEL = "notifications"

notifications = Table(
    "notifications", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("data", JSONB, nullable=False),  # ids and figures a client links to: order_id, plan_id, …
    # The event's occurred_at, not the insert time: the feed is in the order things happened,
    # even when the processor catches up on a backlog.
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("read_at", DateTime(timezone=True)),
    # Insert order, for live streams only: a notification of an old event inserted late is still new to them.
    Column("seq", BigInteger, Identity(always=True), nullable=False, unique=True),
    # With the processor's inbox, one notification per (event, recipient) whatever the redeliveries.
    UniqueConstraint("event_id", "user_id", name="notifications_event_recipient"),
    Index("notifications_user_feed", "user_id", "created_at", "id"),
    Index("notifications_user_seq", "user_id", "seq"),
)
