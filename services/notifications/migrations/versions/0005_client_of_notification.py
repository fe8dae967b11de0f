"""client of a notification: the client its source event named, so an erasure of the person
(`privacy.subject.erased`) finds the notifications that named them; the clients erased, so a notification made
later from an event about them still on its way is written erased

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("client_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_notifications_client_id"), "notifications", ["client_id"])
    op.create_table(
        "erased_clients",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_erased_clients")),
    )


def downgrade() -> None:
    op.drop_table("erased_clients")
    op.drop_index(op.f("ix_notifications_client_id"), table_name="notifications")
    op.drop_column("notifications", "client_id")
