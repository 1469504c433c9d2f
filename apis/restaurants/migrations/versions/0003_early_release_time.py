"""early releases get the time they were recorded, so they can be pruned

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("early_releases", sa.Column("recorded_at", sa.DateTime(timezone=True),
                                              server_default=sa.text("now()"), nullable=False))


def downgrade() -> None:
    op.drop_column("early_releases", "recorded_at")
