"""referrals: Admin-configured referral rules, the referrals that hold a deal's contract before issue or an
endorsement before binding for a Manager's decision, and the insured's country in the clients replica (known from
the next client event; a rule on country cannot match a client known only from before)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("known_clients", sa.Column("country", sa.String(2), nullable=True))
    op.create_table(
        "referral_rules",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("condition", sa.String(30), nullable=False),
        sa.Column("line_id", sa.Uuid(), nullable=True),
        sa.Column("threshold", sa.Numeric(16, 2), nullable=True),
        sa.Column("countries", postgresql.JSONB(), server_default=sa.text("'[]'::jsonb"), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            "condition IN ('premium_above', 'sum_insured_above', 'country_in', 'deductible_below')",
            name=op.f("ck_referral_rules_condition"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referral_rules")),
    )
    op.create_table(
        "referrals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.String(20), nullable=False),
        sa.Column("endorsement_id", sa.Uuid(), nullable=True),
        sa.Column("fired", postgresql.JSONB(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("step IN ('issuance', 'endorsement')", name=op.f("ck_referrals_step")),
        sa.CheckConstraint("status IN ('pending', 'approved', 'declined')", name=op.f("ck_referrals_status")),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_referrals_contract_id_contracts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_referrals")),
    )
    op.create_index(op.f("ix_referrals_contract_id"), "referrals", ["contract_id"])
    op.create_index(
        "uq_referrals_pending",
        "referrals",
        ["contract_id"],
        unique=True,
        postgresql_where=sa.text("status = 'pending'"),
    )


def downgrade() -> None:
    op.drop_index("uq_referrals_pending", table_name="referrals")
    op.drop_index(op.f("ix_referrals_contract_id"), table_name="referrals")
    op.drop_table("referrals")
    op.drop_table("referral_rules")
    op.drop_column("known_clients", "country")
