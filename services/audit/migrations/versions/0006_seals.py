"""seal: each record's HMAC-SHA256 of its hash under the chain key (AUDIT_CHAIN_KEY, kept outside the database),
so a record chained on by anyone without the key (the runtime role included) fails verify. Records written before
are left unsealed (the table is append-only); sealing starts with the first record written with the key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 06:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_records", sa.Column("seal", sa.String(64), nullable=True))
    op.create_index("ix_audit_records_sealed", "audit_records", ["seq"], postgresql_where=sa.text("seal IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_audit_records_sealed", table_name="audit_records", postgresql_where=sa.text("seal IS NOT NULL"))
    op.drop_column("audit_records", "seal")
