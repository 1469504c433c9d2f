"""orders, saga history, copies, and the chassis tables

Revision ID: 0001
Revises:
"""

from alembic import op

from apis.orders.models import metadata
from chassis.migrate import create_chassis_tables

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_chassis_tables(op)
    # The first revision creates the tables as models.py defines them today; later revisions
    # are written out as explicit operations.
    metadata.create_all(op.get_bind())


def downgrade() -> None:
    metadata.drop_all(op.get_bind())
