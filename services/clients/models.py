"""The clients service's tables: client profiles (a tree through `parent_id`), the local projection of
contracts that drives each client's status, the identity replica, and the messaging tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
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

KINDS = ("individual", "company")
STATUSES = ("prospect", "active", "inactive")


class Client(Base):
    __tablename__ = "clients"
    __table_args__ = (
        CheckConstraint("kind IN ('individual', 'company')", name="kind"),
        CheckConstraint("status IN ('prospect', 'active', 'inactive')", name="status"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        # Fuzzy name search: the `%` and `<%` operators of pg_trgm use this index.
        Index("ix_clients_name_trgm", "name", postgresql_using="gin", postgresql_ops={"name": "gin_trgm_ops"}),
        Index("ix_clients_email", text("lower(email)")),
        Index("ix_clients_phone_digits", "phone_digits"),
        # The list's orders: by name, and a department's by name (a page read off the index, not a sort of all).
        Index("ix_clients_name_id", "name", "id"),
        Index("ix_clients_department_name", "department_id", "name", "id"),
        # A search matches contacts by substring: trigram indexes, so its OR over them is a BitmapOr, not a Seq Scan.
        Index(
            "ix_clients_email_trgm",
            text("lower(email) gin_trgm_ops"),
            postgresql_using="gin",
        ),
        Index("ix_clients_tax_id_trgm", "tax_id", postgresql_using="gin", postgresql_ops={"tax_id": "gin_trgm_ops"}),
        Index(
            "ix_clients_phone_digits_trgm",
            "phone_digits",
            postgresql_using="gin",
            postgresql_ops={"phone_digits": "gin_trgm_ops"},
        ),
        # One client per tax id within a country.
        Index(
            "uq_clients_country_tax_id", "country", "tax_id", unique=True, postgresql_where=text("tax_id IS NOT NULL")
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(300))
    tax_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # The phone's digits alone, so "+30 210-123 4567" and "2101234567" find each other.
    phone_digits: Mapped[str | None] = mapped_column(String(40), nullable=True)
    address: Mapped[str | None] = mapped_column(Text, nullable=True)
    department_id: Mapped[uuid.UUID] = mapped_column()  # ix_clients_department_name
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("clients.id", ondelete="RESTRICT"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="prospect", index=True)
    active_contracts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # When the person's data was erased (GDPR Art. 17, `privacy.subject.erased`): name "erased", the rest null.
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ClientContract(Base):
    """What the clients service knows of each contract, from contract events (never from the contracts database).

    `held` records that the client has held this contract: it was in force at some point (active, or
    expired). A contract created, or issued, and cancelled before it came into force was never held.
    """

    __tablename__ = "client_contracts"
    __table_args__ = (Index("ix_client_contracts_client_status", "client_id", "status"),)

    contract_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column()
    status: Mapped[str] = mapped_column(String(20))
    premium: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    currency: Mapped[str] = mapped_column(String(3))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    held: Mapped[bool] = mapped_column(Boolean, default=False)
    # Rank of the last applied status (see service.STATUS_RANK): a stale event never moves it back.
    rank: Mapped[int] = mapped_column(Integer)
    last_event_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# Imports from spreadsheets (services/clients/imports) ------------------------------------------------
class ImportJob(Base):
    """One uploaded file: its dry-run report's totals and, once committed, how far the commit got."""

    __tablename__ = "import_jobs"
    __table_args__ = (
        CheckConstraint("kind IN ('clients', 'contracts')", name="import_kind"),
        CheckConstraint(
            "state IN ('dry_run', 'committing', 'interrupted', 'committed', 'nothing_to_do')", name="import_state"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(String(300))
    state: Mapped[str] = mapped_column(String(20), default="dry_run")
    created_by: Mapped[uuid.UUID] = mapped_column(index=True)
    department_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    rows: Mapped[int] = mapped_column(Integer, default=0)
    refused: Mapped[int] = mapped_column(Integer, default=0)
    to_create: Mapped[int] = mapped_column(Integer, default=0)
    to_update: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    commit_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ImportRow(Base):
    """One data row of a file: its values, the dry run's verdict, and its commit state
    (pending -> sending -> done, or failed with the owning service's answer)."""

    __tablename__ = "import_rows"
    __table_args__ = (
        CheckConstraint("action IN ('create', 'update', 'unchanged', 'refused')", name="import_action"),
        CheckConstraint(
            "state IN ('pending', 'sending', 'created', 'done', 'failed', 'skipped')", name="import_row_state"
        ),
    )

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_jobs.id", ondelete="CASCADE"), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    values: Mapped[dict] = mapped_column(JSONB)
    problems: Mapped[list] = mapped_column(JSONB, default=list)
    record_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)


class ImportedRecord(Base):
    """Which record an external id became: what makes a re-import idempotent. Written in the same transaction as
    the client it names (clients), or right after the contracts service answered (contracts)."""

    __tablename__ = "imported_records"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    external_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(index=True)
    job_id: Mapped[uuid.UUID] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
