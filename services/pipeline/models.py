"""Pipeline's tables: insurance lines, stage definitions, deals (opportunities) and their stage history,
the replicas of identity's people, of the clients service's clients and of the documents service's stage
checklists and deal documents, and the messaging tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata
from shared.messaging.tables import define_messaging_tables
from shared.projections.identity import define_people_tables


class Base(DeclarativeBase):
    metadata = service_metadata()


messaging = define_messaging_tables(Base.metadata)
people = define_people_tables(Base.metadata)

MONEY = Numeric(16, 2)


class Stage(Base):
    """One of the nine stages: a stable key, and the editable name, order, SLA target and department."""

    __tablename__ = "stages"
    __table_args__ = (CheckConstraint("sla_hours > 0", name="sla_positive"),)

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    position: Mapped[int] = mapped_column(Integer)
    sla_hours: Mapped[float] = mapped_column(Float)
    department_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Line(Base):
    """An insurance line (Auto, Property, ...) with its primary specialist and department."""

    __tablename__ = "lines"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    specialist_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class KnownClient(Base):
    """A replica of the clients service's client profiles: what pipeline needs (existence, name, department)."""

    __tablename__ = "known_clients"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    department_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Opportunity(Base):
    """A deal: one client, one line, moving through the stages; `department_id` follows the line's."""

    __tablename__ = "opportunities"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'won', 'lost')", name="status"),
        Index("ix_opportunities_stage_status", "stage_key", "status"),
        Index("ix_opportunities_created", "created_at", "id"),
        # A department's deals newest first (the list's default order), a page read off the index in order.
        Index("ix_opportunities_department_created", "department_id", text("created_at DESC"), "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column(index=True)
    line_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lines.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    expected_premium: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    notes: Mapped[str | None] = mapped_column(Text, nullable=True)
    owner_id: Mapped[uuid.UUID] = mapped_column(index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)  # ix_opportunities_department_created
    stage_key: Mapped[str] = mapped_column(ForeignKey("stages.key"))
    stage_entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(10), default="open")
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    # The terms agreed at Client Decision (set by accept).
    premium: Mapped[Decimal | None] = mapped_column(MONEY, nullable=True)
    premium_currency: Mapped[str | None] = mapped_column(String(3), nullable=True)
    start_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    insurer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decline_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    contract_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    # A renewal deal: the expiring contract it renews (one renewal deal per contract: unique).
    renews_contract_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, unique=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StageMove(Base):
    """The history of a deal: its opening, every move forward or back, and its decline."""

    __tablename__ = "stage_moves"
    __table_args__ = (
        CheckConstraint("kind IN ('opened', 'forward', 'back', 'declined')", name="kind"),
        Index("ix_stage_moves_opportunity", "opportunity_id", "moved_at", "id"),
        Index("ix_stage_moves_from_stage", "from_stage", "kind"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    opportunity_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("opportunities.id"))
    kind: Mapped[str] = mapped_column(String(10))
    from_stage: Mapped[str | None] = mapped_column(String(40), nullable=True)
    to_stage: Mapped[str | None] = mapped_column(String(40), nullable=True)
    actor: Mapped[str] = mapped_column(String(250))  # `user:<id>` or `system:<component>`
    moved_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    seconds_in_stage: Mapped[float | None] = mapped_column(Float, nullable=True)  # in the stage left
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    status_after: Mapped[str] = mapped_column(String(10))


class KnownChecklist(Base):
    """A stage's checklist, as the documents service last published it (`documents.checklist.updated`)."""

    __tablename__ = "known_checklists"

    stage_key: Mapped[str] = mapped_column(String(50), primary_key=True)
    requirements: Mapped[list[list[str]]] = mapped_column(JSONB)
    auto_advance: Mapped[bool] = mapped_column(Boolean)


class DealDocument(Base):
    """A live document of a deal, from the documents service's events: what a checklist counts."""

    __tablename__ = "deal_documents"

    document_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    opportunity_id: Mapped[uuid.UUID] = mapped_column(index=True)
    document_type: Mapped[str] = mapped_column(String(100))
