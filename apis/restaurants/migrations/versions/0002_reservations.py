"""reservations of portions for the order saga

Revision ID: 0002
Revises: 0001
"""

from alembic import op

from apis.restaurants.models import early_releases, prepared_days, reservations, reserved_portions

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = (reservations, reserved_portions, prepared_days, early_releases)


def upgrade() -> None:
    for table in TABLES:
        table.create(op.get_bind())


def downgrade() -> None:
    for table in reversed(TABLES):
        table.drop(op.get_bind())
