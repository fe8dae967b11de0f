"""renewals: a contract names the one it renews, where each contract's renewal deal stands (from pipeline's
events) for the renewal workbench, and the once-only "renewal at risk" notices

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 07:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("contracts", sa.Column("renews_contract_id", sa.Uuid(), nullable=True))
    op.create_index(op.f("ix_contracts_renews_contract_id"), "contracts", ["renews_contract_id"])
    op.create_table(
        "renewals",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("stage_key", sa.String(40), nullable=False),
        sa.Column("deal_status", sa.String(10), nullable=False),
        sa.Column("proposed_premium", sa.Numeric(16, 2), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", name=op.f("pk_renewals")),
        sa.UniqueConstraint("opportunity_id", name=op.f("uq_renewals_opportunity_id")),
    )
    op.create_table(
        "renewal_risk_notices",
        sa.Column("contract_id", sa.Uuid(), nullable=False),
        sa.Column("days_left", sa.Integer(), nullable=False),
        sa.Column("noticed_on", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("contract_id", name=op.f("pk_renewal_risk_notices")),
    )


def downgrade() -> None:
    op.drop_table("renewal_risk_notices")
    op.drop_table("renewals")
    op.drop_index(op.f("ix_contracts_renews_contract_id"), table_name="contracts")
    op.drop_column("contracts", "renews_contract_id")
