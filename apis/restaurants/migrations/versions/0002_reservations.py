"""reservations of portions for the order saga

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "reservations",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("restaurant_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("days", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_table(
        "reserved_portions",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("restaurant_id", sa.Uuid(), nullable=False),
        sa.Column("portions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "day"),
    )
    op.create_table(
        "prepared_days",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("prepared_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "day"),
    )
    op.create_table(
        "early_releases",
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("order_id"),
    )
    op.create_index(("ix_reservations_restaurant_id"), "reservations", ["restaurant_id"], unique=False)
    op.create_index("reserved_portions_restaurant_day", "reserved_portions", ["restaurant_id", "day"], unique=False)


def downgrade() -> None:
    for table in ("early_releases", "prepared_days", "reserved_portions", "reservations"):
        op.drop_table(table)
