"""records' tables: the diary (source of truth) and the read model the totals processor writes."""

from __future__ import annotations

from sqlalchemy import Column, Date, DateTime, Float, Index, Integer, MetaData, Table, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

entries = Table(
    "entries", metadata,
    Column("id", Uuid, primary_key=True),
    Column("user_id", Uuid, nullable=False),
    Column("eaten_at", DateTime(timezone=True), nullable=False),
    Column("eaten_on", Date, nullable=False),  # the eater's local date
    Column("meal", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("calories", Integer, nullable=False),
    Column("grams", Float),
    Column("protein", Float),
    Column("fat", Float),
    Column("carbs", Float),
    Column("dish_id", Text),
    Column("source", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("entries_user_eaten", "user_id", "eaten_at", "id"),
)

# Written only by the records_totals processor (from its changelog-backed Faust tables).
daily_totals = Table(
    "daily_totals", metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("calories", Integer, nullable=False),
    Column("by_meal", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# records' copy of each user's calorie goal, from users' UserProfileChanged events.
user_goals = Table(
    "user_goals", metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("daily_calorie_goal", Integer),
    Column("version", Integer, nullable=False),
)
