"""recommendations' tables: its plans, and read-only copies of menus and goals fed by events."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Index, Integer, MetaData, Table, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

plans = Table(
    "plans", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("manager_id", Uuid, nullable=False),
    Column("restaurant_id", Uuid, nullable=False),
    Column("week_start", Date, nullable=False),
    Column("days", JSONB, nullable=False),  # [{date, meals: [{meal, dish_ids}]}]
    Column("comment", Text),
    Column("status", Text, nullable=False),  # draft | published
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Index("plans_user_created", "user_id", "created_at", "id"),
)

# Copies, written only by stream_processors/recommendations_copies.py (newest version wins).
menu_dishes = Table(
    "menu_dishes", metadata,
    Column("dish_id", Uuid, primary_key=True),
    Column("restaurant_id", Uuid, nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("calories", Integer, nullable=False),
    Column("kind", Text, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("available", Boolean, nullable=False),
    Column("removed", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
)

restaurant_copies = Table(
    "restaurant_copies", metadata,
    Column("restaurant_id", Uuid, primary_key=True),
    Column("name", Text, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
)

goal_copies = Table(
    "goal_copies", metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("daily_calorie_goal", Integer),
    Column("version", Integer, nullable=False),
)
