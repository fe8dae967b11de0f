"""The messaging tables every service keeps in its own database: outbox, inbox and dead letters.

A dead letter is `parked` when its consumer gives up on it; an Admin then replays it (`replayed`: handled
by its consumer after all) or discards it with a reason (`discarded`). See `shared.messaging.dead_letters`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB


@dataclass(frozen=True)
class MessagingTables:
    outbox: Table
    inbox: Table
    dead_letters: Table


def define_messaging_tables(metadata: MetaData) -> MessagingTables:
    outbox = Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("event_id", String(64), nullable=False, unique=True),
        Column("event_type", String(200), nullable=False),
        Column("topic", String(249), nullable=False),
        Column("key", String(200), nullable=True),
        Column("headers", JSONB, nullable=False),
        Column("payload", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
    )
    inbox = Table(
        "inbox",
        metadata,
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(64), primary_key=True),
        Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    dead_letters = Table(
        "dead_letters",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("consumer", String(100), nullable=False),
        Column("topic", String(249), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("key", Text, nullable=True),
        Column("event_id", String(64), nullable=True),
        Column("event_type", String(200), nullable=True),
        Column("error", Text, nullable=False),
        Column("headers", JSONB, nullable=False),
        Column("payload", LargeBinary, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        # Its lifecycle (migration_ops.add_dead_letter_lifecycle_v1): why it was parked, what became of it.
        Column("kind", String(20), nullable=True),  # permanent | unknown (null: parked before it was kept)
        Column("status", String(20), nullable=False, server_default=text("'parked'")),
        Column("resolved_at", DateTime(timezone=True), nullable=True),
        Column("resolved_by", String(200), nullable=True),  # the actor, `user:<id>`
        Column("discard_reason", Text, nullable=True),
        Column("replay_attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_replay_error", Text, nullable=True),
        Column("last_replay_at", DateTime(timezone=True), nullable=True),
        CheckConstraint("status IN ('parked', 'replayed', 'discarded')", name="status"),
        Index("ix_dead_letters_consumer_status_created_at", "consumer", "status", "created_at"),
        # Where a record came from: a record that is not an event is known parked by it (it has no event id).
        Index("ix_dead_letters_origin", "consumer", "topic", "partition", "offset"),
    )
    return MessagingTables(outbox, inbox, dead_letters)
