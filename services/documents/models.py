"""The documents service's tables: documents and their versions (metadata; the bytes live in the blob store),
the stage checklists, the replica of the records documents belong to (who may see them: department, owner,
client), and the messaging tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata
from shared.messaging.tables import define_messaging_tables


class Base(DeclarativeBase):
    metadata = service_metadata()


messaging = define_messaging_tables(Base.metadata)

OWNER_TYPES = ("client", "deal", "task", "contract")


class OwnerRecord(Base):
    """A record documents may belong to, as its owning service last told (clients, pipeline deals, tasks,
    contracts): enough to decide who sees its documents without asking that service."""

    __tablename__ = "owner_records"
    __table_args__ = (
        CheckConstraint("owner_type IN ('client', 'deal', 'task', 'contract')", name="owner_type"),
        Index("ix_owner_records_client", "client_id"),
    )

    owner_type: Mapped[str] = mapped_column(String(10), primary_key=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    # The client the record belongs to (a client's own id for a client).
    client_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    # The owning department (a client's; a deal's line; a task's; a contract's as recorded at creation).
    department_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    # A deal's current stage's department (who works it now); None for the other kinds.
    stage_department_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    # The person the record is theirs: a deal's owner, a task's assignee, a contract's specialist.
    person_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    # A deal's current stage key (its checklist).
    stage_key: Mapped[str | None] = mapped_column(String(50), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Document(Base):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("owner_type IN ('client', 'deal', 'task', 'contract')", name="owner_type"),
        Index("ix_documents_owner", "owner_type", "owner_id"),
        Index("ix_documents_client", "client_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_type: Mapped[str] = mapped_column(String(10))
    owner_id: Mapped[uuid.UUID] = mapped_column()
    client_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    document_type: Mapped[str] = mapped_column(String(100))
    current_version: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[uuid.UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    delete_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class DocumentVersion(Base):
    """One stored file of a document; versions are never changed or removed."""

    __tablename__ = "document_versions"
    __table_args__ = (CheckConstraint("size >= 0", name="size"), CheckConstraint("version >= 1", name="version"))

    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[uuid.UUID] = mapped_column()
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class StageChecklist(Base):
    """The documents a deal needs before it leaves a stage (each requirement met by any one of its types), and
    whether the deal then advances by itself."""

    __tablename__ = "stage_checklists"

    stage_key: Mapped[str] = mapped_column(String(50), primary_key=True)
    requirements: Mapped[list[list[str]]] = mapped_column(JSONB)
    auto_advance: Mapped[bool] = mapped_column(Boolean)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
