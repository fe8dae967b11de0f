"""The contracts service's tables: contracts, the once-only renewal notices, the replica of clients
(who exists and which department owns them), the identity replica and the messaging tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, DateTime, Index, Integer, Numeric, String, Text, func, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata
from shared.messaging.tables import define_messaging_tables
from shared.projections.identity import define_people_tables


class Base(DeclarativeBase):
    metadata = service_metadata()


messaging = define_messaging_tables(Base.metadata)
# Who may look after a contract (its specialist): identity's users, from its events.
people = define_people_tables(Base.metadata)

STATUSES = ("pending_issuance", "issued", "active", "expired", "cancelled")


class Contract(Base):
    __tablename__ = "contracts"
    __table_args__ = (
        CheckConstraint("status IN ('pending_issuance', 'issued', 'active', 'expired', 'cancelled')", name="status"),
        CheckConstraint("premium > 0", name="premium_positive"),
        CheckConstraint("start_date < end_date", name="period"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency"),
        CheckConstraint("origin IN ('deal', 'manual')", name="origin"),
        Index("ix_contracts_scan", "status", "end_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    client_id: Mapped[uuid.UUID] = mapped_column(index=True)
    # One contract per accepted deal, however often the accept event is delivered.
    opportunity_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, unique=True)
    line_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    line_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    specialist_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    origin: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(20))
    premium: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    currency: Mapped[str] = mapped_column(String(3))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    insurer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    policy_number: Mapped[str | None] = mapped_column(String(100), nullable=True, unique=True)
    issue_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    cancel_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancel_effective_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    refund: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    issued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RenewalNotice(Base):
    """One row per contract whose renewal_due event was written: the primary key makes it once only,
    even when two scanner rounds (or two instances) reach the contract at the same moment."""

    __tablename__ = "renewal_notices"

    contract_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    days_before_end: Mapped[int] = mapped_column(Integer)
    noticed_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class KnownClient(Base):
    """The clients this service knows of, from `clients.client.events`: enough to check a client id and
    to scope contracts by the client's owning department."""

    __tablename__ = "known_clients"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    department_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, index=True)
    status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
