"""checklists: the replicas of the documents service's stage checklists and deal documents, with the checklists
a new installation starts with (the documents service's own defaults)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# As the documents service's migration 0002 seeds them (its events carry every later change).
DEFAULTS = {
    "material_gathering": [["proof_of_identity", "company_registration"], ["previous_policy"], ["risk_questionnaire"]],
    "policy_issuance": [["signed_proposal"]],
}


def upgrade() -> None:
    table = op.create_table(
        "known_checklists",
        sa.Column("stage_key", sa.String(length=50), nullable=False),
        sa.Column("requirements", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("auto_advance", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("stage_key", name=op.f("pk_known_checklists")),
    )
    op.bulk_insert(
        table, [{"stage_key": key, "requirements": value, "auto_advance": False} for key, value in DEFAULTS.items()]
    )
    op.create_table(
        "deal_documents",
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("document_type", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_deal_documents")),
    )
    op.create_index(op.f("ix_deal_documents_opportunity_id"), "deal_documents", ["opportunity_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_deal_documents_opportunity_id"), table_name="deal_documents")
    op.drop_table("deal_documents")
    op.drop_table("known_checklists")
