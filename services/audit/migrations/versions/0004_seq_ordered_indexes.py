"""seq-ordered indexes: the record list, a client's history and the export are read in `seq` order (the chain's
order), so the filters' indexes end in `seq` rather than `occurred_at`

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 03:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_CLIENT = sa.text("client_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("ix_audit_records_aggregate", table_name="audit_records")
    op.drop_index("ix_audit_records_actor", table_name="audit_records")
    op.drop_index("ix_audit_records_type", table_name="audit_records")
    op.drop_index("ix_audit_records_client", table_name="audit_records", postgresql_where=_CLIENT)
    op.create_index("ix_audit_records_aggregate", "audit_records", ["aggregate_type", "aggregate_id", "seq"])
    op.create_index("ix_audit_records_actor", "audit_records", ["actor_id", "seq"])
    op.create_index("ix_audit_records_type", "audit_records", ["event_type", "seq"])
    op.create_index("ix_audit_records_client", "audit_records", ["client_id", "seq"], postgresql_where=_CLIENT)


def downgrade() -> None:
    op.drop_index("ix_audit_records_aggregate", table_name="audit_records")
    op.drop_index("ix_audit_records_actor", table_name="audit_records")
    op.drop_index("ix_audit_records_type", table_name="audit_records")
    op.drop_index("ix_audit_records_client", table_name="audit_records", postgresql_where=_CLIENT)
    op.create_index("ix_audit_records_aggregate", "audit_records", ["aggregate_type", "aggregate_id", "occurred_at"])
    op.create_index("ix_audit_records_actor", "audit_records", ["actor_id", "occurred_at"])
    op.create_index("ix_audit_records_type", "audit_records", ["event_type", "occurred_at"])
    op.create_index(
        "ix_audit_records_client", "audit_records", ["client_id", "occurred_at", "id"], postgresql_where=_CLIENT
    )
