"""users' tables."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData()

profiles = Table(
    "profiles", metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("email", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("phone", Text),
    Column("address", Text),
    Column("daily_calorie_goal", Integer),
    Column("protein_goal", Integer),
    Column("fat_goal", Integer),
    Column("carbs_goal", Integer),
    Column("settings", JSONB, nullable=False, server_default="{}"),
    Column("version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)
