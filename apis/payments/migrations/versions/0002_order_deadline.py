"""the payment deadline in payments' order copies (OrderAwaitingPayment.expires_at)

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: copies made before orders sent the deadline have none, and are judged without one.
    op.add_column("order_copies", sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("order_copies", "expires_at")
