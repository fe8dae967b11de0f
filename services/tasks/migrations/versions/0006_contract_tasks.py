"""contract tasks: a task may be about a contract (an endorsement for Policy Administration to bind), at most
one open automatic task per contract and kind of work

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 06:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("contract_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_tasks_contract_id"), "tasks", ["contract_id"])
    op.create_index(
        "uq_tasks_open_auto_contract",
        "tasks",
        ["contract_id", "stage_key"],
        unique=True,
        postgresql_where=sa.text(
            "origin = 'auto' AND contract_id IS NOT NULL AND status IN ('open', 'in_progress', 'waiting')"
        ),
    )


def downgrade() -> None:
    op.drop_index("uq_tasks_open_auto_contract", table_name="tasks")
    op.drop_index(op.f("ix_tasks_contract_id"), table_name="tasks")
    op.drop_column("tasks", "contract_id")
