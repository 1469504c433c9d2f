"""bookings, booking days, delivery tasks, early events, and the chassis tables

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
        "bookings",
        sa.Column("order_id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("restaurant_id", sa.Uuid, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("phone", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('pending', 'confirmed', 'released', 'rejected')", name="bookings_status"),
    )
    op.create_table(
        "booking_days",
        sa.Column("order_id", sa.Uuid, sa.ForeignKey("bookings.order_id"), primary_key=True),
        sa.Column("date", sa.Date, primary_key=True),
    )
    op.create_index("booking_days_by_date", "booking_days", ["date"])
    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("order_id", sa.Uuid, sa.ForeignKey("bookings.order_id"), nullable=False),
        sa.Column("date", sa.Date, nullable=False),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("restaurant_id", sa.Uuid, nullable=False),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("phone", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("courier_id", sa.Uuid),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("order_id", "date", name="tasks_order_date"),
        sa.CheckConstraint("status IN ('waiting_kitchen', 'ready', 'picked_up', 'delivered')", name="tasks_status"),
    )
    op.create_index("tasks_by_status", "tasks", ["status", "date", "id"])
    op.create_table(
        "early_events",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("order_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("date", sa.Date),
        sa.Column("payload", JSONB, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("order_id", "kind", "date", name="early_events_fact",
                            postgresql_nulls_not_distinct=True),
    )


def downgrade() -> None:
    op.drop_table("early_events")
    op.drop_table("tasks")
    op.drop_table("booking_days")
    op.drop_table("bookings")
