"""restaurants' tables."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    Uuid,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

restaurants = Table(
    "restaurants", metadata,
    Column("id", Uuid, primary_key=True),
    Column("name", Text, nullable=False, unique=True),
    Column("address", Text, nullable=False),
    Column("daily_capacity", Integer, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

dishes = Table(
    "dishes", metadata,
    Column("id", Uuid, primary_key=True),
    Column("restaurant_id", Uuid, ForeignKey("restaurants.id"), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("calories", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("comment", Text),
    Column("price", BigInteger, nullable=False),
    Column("available", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    # Removed dishes stay (orders and plans refer to them) but leave the menu.
    Column("removed", Boolean, nullable=False, server_default="false"),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# ---- the order saga: reservations of portions, keyed by order id ------------------------------

reservations = Table(
    "reservations", metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("restaurant_id", Uuid, nullable=False, index=True),
    Column("user_id", Uuid, nullable=False),
    # pending (the semantic lock: held for an unpaid order) | confirmed | released | rejected
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("days", JSONB, nullable=False),  # the order's lines, for the kitchen queue
    Column("version", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# One row per (order, day): capacity changes by this order's delta and a repeat applies nothing.
reserved_portions = Table(
    "reserved_portions", metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("restaurant_id", Uuid, nullable=False),
    Column("portions", Integer, nullable=False),
    Index("reserved_portions_restaurant_day", "restaurant_id", "day"),
)

prepared_days = Table(
    "prepared_days", metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("prepared_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# The version file: a release that arrives before the reservation it undoes is kept here, so the
# reservation, when it comes, is not made.
early_releases = Table(
    "early_releases", metadata,
    Column("order_id", Uuid, primary_key=True),
    Column("reason", Text, nullable=False),
    Column("recorded_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
