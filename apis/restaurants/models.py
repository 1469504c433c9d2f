"""restaurants' tables."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, DateTime, ForeignKey, Integer, MetaData, Table, Text, Uuid, func

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
