"""deal positions: `deals` keeps where each deal stands (stage, status, pipeline's version) for routing's
guard, and no longer copies the deal's title, line, owner or client (pipeline's events carry them)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-08 09:00:00
"""

from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deals", sa.Column("stage_key", sa.String(length=64), nullable=True))
    op.add_column("deals", sa.Column("version", sa.BigInteger(), nullable=True))
    for column in ("client_id", "title", "line_name", "owner_id"):
        op.drop_column("deals", column)
    # Where routing last put each open deal: the stage of its newest open automatic task. Deals routed before
    # without an opening event had no row; they get one. Versions stay unknown until the next versioned event.
    op.execute("""
        INSERT INTO deals (opportunity_id, stage_key, status)
        SELECT DISTINCT ON (opportunity_id) opportunity_id, stage_key, 'open' FROM tasks
        WHERE origin = 'auto' AND status IN ('open', 'in_progress', 'waiting')
          AND opportunity_id IS NOT NULL AND stage_key IS NOT NULL
        ORDER BY opportunity_id, number DESC
        ON CONFLICT (opportunity_id) DO UPDATE SET stage_key = EXCLUDED.stage_key WHERE deals.status = 'open'
    """)


def downgrade() -> None:
    # The copied fields come back empty: their values are gone.
    op.add_column("deals", sa.Column("owner_id", sa.Uuid(), nullable=True))
    op.add_column("deals", sa.Column("line_name", sa.String(length=120), nullable=True))
    op.add_column("deals", sa.Column("title", sa.String(length=300), server_default="", nullable=False))
    op.add_column("deals", sa.Column("client_id", sa.Uuid(), nullable=True))
    op.drop_column("deals", "version")
    op.drop_column("deals", "stage_key")
