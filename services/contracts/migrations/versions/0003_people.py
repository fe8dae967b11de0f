"""people: the identity replica (known_users, known_departments), so a contract's specialist is checked to be an
active colleague

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-12 09:00:00
"""

from alembic import op

from shared.db.migration_ops import create_people_tables_v1

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_people_tables_v1()


def downgrade() -> None:
    op.drop_table("known_departments")
    op.drop_index(op.f("ix_known_users_department_id"), table_name="known_users")
    op.drop_table("known_users")
