"""a department's deals newest first off one index: (department_id, created_at DESC, id) replaces the index on
department_id alone (which it serves too). Before, the list's page (`GET /api/v1/opportunities?department_id=...`,
newest first) read the department's deals through ix_opportunities_created and filtered them, or sorted them all

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 12:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_opportunities_department_created",
        "opportunities",
        ["department_id", sa.text("created_at DESC"), "id"],
        unique=False,
    )
    op.drop_index(op.f("ix_opportunities_department_id"), table_name="opportunities")


def downgrade() -> None:
    op.create_index(op.f("ix_opportunities_department_id"), "opportunities", ["department_id"], unique=False)
    op.drop_index("ix_opportunities_department_created", table_name="opportunities")
