"""Data-subject rights in pipeline (see `shared.privacy`): what it declares about its processing, what an erasure
does to the rows it holds, and its part of a subject's export.

A client subject: the replica's name reads "erased" (every deal list and board shows it); the deals of the client
(but those the erasure keeps) lose their notes (free text about the person) and the person's name wherever their
title, decline reason or stage moves' reasons spelled it. Deal terms, stages and dates stay: they are the
brokerage's. A user subject: the replica of identity's users. Nothing is published (`shared.privacy`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.pipeline.models import KnownClient, Opportunity, StageMove, people
from shared.contracts.privacy import ERASED, SubjectErased, SubjectKind
from shared.messaging.envelope import Envelope
from shared.privacy.rights import (
    Processing,
    erase_client_name,
    erase_known_user,
    kept_ids,
    privacy_router,
    record,
    scrub,
)

PROCESSING = {
    "client": Processing(
        purposes=[
            "Brokering the client's insurance: the deals offered to them, their stages and the client's decisions"
        ],
        categories=[
            "the client's name (a copy of the clients service's)",
            "deals: terms, notes, decisions and reasons",
        ],
        recipients=[
            "The brokerage's employees of the departments working the deal, and Admins",
            "The platform's tasks, contracts, notifications, documents and audit services",
        ],
        retention="While the client relationship lasts; a deal that became a contract as long as the contract is kept",
        source="Entered by the brokerage's employees; the client's name from the clients service",
    ),
    "user": Processing(
        purposes=["Showing who owns and moves deals"],
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
    names = await erase_client_name(session, KnownClient, data)
    if names is None:
        return  # erased already, or not known here yet
    kept = kept_ids(data, "deal")
    deals = (await session.execute(select(Opportunity).where(Opportunity.client_id == data.subject_id))).scalars()
    erased = [deal for deal in deals if deal.id not in kept]
    for deal in erased:
        deal.title = scrub(deal.title, names) or ERASED
        deal.notes = None
        deal.decline_reason = scrub(deal.decline_reason, names)
    if erased:
        moves = await session.execute(
            select(StageMove).where(StageMove.opportunity_id.in_([d.id for d in erased]), StageMove.reason.is_not(None))
        )
        for move in moves.scalars():
            move.reason = scrub(move.reason, names)
    await session.flush()


async def collect(session: AsyncSession, kind: SubjectKind, subject_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    if kind == "user":
        users = people.users
        rows = (await session.execute(select(users).where(users.c.id == subject_id))).all()
        return {"known_users": [record(r) for r in rows]}
    deals = list(
        (
            await session.execute(
                select(Opportunity).where(Opportunity.client_id == subject_id).order_by(Opportunity.created_at)
            )
        ).scalars()
    )
    moves = (
        await session.execute(
            select(StageMove)
            .where(StageMove.opportunity_id.in_([d.id for d in deals]))
            .order_by(StageMove.moved_at, StageMove.id)
        )
    ).scalars()
    known = await session.get(KnownClient, subject_id)
    return {
        "client": [record(known)] if known else [],
        "deals": [record(d) for d in deals],
        "stage_moves": [record(m) for m in moves],
    }


router = privacy_router("pipeline", PROCESSING, collect)
