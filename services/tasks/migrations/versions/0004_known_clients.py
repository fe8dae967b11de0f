"""known clients: which department owns each client (from `clients.client.events`), so a ticket links only a
client, and a deal, its opener may see

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-12 09:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "known_clients",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("department_id", sa.UUID(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_clients")),
    )


def downgrade() -> None:
    op.drop_table("known_clients")
