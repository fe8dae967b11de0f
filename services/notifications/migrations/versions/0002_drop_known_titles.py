"""drop known titles: the events a notification is made from carry the title of what it is about

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08 09:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("known_titles")


def downgrade() -> None:
    # The table comes back empty: the titles it held are gone.
    op.create_table(
        "known_titles",
        sa.Column("resource_type", sa.String(length=40), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("resource_type", "resource_id", name=op.f("pk_known_titles")),
    )
