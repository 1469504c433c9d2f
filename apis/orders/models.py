"""orders' tables: orders with their saga history, and copies of menus, profiles and plans."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
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

orders = Table(
    "orders", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("restaurant_id", Uuid, nullable=False),
    Column("status", Text, nullable=False),
    Column("reason", Text),
    Column("total", BigInteger, nullable=False),
    Column("delivery_address", Text, nullable=False),
    Column("phone", Text, nullable=False),
    Column("days", JSONB, nullable=False),  # priced lines, as in OrderCreated
    Column("delivered_dates", JSONB, nullable=False, server_default="[]"),
    Column("idempotency_key", Text),
    Column("request_hash", Text, nullable=False),  # user + canonical body: the natural key
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("orders_user_key", "user_id", "idempotency_key", unique=True,
          postgresql_where=Column("idempotency_key").isnot(None)),
    Index("orders_user_hash", "user_id", "request_hash", "created_at"),
    Index("orders_open_expiry", "expires_at", postgresql_where=Column("status").in_(["PENDING", "AWAITING_PAYMENT"])),
)

history = Table(
    "order_history", metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("order_id", Uuid, nullable=False, index=True),
    Column("status", Text, nullable=False),
    Column("event", Text, nullable=False),
    Column("reason", Text),
    Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

dish_copies = Table(
    "dish_copies", metadata,
    Column("dish_id", Uuid, primary_key=True),
    Column("restaurant_id", Uuid, nullable=False),
    Column("text", Text, nullable=False),
    Column("calories", Integer, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("available", Boolean, nullable=False),
    Column("removed", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
)

restaurant_copies = Table(
    "restaurant_copies", metadata,
    Column("restaurant_id", Uuid, primary_key=True),
    Column("active", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
)

profile_copies = Table(
    "profile_copies", metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("address", Text),
    Column("phone", Text),
    Column("version", Integer, nullable=False),
)

plan_copies = Table(
    "plan_copies", metadata,
    Column("plan_id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("restaurant_id", Uuid, nullable=False),
    Column("days", JSONB, nullable=False),
)
