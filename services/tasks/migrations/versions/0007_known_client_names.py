"""known client names: the name of each client (from `clients.client.events`), which tasks show and an erasure of
the person (`privacy.subject.erased`) takes out of the tasks' text

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("known_clients", sa.Column("name", sa.String(300), nullable=True))


def downgrade() -> None:
    op.drop_column("known_clients", "name")
