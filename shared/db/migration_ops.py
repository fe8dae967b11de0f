"""Schema steps several services' migrations share, frozen per version.

Every service keeps the messaging tables (outbox, inbox, dead letters) and many keep the identity
replica (known users and departments). Their first migrations call these functions instead of each
repeating the DDL. A version's function never changes once released: a later change to those tables
is a new function (`..._v2`, altering what v1 made) called from a new revision of every service.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql


def create_messaging_tables_v1() -> None:
    """outbox, inbox and dead_letters, as `shared.messaging.tables` defines them."""
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Text(), nullable=True),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("event_type", sa.String(length=200), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    op.create_table(
        "inbox",
        sa.Column("consumer", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_inbox")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_type", sa.String(length=200), nullable=False),
        sa.Column("topic", sa.String(length=249), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=True),
        sa.Column("headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("event_id", name=op.f("uq_outbox_event_id")),
    )
    op.create_index(
        "ix_outbox_unpublished", "outbox", ["id"], unique=False, postgresql_where=sa.text("published_at IS NULL")
    )


def add_dead_letter_lifecycle_v1() -> None:
    """dead_letters gains its lifecycle: why it was parked (`kind`), its `status` (parked, replayed,
    discarded), when and by whom it was resolved, the discard reason, and its replay attempts."""
    op.add_column("dead_letters", sa.Column("kind", sa.String(length=20), nullable=True))
    op.add_column(
        "dead_letters", sa.Column("status", sa.String(length=20), server_default=sa.text("'parked'"), nullable=False)
    )
    op.add_column("dead_letters", sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("dead_letters", sa.Column("resolved_by", sa.String(length=200), nullable=True))
    op.add_column("dead_letters", sa.Column("discard_reason", sa.Text(), nullable=True))
    op.add_column(
        "dead_letters", sa.Column("replay_attempts", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column("dead_letters", sa.Column("last_replay_error", sa.Text(), nullable=True))
    op.add_column("dead_letters", sa.Column("last_replay_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_dead_letters_status"), "dead_letters", "status IN ('parked', 'replayed', 'discarded')"
    )
    op.create_index(
        "ix_dead_letters_consumer_status_created_at", "dead_letters", ["consumer", "status", "created_at"], unique=False
    )
    op.create_index(
        "ix_dead_letters_origin", "dead_letters", ["consumer", "topic", "partition", "offset"], unique=False
    )


def drop_dead_letter_lifecycle_v1() -> None:
    """The downgrade of `add_dead_letter_lifecycle_v1`: what became of each letter is forgotten."""
    op.drop_index("ix_dead_letters_origin", table_name="dead_letters")
    op.drop_index("ix_dead_letters_consumer_status_created_at", table_name="dead_letters")
    op.drop_constraint(op.f("ck_dead_letters_status"), "dead_letters", type_="check")
    for column in (
        "last_replay_at",
        "last_replay_error",
        "replay_attempts",
        "discard_reason",
        "resolved_by",
        "resolved_at",
        "status",
        "kind",
    ):
        op.drop_column("dead_letters", column)


def create_people_tables_v1() -> None:
    """known_users and known_departments, the identity replica of `shared.projections.identity`."""
    op.create_table(
        "known_users",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("department_id", sa.UUID(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_users")),
    )
    op.create_index(op.f("ix_known_users_department_id"), "known_users", ["department_id"], unique=False)
    op.create_table(
        "known_departments",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("manager_id", sa.UUID(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_known_departments")),
    )


def add_people_token_revocation_v1() -> None:
    """known_users gains `tokens_revoked_at`: tokens of the user issued before it are refused (their role,
    department or password changed; `shared.revocation`)."""
    op.add_column("known_users", sa.Column("tokens_revoked_at", sa.DateTime(timezone=True), nullable=True))


def drop_people_token_revocation_v1() -> None:
    op.drop_column("known_users", "tokens_revoked_at")
