"""restaurants and dishes, and the chassis tables

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from chassis.migrate import create_chassis_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_chassis_tables(op)
    op.create_table(
        "restaurants",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("name", sa.Text, nullable=False, unique=True),
        sa.Column("address", sa.Text, nullable=False),
        sa.Column("daily_capacity", sa.Integer, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )
    op.create_table(
        "dishes",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("restaurant_id", sa.Uuid, sa.ForeignKey("restaurants.id"), nullable=False, index=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("calories", sa.Integer, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("comment", sa.Text),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.Column("available", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("removed", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    )


def downgrade() -> None:
    op.drop_table("dishes")
    op.drop_table("restaurants")
