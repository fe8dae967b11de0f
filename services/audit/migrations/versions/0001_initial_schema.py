"""initial schema: the append-only audit_records table

UPDATE, DELETE and TRUNCATE of audit_records are refused twice over: the runtime role `audit`
is granted SELECT and INSERT only, and triggers reject the statements for every role.

Revision ID: 0001
Revises:
Create Date: 2026-11-21 09:47:42.500869
"""

from alembic import op

from shared.db.migration_ops import create_messaging_tables_v1
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables_v1()
    op.create_table(
        "audit_records",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("event_version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("aggregate_type", sa.String(length=100), nullable=False),
        sa.Column("aggregate_id", sa.String(length=200), nullable=True),
        sa.Column("actor_type", sa.String(length=20), nullable=True),
        sa.Column("actor_id", sa.String(length=200), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("correlation_id", sa.String(length=128), nullable=True),
        sa.Column("causation_id", sa.String(length=128), nullable=True),
        sa.Column("trace_id", sa.String(length=32), nullable=True),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_records")),
        sa.UniqueConstraint("event_id", name=op.f("uq_audit_records_event_id")),
    )
    op.create_index("ix_audit_records_actor", "audit_records", ["actor_id", "occurred_at"], unique=False)
    op.create_index(
        "ix_audit_records_aggregate", "audit_records", ["aggregate_type", "aggregate_id", "occurred_at"], unique=False
    )
    op.create_index("ix_audit_records_occurred", "audit_records", ["occurred_at", "id"], unique=False)
    op.create_index("ix_audit_records_type", "audit_records", ["event_type", "occurred_at"], unique=False)
    op.execute("""
        CREATE FUNCTION audit_records_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_records is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
        END;
        $$
    """)
    op.execute("""
        CREATE TRIGGER audit_records_no_update_delete BEFORE UPDATE OR DELETE ON audit_records
        FOR EACH ROW EXECUTE FUNCTION audit_records_refuse_change()
    """)
    op.execute("""
        CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
        FOR EACH STATEMENT EXECUTE FUNCTION audit_records_refuse_change()
    """)
    # The runtime role keeps SELECT and INSERT only (default privileges had granted more).
    op.execute("REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON audit_records FROM audit")
    op.execute("GRANT SELECT, INSERT ON audit_records TO audit")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_records_no_truncate ON audit_records")
    op.execute("DROP TRIGGER IF EXISTS audit_records_no_update_delete ON audit_records")
    op.execute("DROP FUNCTION IF EXISTS audit_records_refuse_change()")
    op.drop_index("ix_outbox_unpublished", table_name="outbox", postgresql_where=sa.text("published_at IS NULL"))
    op.drop_table("outbox")
    op.drop_table("inbox")
    op.drop_table("dead_letters")
    op.drop_index("ix_audit_records_type", table_name="audit_records")
    op.drop_index("ix_audit_records_occurred", table_name="audit_records")
    op.drop_index("ix_audit_records_aggregate", table_name="audit_records")
    op.drop_index("ix_audit_records_actor", table_name="audit_records")
    op.drop_table("audit_records")
