"""The privacy service's rules: subjects' keys (get or create, read, destroy), the erasure decision, the record of
data-subject requests, and the contracts replica kept from the contracts' events.

Why a service of its own: the keys must live apart from the data they protect, in their own database under their
own role (a leaked service database holds only ciphertext; the keys' database holds no personal data, only keys
wrapped under a master key none of the other services has); and identity, the other candidate, is the hot login path,
which should not also answer every key lookup of every consumer.

Functions flush but never commit; every change writes its event to the outbox in the same transaction.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.privacy.models import ContractCopy, DataSubjectRequest, SubjectKey, messaging
from services.privacy.retention import ContractFacts, kept_contracts
from shared import clock
from shared.contracts.contracts import ContractEvent
from shared.contracts.privacy import KeptPart, RequestRecorded, SubjectErased
from shared.errors import Problem
from shared.messaging.envelope import Envelope
from shared.messaging.outbox import Outbox
from shared.pagination import page_total
from shared.privacy.crypto import new_key, unwrap_key, wrap_key

outbox = Outbox("privacy", messaging.outbox)


class KeyGone(Problem):
    status, title, slug = 410, "Key destroyed", "key-destroyed"


def kid_of(kind: str, subject_id: uuid.UUID) -> str:
    return f"{kind}:{subject_id}"


# Keys --------------------------------------------------------------------------------------------


async def _subject(session: AsyncSession, kind: str, subject_id: uuid.UUID, *, lock: bool = False) -> SubjectKey | None:
    stmt = select(SubjectKey).where(SubjectKey.kind == kind, SubjectKey.subject_id == subject_id)
    if lock:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


def _gone(row: SubjectKey) -> KeyGone:
    return KeyGone(
        f"the key of {row.kind} {row.subject_id} was destroyed: the subject was erased",
        erased_at=row.erased_at.isoformat() if row.erased_at else None,
        request_id=str(row.erasure_request_id) if row.erasure_request_id else None,
    )


async def get_or_create_key(session: AsyncSession, master: bytes, kind: str, subject_id: uuid.UUID) -> bytes:
    """The subject's data key, made (256 random bits, stored wrapped) the first time; 410 once destroyed."""
    kid = kid_of(kind, subject_id)
    await session.execute(
        pg_insert(SubjectKey)
        .values(kind=kind, subject_id=subject_id, wrapped_key=wrap_key(master, kid, new_key()), created_at=clock.now())
        .on_conflict_do_nothing()
    )
    row = await _subject(session, kind, subject_id, lock=True)
    assert row is not None
    if row.erased_at is not None:
        raise _gone(row)
    if row.wrapped_key is None:  # a subject on record (an erasure restricted) before it had a key
        row.wrapped_key = wrap_key(master, kid, new_key())
        await session.flush()
    return unwrap_key(master, kid, row.wrapped_key)


async def read_key(session: AsyncSession, master: bytes, kind: str, subject_id: uuid.UUID) -> bytes | None:
    """The subject's data key; None if it has none; 410 once destroyed."""
    row = await _subject(session, kind, subject_id)
    if row is None:
        return None
    if row.erased_at is not None:
        raise _gone(row)
    if row.wrapped_key is None:
        return None
    return unwrap_key(master, kid_of(kind, subject_id), row.wrapped_key)


# Requests ----------------------------------------------------------------------------------------


async def record_request(
    session: AsyncSession,
    *,
    kind: str,
    subject_kind: str,
    subject_id: uuid.UUID,
    outcome: str,
    requested_by: uuid.UUID | None,
    reason: str | None,
    kept: list[KeptPart],
    request_id: uuid.UUID | None = None,
) -> DataSubjectRequest:
    """Record a data-subject request handled, and publish `privacy.request.recorded`."""
    request = DataSubjectRequest(
        id=request_id or uuid.uuid4(),
        kind=kind,
        subject_kind=subject_kind,
        subject_id=subject_id,
        outcome=outcome,
        requested_by=requested_by,
        reason=reason,
        kept=[part.model_dump(mode="json") for part in kept],
        created_at=clock.now(),
    )
    session.add(request)
    await session.flush()
    await outbox.add(
        session,
        RequestRecorded(
            request_id=request.id,
            kind=kind,
            subject_kind=subject_kind,
            subject_id=subject_id,
            outcome=outcome,
            requested_by=requested_by,
            kept=kept,
        ),
        subject=str(request.id),
    )
    return request


async def list_requests(
    session: AsyncSession, *, limit: int, offset: int, subject_id: uuid.UUID | None, kind: str | None
) -> tuple[list[DataSubjectRequest], int]:
    stmt = select(DataSubjectRequest)
    if subject_id is not None:
        stmt = stmt.where(DataSubjectRequest.subject_id == subject_id)
    if kind is not None:
        stmt = stmt.where(DataSubjectRequest.kind == kind)
    paged = stmt.order_by(DataSubjectRequest.created_at.desc(), DataSubjectRequest.id).limit(limit).offset(offset)
    rows = list((await session.execute(paged)).scalars())
    return rows, await page_total(session, stmt, found=len(rows), limit=limit, offset=offset)


# Erasure -----------------------------------------------------------------------------------------


async def what_must_be_kept(
    session: AsyncSession, kind: str, subject_id: uuid.UUID, *, retention_years: int
) -> list[KeptPart]:
    """The parts of the subject the brokerage must keep today (a client's contracts within their retention)."""
    if kind != "client":
        return []
    rows = await session.execute(
        select(ContractCopy.contract_id, ContractCopy.status, ContractCopy.end_date).where(
            ContractCopy.client_id == subject_id
        )
    )
    facts = [ContractFacts(contract_id=r[0], status=r[1], end_date=r[2]) for r in rows]
    kept = kept_contracts(facts, today=clock.now().date(), retention_years=retention_years)
    if kept:
        # A kept contract names its policyholder: the client's profile stays with it (restricted), as long as the
        # last of them is kept.
        kept.append(
            KeptPart(
                what="client",
                record_id=subject_id,
                reason="the policyholder of the contracts kept above: the profile stays with them, its processing "
                "restricted",
                until=max(part.until for part in kept if part.until is not None),
            )
        )
    return kept


async def erase(
    session: AsyncSession,
    kind: str,
    subject_id: uuid.UUID,
    *,
    reason: str,
    requested_by: uuid.UUID | None,
    retention_years: int,
) -> dict[str, Any]:
    """Art. 17: destroy the subject's key and tell every service (`privacy.subject.erased`); if something must be
    kept, every service erases all but that (named in `kept`, with why and until when), the key stays and processing
    is restricted; a subject already erased is a no-op. Every request is
    recorded (`privacy.request.recorded`)."""
    await session.execute(
        pg_insert(SubjectKey)
        .values(kind=kind, subject_id=subject_id, wrapped_key=None, created_at=clock.now())
        .on_conflict_do_nothing()
    )
    row = await _subject(session, kind, subject_id, lock=True)
    assert row is not None
    request_id = uuid.uuid4()
    kept: list[KeptPart] = []
    erased_at: datetime | None = row.erased_at
    if row.erased_at is not None:
        outcome = "already_erased"
    else:
        kept = await what_must_be_kept(session, kind, subject_id, retention_years=retention_years)
        if kept:
            # What the law requires the brokerage to keep blocks the erasure of that part only: every service erases
            # the rest (`kept` names what it leaves), and the key stays, so the kept part and its trail remain
            # readable while they must be kept; processing is restricted. An erasure asked again once the last
            # retention has ended destroys the key.
            outcome = "restricted"
            row.restricted_at = clock.now()
            row.restriction_request_id = request_id
            await session.flush()
            await outbox.add(
                session,
                SubjectErased(subject_kind=kind, subject_id=subject_id, request_id=request_id, kept=kept),
                subject=str(subject_id),
            )
        else:
            outcome = "completed"
            row.wrapped_key = None
            row.erased_at = erased_at = clock.now()
            row.erasure_request_id = request_id
            await session.flush()
            await outbox.add(
                session,
                SubjectErased(subject_kind=kind, subject_id=subject_id, request_id=request_id, kept=[]),
                subject=str(subject_id),
            )
    await session.flush()
    request = await record_request(
        session,
        kind="erasure",
        subject_kind=kind,
        subject_id=subject_id,
        outcome=outcome,
        requested_by=requested_by,
        reason=reason,
        kept=kept,
        request_id=request_id,
    )
    return {
        "request_id": request.id,
        "subject_kind": kind,
        "subject_id": subject_id,
        "outcome": outcome,
        "kept": kept,
        "erased_at": erased_at,
        "restricted_at": row.restricted_at,
    }


# The contracts replica -----------------------------------------------------------------------------


async def on_contract_event(session: AsyncSession, envelope: Envelope, data: ContractEvent) -> None:
    """Keep the contract's client, status and end as its newest event says (events of one contract come in order,
    on its key; an older one redelivered after a newer changes nothing)."""
    values = {
        "contract_id": data.contract_id,
        "client_id": data.client_id,
        "status": data.status,
        "end_date": data.end_date,
        "occurred_at": envelope.time,
    }
    stmt = pg_insert(ContractCopy).values(**values)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[ContractCopy.contract_id],
            set_={k: stmt.excluded[k] for k in ("client_id", "status", "end_date", "occurred_at")},
            where=ContractCopy.occurred_at <= stmt.excluded.occurred_at,
        )
    )
