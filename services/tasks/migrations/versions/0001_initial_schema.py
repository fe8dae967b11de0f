"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-21 10:09:06.640987
"""

from alembic import op

from shared.db.migration_ops import create_messaging_tables_v1, create_people_tables_v1
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_messaging_tables_v1()
    create_people_tables_v1()
    # Orders assignments for routing's tie-break (autogenerate does not see sequences).
    op.execute(sa.schema.CreateSequence(sa.Sequence("assignment_seq")))
    op.create_table(
        "assignee_stats",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_assignment_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_assignee_stats")),
    )
    op.create_table(
        "deals",
        sa.Column("opportunity_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("line_name", sa.String(length=120), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=10), server_default="open", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("opportunity_id", name=op.f("pk_deals")),
    )
    op.create_table(
        "tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(length=10), nullable=False),
        sa.Column("opportunity_id", sa.Uuid(), nullable=True),
        sa.Column("client_id", sa.Uuid(), nullable=True),
        sa.Column("stage_key", sa.String(length=64), nullable=True),
        sa.Column("department_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("assignment_reason", sa.Text(), nullable=True),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sla_hours", sa.Float(), nullable=True),
        sa.Column("yellow_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sla_state", sa.String(length=10), server_default="green", nullable=False),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("escalated_to", sa.Uuid(), nullable=True),
        sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_stale_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stale_period", sa.Integer(), server_default="0", nullable=False),
        sa.Column("comments_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("origin IN ('auto', 'manual')", name=op.f("ck_tasks_origin")),
        sa.CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name=op.f("ck_tasks_priority")),
        sa.CheckConstraint("sla_state IN ('green', 'yellow', 'red')", name=op.f("ck_tasks_sla_state")),
        sa.CheckConstraint(
            "status IN ('open', 'in_progress', 'waiting', 'done', 'cancelled')", name=op.f("ck_tasks_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
        sa.UniqueConstraint("number", name=op.f("uq_tasks_number")),
    )
    op.create_index(
        "ix_tasks_assignee_active",
        "tasks",
        ["assignee_id", "priority"],
        unique=False,
        postgresql_where=sa.text("status IN ('open', 'in_progress', 'waiting')"),
    )
    op.create_index(op.f("ix_tasks_assignee_id"), "tasks", ["assignee_id"], unique=False)
    op.create_index(op.f("ix_tasks_client_id"), "tasks", ["client_id"], unique=False)
    op.create_index("ix_tasks_department_number", "tasks", ["department_id", "number"], unique=False)
    op.create_index(op.f("ix_tasks_opportunity_id"), "tasks", ["opportunity_id"], unique=False)
    op.create_index(
        "ix_tasks_sla_watch",
        "tasks",
        ["yellow_at", "due_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('open', 'in_progress', 'waiting')"),
    )
    op.create_index(
        "ix_tasks_stale_watch",
        "tasks",
        ["next_stale_at"],
        unique=False,
        postgresql_where=sa.text("status IN ('open', 'in_progress', 'waiting')"),
    )
    op.create_index(
        "uq_tasks_open_auto_stage",
        "tasks",
        ["opportunity_id", "stage_key"],
        unique=True,
        postgresql_where=sa.text("origin = 'auto' AND status IN ('open', 'in_progress', 'waiting')"),
    )
    op.create_table(
        "work_calendar",
        sa.Column("id", sa.SmallInteger(), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=200), nullable=True),
        sa.CheckConstraint("id = 1", name=op.f("ck_work_calendar_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_calendar")),
    )
    op.create_table(
        "task_comments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("author_id", sa.Uuid(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_comments_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_comments")),
    )
    op.create_index("ix_task_comments_task_created", "task_comments", ["task_id", "created_at"], unique=False)
    op.create_table(
        "task_stale_reminders",
        sa.Column("task_id", sa.Uuid(), nullable=False),
        sa.Column("idle_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("idle_working_hours", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["task_id"], ["tasks.id"], name=op.f("fk_task_stale_reminders_task_id_tasks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("task_id", "idle_since", "period", name=op.f("pk_task_stale_reminders")),
    )


def downgrade() -> None:
    op.drop_table("task_stale_reminders")
    op.drop_index("ix_task_comments_task_created", table_name="task_comments")
    op.drop_table("task_comments")
    op.drop_table("work_calendar")
    op.drop_index(
        "uq_tasks_open_auto_stage",
        table_name="tasks",
        postgresql_where=sa.text("origin = 'auto' AND status IN ('open', 'in_progress', 'waiting')"),
    )
    op.drop_index(
        "ix_tasks_stale_watch",
        table_name="tasks",
        postgresql_where=sa.text("status IN ('open', 'in_progress', 'waiting')"),
    )
    op.drop_index(
        "ix_tasks_sla_watch",
        table_name="tasks",
        postgresql_where=sa.text("status IN ('open', 'in_progress', 'waiting')"),
    )
    op.drop_index(op.f("ix_tasks_opportunity_id"), table_name="tasks")
    op.drop_index("ix_tasks_department_number", table_name="tasks")
    op.drop_index(op.f("ix_tasks_client_id"), table_name="tasks")
    op.drop_index(op.f("ix_tasks_assignee_id"), table_name="tasks")
    op.drop_index(
        "ix_tasks_assignee_active",
        table_name="tasks",
        postgresql_where=sa.text("status IN ('open', 'in_progress', 'waiting')"),
    )
    op.drop_table("tasks")
    op.drop_index("ix_outbox_unpublished", table_name="outbox", postgresql_where=sa.text("published_at IS NULL"))
    op.drop_table("outbox")
    op.drop_index(op.f("ix_known_users_department_id"), table_name="known_users")
    op.drop_table("known_users")
    op.drop_table("known_departments")
    op.drop_table("inbox")
    op.drop_table("deals")
    op.drop_table("dead_letters")
    op.drop_table("assignee_stats")
    op.execute(sa.schema.DropSequence(sa.Sequence("assignment_seq")))
