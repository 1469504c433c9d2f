"""plans, copies of menus, restaurants and goals, and the chassis tables

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
        "plans",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("manager_id", sa.Uuid, nullable=False),
        sa.Column("restaurant_id", sa.Uuid, nullable=False),
        sa.Column("week_start", sa.Date, nullable=False),
        sa.Column("days", JSONB, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("published_at", sa.DateTime(timezone=True)),
    )
    op.create_index("plans_user_created", "plans", ["user_id", "created_at", "id"])
    op.create_table(
        "menu_dishes",
        sa.Column("dish_id", sa.Uuid, primary_key=True),
        sa.Column("restaurant_id", sa.Uuid, nullable=False, index=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("calories", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.Column("available", sa.Boolean, nullable=False),
        sa.Column("removed", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "restaurant_copies",
        sa.Column("restaurant_id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "goal_copies",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("daily_calorie_goal", sa.Integer),
        sa.Column("version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in ("goal_copies", "restaurant_copies", "menu_dishes", "plans"):
        op.drop_table(table)
