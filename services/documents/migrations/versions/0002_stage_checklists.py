"""stage checklists: the documents a deal needs before it leaves a stage, with the defaults of a new installation

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# As shared.contracts.documents.DEFAULT_CHECKLISTS was when this revision was written (a revision never changes).
DEFAULTS = {
    "material_gathering": [["proof_of_identity", "company_registration"], ["previous_policy"], ["risk_questionnaire"]],
    "policy_issuance": [["signed_proposal"]],
}


def upgrade() -> None:
    table = op.create_table(
        "stage_checklists",
        sa.Column("stage_key", sa.String(length=50), nullable=False),
        sa.Column("requirements", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("auto_advance", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("stage_key", name=op.f("pk_stage_checklists")),
    )
    op.bulk_insert(
        table,
        [{"stage_key": key, "requirements": value, "auto_advance": False} for key, value in DEFAULTS.items()],
    )


def downgrade() -> None:
    op.drop_table("stage_checklists")
