"""The contracts service's tables: contracts and their immutable versions, endorsement requests, the once-only
renewal notices, the replica of clients
(who exists and which department owns them), the identity replica and the messaging tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

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
    UniqueConstraint,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, column_property, mapped_column

from shared.db import service_metadata
from shared.messaging.tables import define_messaging_tables
from shared.projections.identity import define_people_tables


class Base(DeclarativeBase):
    metadata = service_metadata()


messaging = define_messaging_tables(Base.metadata)
# Who may look after a contract (its specialist): identity's users, from its events.
people = define_people_tables(Base.metadata)

STATUSES = ("pending_issuance", "issued", "active", "expired", "cancelled")
VERSION_KINDS = ("base", "endorsement", "cancellation", "reinstatement")
CANCELLATION_METHODS = ("pro_rata", "short_rate", "flat")
ENDORSEMENT_STATUSES = ("requested", "bound", "withdrawn")
REFERRAL_CONDITIONS = ("premium_above", "sum_insured_above", "country_in", "deductible_below")


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
    # The current terms beside premium and insurer, and the number of the version they come from: written only
    # when a version is added (`service.add_version`), so always those of the contract's last version.
    sum_insured: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)
    deductible: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)
    covered_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    cancel_method: Mapped[str | None] = mapped_column(String(20), nullable=True)
    reinstated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The next term's contract names the one it renews (from its renewal deal's acceptance).
    renews_contract_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True, index=True)
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


class ContractVersion(Base):
    """One version of a contract: base, endorsement, cancellation or reinstatement, with the terms in force from
    its effective date and its premium delta against the version before. Never changed once written (a trigger
    refuses UPDATE and DELETE); the contract's current terms are its last version's."""

    __tablename__ = "contract_versions"
    __table_args__ = (
        UniqueConstraint("contract_id", "number", name="contract_number"),
        CheckConstraint("kind IN ('base', 'endorsement', 'cancellation', 'reinstatement')", name="kind"),
        CheckConstraint("premium > 0", name="premium_positive"),
        CheckConstraint("sum_insured IS NULL OR sum_insured >= 0", name="sum_insured"),
        CheckConstraint("deductible IS NULL OR deductible >= 0", name="deductible"),
        CheckConstraint(
            "cancellation_method IS NULL OR cancellation_method IN ('pro_rata', 'short_rate', 'flat')",
            name="cancellation_method",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1 is the base
    kind: Mapped[str] = mapped_column(String(20))
    effective_date: Mapped[date] = mapped_column(Date)
    # The terms in force from the effective date (annual premium).
    premium: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    sum_insured: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)
    deductible: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)
    covered_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    insurer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The premium this version charges (+) or returns (-), as computed when it was bound and kept as it was.
    delta: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    days_remaining: Mapped[int] = mapped_column(Integer)
    days_in_term: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    cancellation_method: Mapped[str | None] = mapped_column(String(20), nullable=True)
    refund: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)
    # A cancellation: the status it ended (a reinstatement returns to it, or to what the dates make it).
    status_before: Mapped[str | None] = mapped_column(String(20), nullable=True)
    endorsement_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    created_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Endorsement(Base):
    """A requested change of terms from an effective date: requested, then bound by a person (a new version) or
    withdrawn. At most one is open per contract at a time."""

    __tablename__ = "endorsements"
    __table_args__ = (
        CheckConstraint("status IN ('requested', 'bound', 'withdrawn')", name="status"),
        CheckConstraint("premium > 0", name="premium_positive"),
        Index("uq_endorsements_open", "contract_id", unique=True, postgresql_where=text("status = 'requested'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    effective_date: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text)
    premium: Mapped[Decimal] = mapped_column(Numeric(16, 2))
    sum_insured: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)
    deductible: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)
    covered_items: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    insurer: Mapped[str | None] = mapped_column(String(200), nullable=True)
    based_on_version: Mapped[int] = mapped_column(Integer)
    version_number: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the version binding made
    withdraw_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    requested_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class ReferralRule(Base):
    """An Admin-configured condition on terms that holds a step (a deal's contract before issue, an endorsement
    before binding) for a Manager's approval: premium or sum insured above a threshold, deductible below a floor
    (of one line, or every line when `line_id` is empty), or the insured's country in a list."""

    __tablename__ = "referral_rules"
    __table_args__ = (
        CheckConstraint(
            "condition IN ('premium_above', 'sum_insured_above', 'country_in', 'deductible_below')", name="condition"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    condition: Mapped[str] = mapped_column(String(30))
    line_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    threshold: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)
    countries: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Referral(Base):
    """A step held because rules fired: pending until a Manager approves (the step goes ahead) or declines it (the
    contract is closed, or the endorsement withdrawn, with the reason). At most one pending per contract."""

    __tablename__ = "referrals"
    __table_args__ = (
        CheckConstraint("step IN ('issuance', 'endorsement')", name="step"),
        CheckConstraint("status IN ('pending', 'approved', 'declined')", name="status"),
        Index("uq_referrals_pending", "contract_id", unique=True, postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    contract_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("contracts.id"), index=True)
    step: Mapped[str] = mapped_column(String(20))
    endorsement_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    fired: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Renewal(Base):
    """Where the renewal deal of a contract stands, from pipeline's events (the workbench reads it)."""

    __tablename__ = "renewals"

    contract_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # the expiring contract
    opportunity_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    stage_key: Mapped[str] = mapped_column(String(40))
    deal_status: Mapped[str] = mapped_column(String(10))  # open, won, lost
    proposed_premium: Mapped[Decimal | None] = mapped_column(Numeric(16, 2), nullable=True)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RenewalRiskNotice(Base):
    """One row per contract whose renewal was flagged at risk (no progress with the configured days left): once."""

    __tablename__ = "renewal_risk_notices"

    contract_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    days_left: Mapped[int] = mapped_column(Integer)
    noticed_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


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
    country: Mapped[str | None] = mapped_column(String(2), nullable=True)  # the insured's, for referral rules
    archived: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


# The client's name as this service knows it ("erased" once the person's data was erased), with every contract read.
Contract.client_name = column_property(
    select(KnownClient.name)
    .where(KnownClient.id == Contract.client_id)
    .correlate_except(KnownClient)
    .scalar_subquery(),
    expire_on_flush=False,  # the client's name is not the contract's: a change of the contract keeps it
)
