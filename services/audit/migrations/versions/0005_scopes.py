"""audit_scopes: the department each aggregate belongs to, so a Manager reads only their department's records;
filled from the records already chained (the latest record of each aggregate that names a department)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-07 06:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The department a record names for its aggregate: a department is its own; else the event's `department_id`, or
# the `after` of a `department_id` change (null: the aggregate belongs to none). Records that name none: NULL key.
_NAMED = """
    CASE
        WHEN aggregate_type = 'identity.department' THEN to_jsonb(aggregate_id)
        WHEN data ? 'department_id' THEN data -> 'department_id'
        ELSE data -> 'changes' -> 'department_id' -> 'after'
    END
"""
_NAMES = """
    (aggregate_type = 'identity.department' OR data ? 'department_id'
     OR jsonb_typeof(data -> 'changes') = 'object' AND (data -> 'changes') ? 'department_id')
"""
_UUID = "'^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'"


def upgrade() -> None:
    op.create_table(
        "audit_scopes",
        sa.Column("aggregate_type", sa.String(100), primary_key=True),
        sa.Column("aggregate_id", sa.String(200), primary_key=True),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_audit_scopes_department", "audit_scopes", ["department_id"])
    op.execute(
        f"""
        INSERT INTO audit_scopes (aggregate_type, aggregate_id, department_id, seq)
        SELECT aggregate_type, aggregate_id,
               CASE WHEN jsonb_typeof(named) = 'string' AND named #>> '{{}}' ~ {_UUID} THEN (named #>> '{{}}')::uuid END,
               seq
        FROM (
            SELECT DISTINCT ON (aggregate_type, aggregate_id) aggregate_type, aggregate_id, seq, {_NAMED} AS named
            FROM audit_records
            WHERE aggregate_id IS NOT NULL AND {_NAMES}
            ORDER BY aggregate_type, aggregate_id, seq DESC
        ) latest
        """
    )


def downgrade() -> None:
    op.drop_index("ix_audit_scopes_department", table_name="audit_scopes")
    op.drop_table("audit_scopes")
