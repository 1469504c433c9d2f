"""delivery's tables."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

# One booking per order (the order id is the natural key, so a repeated reservation applies nothing).
bookings = Table(
    "bookings", metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("restaurant_id", Uuid, nullable=False),
    Column("address", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    CheckConstraint("status IN ('pending', 'confirmed', 'released', 'rejected')", name="bookings_status"),
)

# The slots a booking holds, one row per (order, date): a day's used slots are counted from here,
# and a release deletes exactly that order's rows (commutative updates keyed by order id).
booking_days = Table(
    "booking_days", metadata,
    Column("order_id", Uuid, ForeignKey("bookings.order_id"), primary_key=True),
    Column("date", Date, primary_key=True),
    Index("booking_days_by_date", "date"),
)

tasks = Table(
    "tasks", metadata,
    Column("id", Uuid, primary_key=True),
    Column("order_id", Uuid, ForeignKey("bookings.order_id"), nullable=False),
    Column("date", Date, nullable=False),
    Column("user_id", Uuid, nullable=False),
    Column("restaurant_id", Uuid, nullable=False),
    Column("address", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("courier_id", Uuid),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    UniqueConstraint("order_id", "date", name="tasks_order_date"),
    CheckConstraint("status IN ('waiting_kitchen', 'ready', 'picked_up', 'delivered')", name="tasks_status"),
    Index("tasks_by_status", "status", "date", "id"),
)

# The version file: an event that came before the one it depends on (a release or a payment before
# the reservation, a prepared day before its task), kept and applied when that one arrives.
early_events = Table(
    "early_events", metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("order_id", Uuid, nullable=False),
    Column("kind", Text, nullable=False),  # release | paid | prepared
    Column("date", Date),  # for prepared only
    Column("payload", JSONB, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    # One record per fact: a second cancellation, or a redelivered one, adds nothing.
    UniqueConstraint("order_id", "kind", "date", name="early_events_fact", postgresql_nulls_not_distinct=True),
)
