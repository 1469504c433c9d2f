"""diary entries, daily totals read model, goal copies, and the chassis tables

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from chassis.migrate import create_chassis_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_chassis_tables(op)
    op.create_table(
        "entries",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("eaten_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("eaten_on", sa.Date, nullable=False),
        sa.Column("meal", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("calories", sa.Integer, nullable=False),
        sa.Column("grams", sa.Float),
        sa.Column("protein", sa.Float),
        sa.Column("fat", sa.Float),
        sa.Column("carbs", sa.Float),
        sa.Column("dish_id", sa.Text),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_index("entries_user_eaten", "entries", ["user_id", "eaten_at", "id"])
    op.create_table(
        "daily_totals",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("day", sa.Date, primary_key=True),
        sa.Column("calories", sa.Integer, nullable=False),
        sa.Column("by_meal", JSONB, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "user_goals",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("daily_calorie_goal", sa.Integer),
        sa.Column("version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("user_goals")
    op.drop_table("daily_totals")
    op.drop_table("entries")
