"""renewal deals: a deal may renew a contract (opened at the contract's renewal window), one per contract

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 07:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("opportunities", sa.Column("renews_contract_id", sa.Uuid(), nullable=True))
    op.create_unique_constraint(op.f("uq_opportunities_renews_contract_id"), "opportunities", ["renews_contract_id"])


def downgrade() -> None:
    op.drop_constraint(op.f("uq_opportunities_renews_contract_id"), "opportunities", type_="unique")
    op.drop_column("opportunities", "renews_contract_id")
