"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 10:06:33.195356
"""

from alembic import op

from shared.db.migration_ops import create_messaging_tables_v1
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables_v1()
    op.create_table(
        "contracts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=True),
        sa.Column("line_id", sa.Uuid(), nullable=True),
        sa.Column("line_name", sa.String(length=200), nullable=True),
        sa.Column("specialist_id", sa.Uuid(), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("premium", sa.Numeric(precision=16, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("insurer", sa.String(length=200), nullable=True),
        sa.Column("policy_number", sa.String(length=100), nullable=True),
        sa.Column("issue_date", sa.Date(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("cancel_effective_date", sa.Date(), nullable=True),
        sa.Column("refund", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("currency ~ '^[A-Z]{3}$'", name=op.f("ck_contracts_currency")),
        sa.CheckConstraint("origin IN ('deal', 'manual')", name=op.f("ck_contracts_origin")),
        sa.CheckConstraint(
            "status IN ('pending_issuance', 'issued', 'active', 'expired', 'cancelled')",
            name=op.f("ck_contracts_status"),
        ),
        sa.CheckConstraint("premium > 0", name=op.f("ck_contracts_premium_positive")),
        sa.CheckConstraint("start_date < end_date", name=op.f("ck_contracts_period")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("opportunity_id", name=op.f("uq_contracts_opportunity_id")),
        sa.UniqueConstraint("policy_number", name=op.f("uq_contracts_policy_number")),
    )
    op.create_index(op.f("ix_contracts_client_id"), "contracts", ["client_id"], unique=False)
    op.create_index("ix_contracts_scan", "contracts", ["status", "end_date"], unique=False)
    op.create_index(op.f("ix_contracts_specialist_id"), "contracts", ["specialist_id"], unique=False)
    op.create_table(
        "known_clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=True),
        sa.Column("archived", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_clients")),
    )
    op.create_index(op.f("ix_known_clients_department_id"), "known_clients", ["department_id"], unique=False)
    op.create_table(
        "renewal_notices",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("days_before_end", sa.Integer(), nullable=False),
        sa.Column("noticed_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", name=op.f("pk_renewal_notices")),
    )


def downgrade() -> None:
    op.drop_table("renewal_notices")
    op.drop_index("ix_outbox_unpublished", table_name="outbox", postgresql_where=sa.text("published_at IS NULL"))
    op.drop_table("outbox")
    op.drop_index(op.f("ix_known_clients_department_id"), table_name="known_clients")
    op.drop_table("known_clients")
    op.drop_table("inbox")
    op.drop_table("dead_letters")
    op.drop_index(op.f("ix_contracts_specialist_id"), table_name="contracts")
    op.drop_index("ix_contracts_scan", table_name="contracts")
    op.drop_index(op.f("ix_contracts_client_id"), table_name="contracts")
    op.drop_table("contracts")
