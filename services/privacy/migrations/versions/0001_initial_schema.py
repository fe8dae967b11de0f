"""initial schema: subject keys and tombstones, data-subject requests, the contracts replica, messaging

Revision ID: 0001
Revises:
Create Date: 2026-12-07 09:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from shared.db.migration_ops import (
    add_dead_letter_lifecycle_v1,
    create_messaging_tables_v1,
    drop_dead_letter_lifecycle_v1,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables_v1()
    add_dead_letter_lifecycle_v1()
    op.create_table(
        "subject_keys",
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("erasure_request_id", sa.Uuid(), nullable=True),
        sa.Column("restricted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("restriction_request_id", sa.Uuid(), nullable=True),
        sa.CheckConstraint("kind IN ('client', 'user')", name=op.f("ck_subject_keys_kind")),
        # A tombstone holds no key; a live subject's key is never dropped without one.
        sa.CheckConstraint("erased_at IS NULL OR wrapped_key IS NULL", name=op.f("ck_subject_keys_tombstone")),
        sa.PrimaryKeyConstraint("kind", "subject_id", name=op.f("pk_subject_keys")),
    )
    op.create_table(
        "requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("subject_kind", sa.String(length=10), nullable=False),
        sa.Column("subject_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("kept", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_requests")),
    )
    op.create_index("ix_requests_subject", "requests", ["subject_kind", "subject_id"])
    op.create_index("ix_requests_at", "requests", ["created_at"])
    op.create_table(
        "contracts",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", name=op.f("pk_contracts")),
    )
    op.create_index("ix_contracts_client", "contracts", ["client_id"])
    # The runtime role never deletes a tombstone or a request (the record of what was erased, and when).
    op.execute("REVOKE DELETE, TRUNCATE ON subject_keys, requests FROM privacy")


def downgrade() -> None:
    op.drop_index("ix_contracts_client", table_name="contracts")
    op.drop_table("contracts")
    op.drop_index("ix_requests_at", table_name="requests")
    op.drop_index("ix_requests_subject", table_name="requests")
    op.drop_table("requests")
    op.drop_table("subject_keys")
    drop_dead_letter_lifecycle_v1()
    op.drop_table("dead_letters")
    op.drop_table("inbox")
    op.drop_table("outbox")
