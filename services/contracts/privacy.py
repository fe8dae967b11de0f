"""Data-subject rights in contracts (see `shared.privacy`): what it declares about its processing, what an erasure
does to the rows it holds, and its part of a subject's export.

A client subject: the replica's name reads "erased" (every contract shows it as `client_name`) unless a contract
is kept, which keeps showing its policyholder; the person's name is taken out of the free text of their contracts (cancellation reasons, endorsement and referral reasons) — but of a
contract the erasure keeps (within its retention period), which is left as it is, restricted. Contract versions are
never changed (a trigger refuses it): they are the terms the brokerage must be able to show. A user subject: the
replica of identity's users. Nothing is published (`shared.privacy`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.models import Contract, ContractVersion, Endorsement, KnownClient, Referral, people
from shared import clock
from shared.contracts.privacy import ERASED, SubjectErased, SubjectKind
from shared.messaging.envelope import Envelope
from shared.privacy.rights import Processing, erase_known_user, kept_ids, privacy_router, record, scrub

PROCESSING = {
    "client": Processing(
        purposes=[
            "Performing the insurance contracts the client holds (issue, endorsements, cancellation, renewal)",
            "Legal obligations: keeping contracts for their retention period after they end",
        ],
        categories=[
            "the client's name and country (a copy of the clients service's)",
            "contracts: terms, covered items, versions, endorsements, referrals",
        ],
        recipients=[
            "The brokerage's employees of the client's department, and Admins",
            "The insurer named on the contract",
            "The platform's clients, tasks, notifications, documents and audit services",
        ],
        retention="Each contract for its retention period after it ends (10 years by default), then erasable",
        source="Entered by the brokerage's employees, or made from the client's accepted deal",
    ),
    "user": Processing(
        purposes=["Showing who looks after a contract (its specialist) and who decided referrals"],
        categories=["name, email, role and department (a copy of identity's)"],
        recipients=["The brokerage's employees and Admins"],
        retention="As long as identity keeps the user",
        source="The identity service's events",
    ),
}


async def erase_subject(session: AsyncSession, envelope: Envelope, data: SubjectErased) -> None:
    """Handler of privacy.subject.erased."""
    if data.subject_kind == "user":
        await erase_known_user(session, people, data.subject_id)
        return
    known = await session.get(KnownClient, data.subject_id, with_for_update=True, populate_existing=True)
    if known is None:
        # Not known here yet (its creation still on its way): a tombstone, so it arrives erased (`unless_erased`).
        session.add(KnownClient(id=data.subject_id, name=ERASED, department_id=None))
        await session.flush()
        return
    if known.name == ERASED:
        return  # erased already
    names = [known.name]
    kept = kept_ids(data, "contract")
    if not kept:
        # A kept contract shows its policyholder's name (this replica's): it stays while a contract is kept.
        known.name, known.updated_at = ERASED, clock.now()
    contracts = (await session.execute(select(Contract).where(Contract.client_id == data.subject_id))).scalars()
    erased = [c for c in contracts if c.id not in kept]
    for contract in erased:
        contract.cancel_reason = scrub(contract.cancel_reason, names)
    ids = [c.id for c in erased]
    if ids:
        for endorsement in (
            await session.execute(select(Endorsement).where(Endorsement.contract_id.in_(ids)))
        ).scalars():
            endorsement.reason = scrub(endorsement.reason, names) or ERASED
            endorsement.withdraw_reason = scrub(endorsement.withdraw_reason, names)
        for referral in (await session.execute(select(Referral).where(Referral.contract_id.in_(ids)))).scalars():
            referral.reason = scrub(referral.reason, names)
    await session.flush()


async def collect(session: AsyncSession, kind: SubjectKind, subject_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    if kind == "user":
        users = people.users
        rows = (await session.execute(select(users).where(users.c.id == subject_id))).all()
        return {"known_users": [record(r) for r in rows]}
    contracts = list(
        (
            await session.execute(
                select(Contract).where(Contract.client_id == subject_id).order_by(Contract.created_at)
            )
        ).scalars()
    )
    ids = [c.id for c in contracts]
    versions = await session.execute(
        select(ContractVersion)
        .where(ContractVersion.contract_id.in_(ids))
        .order_by(ContractVersion.contract_id, ContractVersion.number)
    )
    endorsements = await session.execute(select(Endorsement).where(Endorsement.contract_id.in_(ids)))
    referrals = await session.execute(select(Referral).where(Referral.contract_id.in_(ids)))
    known = await session.get(KnownClient, subject_id)
    return {
        "client": [record(known)] if known else [],
        "contracts": [record(c) for c in contracts],
        "versions": [record(v) for v in versions.scalars()],
        "endorsements": [record(e) for e in endorsements.scalars()],
        "referrals": [record(r) for r in referrals.scalars()],
    }


router = privacy_router("contracts", PROCESSING, collect)
