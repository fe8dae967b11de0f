"""initial schema: lines, stages (with the nine defaults), opportunities, stage history, replicas, messaging

Revision ID: 0001
Revises:
Create Date: 2026-11-21 10:30:00
"""

from alembic import op

from shared.db.migration_ops import create_messaging_tables_v1, create_people_tables_v1
import sqlalchemy as sa

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The defaults as they were when this revision was written (rules.DEFAULT_STAGES may change later).
DEFAULT_STAGES = (
    ("first_contact", "First Contact", 1, 8.0),
    ("needs_analysis", "Needs Analysis", 2, 16.0),
    ("material_gathering", "Material Gathering", 3, 24.0),
    ("technical_assignment", "Technical Assignment", 4, 8.0),
    ("quote_preparation", "Quote Preparation", 5, 24.0),
    ("proposal_sent", "Proposal Sent", 6, 16.0),
    ("client_decision", "Client Decision", 7, 40.0),
    ("policy_issuance", "Policy Issuance", 8, 16.0),
    ("completion", "Completion", 9, 8.0),
)


def upgrade() -> None:
    create_messaging_tables_v1()
    create_people_tables_v1()
    op.create_table(
        "known_clients",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_clients")),
    )
    stages = op.create_table(
        "stages",
        sa.Column("key", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("sla_hours", sa.Float(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("sla_hours > 0", name=op.f("ck_stages_sla_positive")),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_stages")),
    )
    op.bulk_insert(
        stages,
        [{"key": k, "name": n, "position": p, "sla_hours": h, "department_id": None} for k, n, p, h in DEFAULT_STAGES],
    )
    op.create_table(
        "lines",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("specialist_id", sa.Uuid(), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lines")),
        sa.UniqueConstraint("name", name=op.f("uq_lines_name")),
    )
    op.create_table(
        "opportunities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("line_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("expected_premium", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("stage_key", sa.String(length=40), nullable=False),
        sa.Column("stage_entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("premium", sa.Numeric(precision=16, scale=2), nullable=True),
        sa.Column("premium_currency", sa.String(length=3), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("insurer", sa.String(length=200), nullable=True),
        sa.Column("decline_reason", sa.Text(), nullable=True),
        sa.Column("contract_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'won', 'lost')", name=op.f("ck_opportunities_status")),
        sa.ForeignKeyConstraint(["line_id"], ["lines.id"], name=op.f("fk_opportunities_line_id_lines")),
        sa.ForeignKeyConstraint(["stage_key"], ["stages.key"], name=op.f("fk_opportunities_stage_key_stages")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
    )
    op.create_index(op.f("ix_opportunities_client_id"), "opportunities", ["client_id"], unique=False)
    op.create_index(op.f("ix_opportunities_line_id"), "opportunities", ["line_id"], unique=False)
    op.create_index(op.f("ix_opportunities_owner_id"), "opportunities", ["owner_id"], unique=False)
    op.create_index(op.f("ix_opportunities_department_id"), "opportunities", ["department_id"], unique=False)
    op.create_index("ix_opportunities_stage_status", "opportunities", ["stage_key", "status"], unique=False)
    op.create_index("ix_opportunities_created", "opportunities", ["created_at", "id"], unique=False)
    op.create_table(
        "stage_moves",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("from_stage", sa.String(length=40), nullable=True),
        sa.Column("to_stage", sa.String(length=40), nullable=True),
        sa.Column("actor", sa.String(length=250), nullable=False),
        sa.Column("moved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds_in_stage", sa.Float(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("status_after", sa.String(length=10), nullable=False),
        sa.CheckConstraint("kind IN ('opened', 'forward', 'back', 'declined')", name=op.f("ck_stage_moves_kind")),
        sa.ForeignKeyConstraint(
            ["opportunity_id"], ["opportunities.id"], name=op.f("fk_stage_moves_opportunity_id_opportunities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stage_moves")),
    )
    op.create_index("ix_stage_moves_opportunity", "stage_moves", ["opportunity_id", "moved_at", "id"], unique=False)
    op.create_index("ix_stage_moves_from_stage", "stage_moves", ["from_stage", "kind"], unique=False)


def downgrade() -> None:
    for table in (
        "stage_moves",
        "opportunities",
        "lines",
        "stages",
        "known_clients",
        "known_departments",
        "known_users",
        "outbox",
        "inbox",
        "dead_letters",
    ):
        op.drop_table(table)
