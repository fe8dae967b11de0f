"""initial schema: documents and their versions, the replica of the records they belong to, messaging

Revision ID: 0001
Revises:
Create Date: 2026-12-07 06:00:00
"""

import sqlalchemy as sa
from alembic import op

from shared.db.migration_ops import (
    add_dead_letter_lifecycle_v1,
    create_messaging_tables_v1,
    drop_dead_letter_lifecycle_v1,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

OWNER_TYPES = "owner_type IN ('client', 'deal', 'task', 'contract')"


def upgrade() -> None:
    create_messaging_tables_v1()
    add_dead_letter_lifecycle_v1()
    op.create_table(
        "owner_records",
        sa.Column("owner_type", sa.String(length=10), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("stage_department_id", sa.Uuid(), nullable=True),
        sa.Column("person_id", sa.Uuid(), nullable=True),
        sa.Column("stage_key", sa.String(length=50), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(OWNER_TYPES, name=op.f("ck_owner_records_owner_type")),
        sa.PrimaryKeyConstraint("owner_type", "owner_id", name=op.f("pk_owner_records")),
    )
    op.create_index("ix_owner_records_client", "owner_records", ["client_id"])
    op.create_table(
        "documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_type", sa.String(length=10), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("document_type", sa.String(length=100), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_by", sa.Uuid(), nullable=True),
        sa.Column("delete_reason", sa.Text(), nullable=True),
        sa.CheckConstraint(OWNER_TYPES, name=op.f("ck_documents_owner_type")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_documents")),
    )
    op.create_index("ix_documents_owner", "documents", ["owner_type", "owner_id"])
    op.create_index("ix_documents_client", "documents", ["client_id"])
    op.create_table(
        "document_versions",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("storage_key", sa.String(length=200), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("size >= 0", name=op.f("ck_document_versions_size")),
        sa.CheckConstraint("version >= 1", name=op.f("ck_document_versions_version")),
        sa.ForeignKeyConstraint(
            ["document_id"], ["documents.id"], name=op.f("fk_document_versions_document_id_documents")
        ),
        sa.PrimaryKeyConstraint("document_id", "version", name=op.f("pk_document_versions")),
        sa.UniqueConstraint("storage_key", name=op.f("uq_document_versions_storage_key")),
    )


def downgrade() -> None:
    op.drop_table("document_versions")
    op.drop_index("ix_documents_client", table_name="documents")
    op.drop_index("ix_documents_owner", table_name="documents")
    op.drop_table("documents")
    op.drop_index("ix_owner_records_client", table_name="owner_records")
    op.drop_table("owner_records")
    drop_dead_letter_lifecycle_v1()
    op.drop_table("dead_letters")
    op.drop_table("inbox")
    op.drop_table("outbox")
