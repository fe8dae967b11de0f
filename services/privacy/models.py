"""The privacy service's tables: the subjects' keys (wrapped) and tombstones, the data-subject requests, the
replica of contracts (what must be kept), and the messaging tables."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, DateTime, Index, LargeBinary, String, Text, Uuid, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import service_metadata
from shared.messaging.tables import define_messaging_tables


class Base(DeclarativeBase):
    metadata = service_metadata()


messaging = define_messaging_tables(Base.metadata)


class SubjectKey(Base):
    """A data subject's key, wrapped under the master key; once destroyed, a tombstone (no key, when and by which
    request it was erased). `restricted_at`: an erasure was asked but something must be kept, so processing is
    restricted instead."""

    __tablename__ = "subject_keys"

    kind: Mapped[str] = mapped_column(String(10), primary_key=True)
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    wrapped_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    erasure_request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    restricted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    restriction_request_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


class DataSubjectRequest(Base):
    """A data-subject request received and handled (an export, an erasure)."""

    __tablename__ = "requests"
    __table_args__ = (Index("ix_requests_subject", "subject_kind", "subject_id"), Index("ix_requests_at", "created_at"))

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    subject_kind: Mapped[str] = mapped_column(String(10))
    subject_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    outcome: Mapped[str] = mapped_column(String(20))
    requested_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reason: Mapped[str | None] = mapped_column(Text)
    kept: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ContractCopy(Base):
    """A contract as its events last told (its client, status and end): what an erasure must keep."""

    __tablename__ = "contracts"
    __table_args__ = (Index("ix_contracts_client", "client_id"),)

    contract_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    status: Mapped[str] = mapped_column(String(30))
    end_date: Mapped[date] = mapped_column(Date)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
