"""dead letter lifecycle: each parked letter says why it was parked and what became of it (replayed or
discarded, when, by whom, why), and counts its replay attempts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-10 09:00:00
"""

from shared.db.migration_ops import add_dead_letter_lifecycle_v1, drop_dead_letter_lifecycle_v1

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_dead_letter_lifecycle_v1()


def downgrade() -> None:
    drop_dead_letter_lifecycle_v1()
