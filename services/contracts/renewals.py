"""Renewals: where each contract's renewal deal stands (from pipeline's events), and the renewal workbench.

Pipeline opens a contract's renewal deal when the contract's renewal notice (`contracts.contract.renewal_due`,
once per contract, `RENEWAL_NOTICE_DAYS` before the end) reaches it; this service follows that deal — opened,
moved, updated, accepted, declined — in `renewals`. Accepting it creates the next term's contract, which names the
expiring one (`renews_contract_id`). An expiring contract that nothing renews lapses (`contracts.contract.expired`
with `lapsed: true`).

A contract's renewal status, in this order: `renewed` (a contract renews it, or its deal was won), `not_taken_up`
(its deal was declined), `lapsed` (it expired unrenewed), `quoted` (its deal has reached Proposal Sent or later),
`in_progress` (its deal is open), `not_started` (no deal yet).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.contracts.access import owning_department, visible_where
from services.contracts.models import Contract, KnownClient, Renewal
from services.contracts.schemas import RenewalRow, RetentionRow
from services.contracts.settings import ContractsSettings
from shared import clock
from shared.auth import Principal
from shared.contracts.pipeline import (
    CLIENT_DECISION,
    COMPLETION,
    POLICY_ISSUANCE,
    PROPOSAL_SENT,
    OpportunityAccepted,
    OpportunityDeclined,
    OpportunityOpened,
    OpportunityUpdated,
    StageAdvanced,
)
from shared.messaging.envelope import Envelope

QUOTED_STAGES = (PROPOSAL_SENT, CLIENT_DECISION, POLICY_ISSUANCE, COMPLETION)
RENEWAL_STATUSES = ("not_started", "in_progress", "quoted", "renewed", "not_taken_up", "lapsed")


# Following the renewal deals ------------------------------------------------------------------------
async def _renewal_by_deal(session: AsyncSession, opportunity_id: uuid.UUID) -> Renewal | None:
    stmt = select(Renewal).where(Renewal.opportunity_id == opportunity_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def on_opened(session: AsyncSession, envelope: Envelope, data: OpportunityOpened) -> None:
    if data.renews_contract_id is None:
        return  # a new-business deal
    values = {
        "opportunity_id": data.opportunity_id,
        "stage_key": data.stage.key,
        "deal_status": data.status,
        "proposed_premium": data.expected_premium,
        "owner_id": data.owner_id,
        "updated_at": clock.now(),
    }
    await session.execute(
        pg_insert(Renewal)
        .values(contract_id=data.renews_contract_id, **values)
        .on_conflict_do_nothing(index_elements=["contract_id"])
    )


async def on_stage_advanced(session: AsyncSession, envelope: Envelope, data: StageAdvanced) -> None:
    if data.renewal is False:  # most deals: nothing to follow, and no query to find that out
        return
    renewal = await _renewal_by_deal(session, data.opportunity_id)
    if renewal is not None:
        renewal.stage_key, renewal.deal_status, renewal.updated_at = data.to_stage.key, data.status, clock.now()
        await session.flush()


async def on_updated(session: AsyncSession, envelope: Envelope, data: OpportunityUpdated) -> None:
    renewal = await _renewal_by_deal(session, data.opportunity_id)
    if renewal is None:
        return
    if "expected_premium" in data.changes and renewal.deal_status == "open":
        after = data.changes["expected_premium"].after
        renewal.proposed_premium = Decimal(str(after)) if after is not None else None
    if "owner_id" in data.changes and data.changes["owner_id"].after:
        renewal.owner_id = uuid.UUID(str(data.changes["owner_id"].after))
    renewal.updated_at = clock.now()
    await session.flush()


async def on_accepted(session: AsyncSession, data: OpportunityAccepted) -> None:
    """The accepted renewal's terms are the proposed premium (its contract is created by the accept handler)."""
    renewal = await _renewal_by_deal(session, data.opportunity_id)
    if renewal is not None:
        renewal.proposed_premium, renewal.updated_at = data.terms.premium, clock.now()
        await session.flush()


async def on_declined(session: AsyncSession, envelope: Envelope, data: OpportunityDeclined) -> None:
    renewal = await _renewal_by_deal(session, data.opportunity_id)
    if renewal is not None:
        renewal.deal_status, renewal.stage_key, renewal.updated_at = "lost", data.stage.key, clock.now()
        await session.flush()


# The workbench --------------------------------------------------------------------------------------
def renewal_status(contract_status: str, renewed: bool, renewal: Renewal | None) -> str:
    if renewed or (renewal is not None and renewal.deal_status == "won"):
        return "renewed"
    if renewal is not None and renewal.deal_status == "lost":
        return "not_taken_up"
    if contract_status == "expired":
        return "lapsed"
    if renewal is None:
        return "not_started"
    return "quoted" if renewal.stage_key in QUOTED_STAGES else "in_progress"


def change_percent(expiring: Decimal, proposed: Decimal | None) -> Decimal | None:
    if proposed is None or expiring == 0:
        return None
    return ((proposed - expiring) * 100 / expiring).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN)


@dataclass
class WorkbenchFilters:
    within_days: int = 60
    ended_days: int = 30
    line_id: uuid.UUID | None = None
    owner_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    status: str | None = None


async def workbench(
    session: AsyncSession, caller: Principal, filters: WorkbenchFilters, settings: ContractsSettings, today: date
) -> list[RenewalRow]:
    """Contracts ending from `ended_days` ago to `within_days` ahead (issued, active or expired), soonest end
    first, with their renewal status, expiring and proposed premium, change and risk flag, and owner."""
    successor = aliased(Contract)
    renewed_by = (
        select(successor.id)
        .where(successor.renews_contract_id == Contract.id, successor.status != "cancelled")
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(Contract, Renewal, renewed_by.label("renewed_by"), owning_department().label("department"))
        .outerjoin(KnownClient, KnownClient.id == Contract.client_id)
        .outerjoin(Renewal, Renewal.contract_id == Contract.id)
        .where(
            visible_where(caller),
            Contract.status.in_(("issued", "active", "expired")),
            Contract.end_date >= today - timedelta(days=filters.ended_days),
            Contract.end_date <= today + timedelta(days=filters.within_days),
        )
        .order_by(Contract.end_date, Contract.id)
        .limit(1000)
    )
    if filters.line_id:
        stmt = stmt.where(Contract.line_id == filters.line_id)
    if filters.department_id:
        stmt = stmt.where(owning_department() == filters.department_id)
    rows = []
    for contract, renewal, successor_id, department_id in (await session.execute(stmt)).all():
        owner = renewal.owner_id if renewal is not None and renewal.owner_id else contract.specialist_id
        if filters.owner_id and owner != filters.owner_id:
            continue
        status = renewal_status(contract.status, successor_id is not None, renewal)
        if filters.status and status != filters.status:
            continue
        proposed = renewal.proposed_premium if renewal is not None else None
        change = change_percent(contract.premium, proposed)
        rows.append(
            RenewalRow(
                contract_id=contract.id,
                policy_number=contract.policy_number,
                client_id=contract.client_id,
                line_id=contract.line_id,
                line_name=contract.line_name,
                department_id=department_id,
                end_date=contract.end_date,
                days_left=(contract.end_date - today).days,
                contract_status=contract.status,
                renewal_status=status,
                currency=contract.currency,
                expiring_premium=contract.premium,
                proposed_premium=proposed,
                change_percent=change,
                at_risk=change is not None and change > settings.renewal_risk_increase_percent,
                owner_id=owner,
                opportunity_id=renewal.opportunity_id if renewal is not None else None,
                renewed_by_contract_id=successor_id,
            )
        )
    return rows


# Retention ------------------------------------------------------------------------------------------
async def retention(
    session: AsyncSession, caller: Principal, *, today: date, since_days: int
) -> tuple[list[RetentionRow], list[RetentionRow]]:
    """The renewal (retention) rate of the contracts that ended in the last `since_days` days (cancelled ones did
    not reach their end and are left out): renewed / ended, per line and per specialist."""
    successor = aliased(Contract)
    renewed = (
        select(successor.id)
        .where(successor.renews_contract_id == Contract.id, successor.status != "cancelled")
        .exists()
    )
    stmt = (
        select(Contract.line_id, Contract.line_name, Contract.specialist_id, renewed.label("renewed"))
        .outerjoin(KnownClient, KnownClient.id == Contract.client_id)
        .where(
            visible_where(caller),
            Contract.status != "cancelled",
            Contract.end_date < today,
            Contract.end_date >= today - timedelta(days=since_days),
        )
    )
    by_line: dict[uuid.UUID | None, list] = {}
    by_specialist: dict[uuid.UUID | None, list] = {}
    for line_id, line_name, specialist_id, was_renewed in (await session.execute(stmt)).all():
        for key, name, table in ((line_id, line_name, by_line), (specialist_id, None, by_specialist)):
            entry = table.setdefault(key, [name, 0, 0])
            entry[1] += 1
            entry[2] += int(bool(was_renewed))

    def rows(table: dict) -> list[RetentionRow]:
        return [
            RetentionRow(
                id=key,
                name=name,
                ended=ended,
                renewed=renewed_count,
                rate_percent=(Decimal(renewed_count) * 100 / ended).quantize(Decimal("0.1"), rounding=ROUND_HALF_EVEN),
            )
            for key, (name, ended, renewed_count) in sorted(table.items(), key=lambda kv: (kv[1][0] or "", str(kv[0])))
        ]

    return rows(by_line), rows(by_specialist)
