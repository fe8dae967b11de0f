"""contract versions and endorsements: a contract becomes a sequence of immutable versions (base, endorsement,
cancellation, reinstatement) with their terms and premium deltas; endorsement requests; the contract keeps its
current terms (sum insured, deductible, covered items), version number and cancellation method. Every existing
contract gets its base version (its terms from the start date, the whole premium as delta), and a cancelled one
its pro-rata cancellation version (the stored refund as a negative delta).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 06:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_EMPTY = sa.text("'[]'::jsonb")


def upgrade() -> None:
    op.add_column("contracts", sa.Column("sum_insured", sa.Numeric(16, 2), nullable=True))
    op.add_column("contracts", sa.Column("deductible", sa.Numeric(16, 2), nullable=True))
    op.add_column("contracts", sa.Column("covered_items", postgresql.JSONB(), server_default=_EMPTY, nullable=False))
    op.add_column("contracts", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False))
    op.add_column("contracts", sa.Column("cancel_method", sa.String(20), nullable=True))
    op.add_column("contracts", sa.Column("reinstated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "contract_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("premium", sa.Numeric(16, 2), nullable=False),
        sa.Column("sum_insured", sa.Numeric(16, 2), nullable=True),
        sa.Column("deductible", sa.Numeric(16, 2), nullable=True),
        sa.Column("covered_items", postgresql.JSONB(), server_default=_EMPTY, nullable=False),
        sa.Column("insurer", sa.String(200), nullable=True),
        sa.Column("delta", sa.Numeric(16, 2), nullable=False),
        sa.Column("days_remaining", sa.Integer(), nullable=False),
        sa.Column("days_in_term", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("cancellation_method", sa.String(20), nullable=True),
        sa.Column("refund", sa.Numeric(16, 2), nullable=True),
        sa.Column("status_before", sa.String(20), nullable=True),
        sa.Column("endorsement_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "kind IN ('base', 'endorsement', 'cancellation', 'reinstatement')", name=op.f("ck_contract_versions_kind")
        ),
        sa.CheckConstraint("premium > 0", name=op.f("ck_contract_versions_premium_positive")),
        sa.CheckConstraint("sum_insured IS NULL OR sum_insured >= 0", name=op.f("ck_contract_versions_sum_insured")),
        sa.CheckConstraint("deductible IS NULL OR deductible >= 0", name=op.f("ck_contract_versions_deductible")),
        sa.CheckConstraint(
            "cancellation_method IS NULL OR cancellation_method IN ('pro_rata', 'short_rate', 'flat')",
            name=op.f("ck_contract_versions_cancellation_method"),
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"], ["contracts.id"], name=op.f("fk_contract_versions_contract_id_contracts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_versions")),
        sa.UniqueConstraint("contract_id", "number", name=op.f("uq_contract_versions_contract_number")),
    )
    op.create_index(op.f("ix_contract_versions_contract_id"), "contract_versions", ["contract_id"])
    # Versions are history: written once, never changed or removed.
    op.execute(
        """
        CREATE FUNCTION contract_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'contract versions are immutable (% refused)', TG_OP;
        END $$
        """
    )
    op.execute(
        "CREATE TRIGGER contract_versions_immutable BEFORE UPDATE OR DELETE ON contract_versions"
        " FOR EACH ROW EXECUTE FUNCTION contract_versions_immutable()"
    )
    op.create_table(
        "endorsements",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("effective_date", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("premium", sa.Numeric(16, 2), nullable=False),
        sa.Column("sum_insured", sa.Numeric(16, 2), nullable=True),
        sa.Column("deductible", sa.Numeric(16, 2), nullable=True),
        sa.Column("covered_items", postgresql.JSONB(), server_default=_EMPTY, nullable=False),
        sa.Column("insurer", sa.String(200), nullable=True),
        sa.Column("based_on_version", sa.Integer(), nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=True),
        sa.Column("requested_by", sa.String(200), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('requested', 'bound', 'withdrawn')", name=op.f("ck_endorsements_status")),
        sa.CheckConstraint("premium > 0", name=op.f("ck_endorsements_premium_positive")),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_endorsements_contract_id_contracts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_endorsements")),
    )
    op.create_index(op.f("ix_endorsements_contract_id"), "endorsements", ["contract_id"])
    op.create_index(
        "uq_endorsements_open",
        "endorsements",
        ["contract_id"],
        unique=True,
        postgresql_where=sa.text("status = 'requested'"),
    )
    # Every contract so far: its base version, and its cancellation if it was cancelled (always pro rata then).
    op.execute(
        """
        INSERT INTO contract_versions (id, contract_id, number, kind, effective_date, premium, insurer, delta,
                                       days_remaining, days_in_term, created_by, created_at)
        SELECT gen_random_uuid(), id, 1, 'base', start_date, premium, insurer, premium,
               end_date - start_date, end_date - start_date, created_by, created_at
        FROM contracts
        """
    )
    op.execute(
        """
        INSERT INTO contract_versions (id, contract_id, number, kind, effective_date, premium, insurer, delta,
                                       days_remaining, days_in_term, reason, cancellation_method, refund,
                                       created_at)
        SELECT gen_random_uuid(), id, 2, 'cancellation', cancel_effective_date, premium, insurer, -refund,
               end_date - cancel_effective_date, end_date - start_date, cancel_reason, 'pro_rata', refund,
               coalesce(cancelled_at, updated_at)
        FROM contracts
        WHERE status = 'cancelled' AND refund IS NOT NULL AND cancel_effective_date IS NOT NULL
        """
    )
    op.execute(
        "UPDATE contracts SET version = 2, cancel_method = 'pro_rata'"
        " WHERE status = 'cancelled' AND refund IS NOT NULL AND cancel_effective_date IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_index("uq_endorsements_open", table_name="endorsements")
    op.drop_index(op.f("ix_endorsements_contract_id"), table_name="endorsements")
    op.drop_table("endorsements")
    op.drop_index(op.f("ix_contract_versions_contract_id"), table_name="contract_versions")
    op.drop_table("contract_versions")
    op.execute("DROP FUNCTION contract_versions_immutable()")
    for column in ("reinstated_at", "cancel_method", "version", "covered_items", "deductible", "sum_insured"):
        op.drop_column("contracts", column)
