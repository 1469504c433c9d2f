"""wallets, ledger, order copies and payments, and the chassis tables

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
        "wallets",
        sa.Column("user_id", sa.Uuid, primary_key=True),
        sa.Column("balance", sa.BigInteger, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("balance >= 0", name="wallets_balance_not_negative"),
    )
    op.create_table(
        "ledger",
        sa.Column("id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("order_id", sa.Uuid),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("kind IN ('deposit', 'charge', 'refund')", name="ledger_kind"),
        sa.CheckConstraint("amount >= 0", name="ledger_amount_not_negative"),
    )
    op.create_index("ledger_user", "ledger", ["user_id"])
    op.create_table(
        "order_copies",
        sa.Column("order_id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("total", sa.BigInteger),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('awaiting', 'closed')", name="order_copies_status"),
    )
    op.create_table(
        "payments",
        sa.Column("order_id", sa.Uuid, primary_key=True),
        sa.Column("user_id", sa.Uuid, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.CheckConstraint("status IN ('succeeded', 'failed', 'refunded')", name="payments_status"),
    )


def downgrade() -> None:
    op.drop_table("payments")
    op.drop_table("order_copies")
    op.drop_index("ledger_user", "ledger")
    op.drop_table("ledger")
    op.drop_table("wallets")
