"""The audit trail: one row per event ever published, append-only (see the migration's triggers and grants)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, CheckConstraint, DateTime, Index, Integer, String, Uuid, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata
from shared.messaging.tables import define_messaging_tables


class Base(DeclarativeBase):
    metadata = service_metadata()


messaging = define_messaging_tables(Base.metadata)


class AuditRecord(Base):
    __tablename__ = "audit_records"
    __table_args__ = (
        # Lists are read in `seq` order (migration 0004); `occurred_at` serves the time-range filters.
        Index("ix_audit_records_aggregate", "aggregate_type", "aggregate_id", "seq"),
        Index("ix_audit_records_actor", "actor_id", "seq"),
        Index("ix_audit_records_type", "event_type", "seq"),
        Index("ix_audit_records_occurred", "occurred_at", "id"),
        Index("ix_audit_records_client", "client_id", "seq", postgresql_where=text("client_id IS NOT NULL")),
        Index("ix_audit_records_sealed", "seq", postgresql_where=text("seal IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(200))
    event_version: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(100))
    aggregate_type: Mapped[str] = mapped_column(String(100))
    aggregate_id: Mapped[str | None] = mapped_column(String(200))
    actor_type: Mapped[str | None] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    topic: Mapped[str] = mapped_column(String(249))
    partition: Mapped[int] = mapped_column(Integer)
    offset: Mapped[int] = mapped_column(BigInteger)
    correlation_id: Mapped[str | None] = mapped_column(String(128))
    causation_id: Mapped[str | None] = mapped_column(String(128))
    trace_id: Mapped[str | None] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    changes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSONB)
    # The client the event concerns (the client itself, or its deal, task or contract): client history.
    client_id: Mapped[str | None] = mapped_column(String(64))
    # The hash chain (services/audit/chain.py): gap-free position, the previous record's hash, its own.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # HMAC-SHA256 of `hash` under AUDIT_CHAIN_KEY (null: written without the key). Not part of the hash.
    seal: Mapped[str | None] = mapped_column(String(64))


class ChainHead(Base):
    """The newest chain position and hash, one row: appenders lock it FOR UPDATE, so two consumer
    instances append one after the other and never fork the chain."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Checkpoint(Base):
    """Checkpoints this service took (also appended to the checkpoint file and published as events);
    the job reads the last one to decide whether the head moved. Verify trusts the outside copies."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    event_id: Mapped[str] = mapped_column(String(64))
    checkpointed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AuditScope(Base):
    """The department each aggregate belongs to, as its own events last said (`data.department_id`, a
    `department_id` change, or a department itself): a Manager reads the records of their department's
    aggregates, and of the clients of their department (their deals, tasks and contracts among them).
    Access metadata kept beside the chain, not in it: derived from the chained records, rebuilt from them at will."""

    __tablename__ = "audit_scopes"
    __table_args__ = (Index("ix_audit_scopes_department", "department_id"),)

    aggregate_type: Mapped[str] = mapped_column(String(100), primary_key=True)
    aggregate_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    seq: Mapped[int] = mapped_column(BigInteger)  # the record that last set it
