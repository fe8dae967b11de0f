"""Every query of the contracts service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Date, Integer, Select, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from services.contracts.access import owning_department, visible_where
from services.contracts.models import Contract, KnownClient, Referral, Renewal, RenewalNotice, RenewalRiskNotice, people
from shared.auth import Principal
from shared.pagination import PageParams, apply_sort, page_total
from shared.privacy.rights import unless_erased

CONTRACT_SORTS = {
    "created_at": Contract.created_at,
    "start_date": Contract.start_date,
    "end_date": Contract.end_date,
    "premium": Contract.premium,
    "status": Contract.status,
}


def _scoped(stmt: Select, caller: Principal) -> Select:
    return stmt.outerjoin(KnownClient, KnownClient.id == Contract.client_id).where(visible_where(caller))


async def get_contract(
    session: AsyncSession, contract_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Contract, uuid.UUID | None] | None:
    """The contract and the department that owns it (its client's)."""
    stmt = (
        select(Contract, owning_department())
        .outerjoin(KnownClient, KnownClient.id == Contract.client_id)
        .where(Contract.id == contract_id)
    )
    if for_update:
        stmt = stmt.with_for_update(of=Contract)
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row else None


async def get_by_opportunity(session: AsyncSession, opportunity_id: uuid.UUID) -> Contract | None:
    return (
        await session.execute(select(Contract).where(Contract.opportunity_id == opportunity_id))
    ).scalar_one_or_none()


async def get_by_policy_number(session: AsyncSession, policy_number: str) -> Contract | None:
    return (await session.execute(select(Contract).where(Contract.policy_number == policy_number))).scalar_one_or_none()


async def upsert_known_client(session: AsyncSession, client_id: uuid.UUID, values: dict) -> None:
    """Add the client to the replica, or overwrite its `values` if it is there."""
    insert = pg_insert(KnownClient).values(id=client_id, archived=False, **values)
    changes = dict(values)
    if "name" in changes:  # an erased client's name stays "erased"
        changes["name"] = unless_erased(KnownClient.name, insert.excluded.name)
    await session.execute(insert.on_conflict_do_update(index_elements=["id"], set_=changes))


async def follow_client_department(session: AsyncSession, client_id: uuid.UUID, department_id: uuid.UUID) -> None:
    """The client's contracts take its department (the one that owns them), so their events name it: a contract made
    from a deal before the replica knew its client kept the deal's department, or none."""
    await session.execute(
        update(Contract)
        .where(Contract.client_id == client_id, Contract.department_id.is_distinct_from(department_id))
        .values(department_id=department_id)
    )


async def get_known_client(session: AsyncSession, client_id: uuid.UUID) -> KnownClient | None:
    return (await session.execute(select(KnownClient).where(KnownClient.id == client_id))).scalar_one_or_none()


async def get_known_user(session: AsyncSession, user_id: uuid.UUID):
    """The user as the identity replica knows them (id, role, department_id, active, ...), or None."""
    users = people.users
    return (await session.execute(select(users).where(users.c.id == user_id))).first()


@dataclass
class ContractFilters:
    client_id: uuid.UUID | None = None
    status: str | None = None
    opportunity_id: uuid.UUID | None = None
    specialist_id: uuid.UUID | None = None


async def list_contracts(
    session: AsyncSession, page: PageParams, filters: ContractFilters, caller: Principal
) -> tuple[list[Contract], int]:
    stmt = _scoped(select(Contract), caller)
    if filters.client_id:
        stmt = stmt.where(Contract.client_id == filters.client_id)
    if filters.status:
        stmt = stmt.where(Contract.status == filters.status)
    if filters.opportunity_id:
        stmt = stmt.where(Contract.opportunity_id == filters.opportunity_id)
    if filters.specialist_id:
        stmt = stmt.where(Contract.specialist_id == filters.specialist_id)
    paged = (
        apply_sort(stmt, page.sort, CONTRACT_SORTS, "-created_at", Contract.id).limit(page.limit).offset(page.offset)
    )
    rows = list((await session.execute(paged)).scalars())
    return rows, await page_total(session, stmt, found=len(rows), limit=page.limit, offset=page.offset)


async def insert_contract_once(session: AsyncSession, values: dict) -> Contract | None:
    """Insert a contract unless one exists for its opportunity; the new contract, or None."""
    inserted = await session.execute(
        pg_insert(Contract)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["opportunity_id"])
        .returning(Contract.id)
    )
    new_id = inserted.scalar_one_or_none()
    if new_id is None:
        return None
    return await session.get(Contract, new_id)


# The lifecycle scanner: state-conditional updates, so a contract moves once however many rounds
# (or instances) reach it; rows another transaction holds are skipped until the next round.
def _due(condition, limit: int):
    return select(Contract.id).where(*condition).order_by(Contract.id).limit(limit).with_for_update(skip_locked=True)


async def move_status(
    session: AsyncSession, *, from_status: str, to_status: str, condition: list, limit: int, stamp: dict
) -> list[Contract]:
    """UPDATE ... SET status = to WHERE status = from AND condition ... RETURNING: the contracts this call moved."""
    where = [Contract.status == from_status, *condition]
    stmt = (
        update(Contract)
        .where(Contract.id.in_(_due(where, limit)), *where)
        .values(status=to_status, **stamp)
        .returning(Contract)
        .execution_options(synchronize_session=False)
    )
    return list((await session.execute(stmt)).scalars())


async def activate_in_force(session: AsyncSession, today: date, now: datetime, limit: int) -> list[Contract]:
    return await move_status(
        session,
        from_status="issued",
        to_status="active",
        condition=[Contract.start_date <= today, Contract.end_date >= today],
        limit=limit,
        stamp={"activated_at": now, "updated_at": now},
    )


async def expire_ended(
    session: AsyncSession, from_status: str, today: date, now: datetime, limit: int
) -> list[Contract]:
    return await move_status(
        session,
        from_status=from_status,
        to_status="expired",
        condition=[Contract.end_date < today],
        limit=limit,
        stamp={"expired_at": now, "updated_at": now},
    )


async def claim_renewal_notices(
    session: AsyncSession, today: date, days_before_end: int, limit: int
) -> list[uuid.UUID]:
    """Record a renewal notice for each issued or active contract within `days_before_end` days of its end;
    return the ids recorded by this call (a contract already noticed is left alone: ON CONFLICT DO NOTHING)."""
    due = (
        select(Contract.id, literal(days_before_end, Integer), literal(today, Date))
        .where(
            Contract.status.in_(("issued", "active")),
            Contract.end_date <= today + timedelta(days=days_before_end),
            Contract.end_date >= today,
            ~select(RenewalNotice.contract_id).where(RenewalNotice.contract_id == Contract.id).exists(),
        )
        # One order for every instance, so two concurrent rounds cannot deadlock on each other's keys.
        .order_by(Contract.id)
        .limit(limit)
    )
    stmt = (
        pg_insert(RenewalNotice)
        .from_select(["contract_id", "days_before_end", "noticed_on"], due)
        .on_conflict_do_nothing(index_elements=["contract_id"])
        .returning(RenewalNotice.contract_id)
    )
    return list((await session.execute(stmt)).scalars())


async def contracts_by_ids(session: AsyncSession, ids: list[uuid.UUID]) -> list[Contract]:
    if not ids:
        return []
    return list((await session.execute(select(Contract).where(Contract.id.in_(ids)).order_by(Contract.id))).scalars())


async def pending_referral(session: AsyncSession, contract_id: uuid.UUID) -> Referral | None:
    stmt = select(Referral).where(Referral.contract_id == contract_id, Referral.status == "pending")
    return (await session.execute(stmt)).scalar_one_or_none()


async def is_renewed(session: AsyncSession, contract_id: uuid.UUID) -> bool:
    """Whether a next term's contract (not cancelled) renews this one."""
    stmt = select(Contract.id).where(Contract.renews_contract_id == contract_id, Contract.status != "cancelled")
    return (await session.execute(stmt)).first() is not None


async def claim_renewal_risks(
    session: AsyncSession, today: date, days_left: int, quoted_stages: tuple[str, ...], limit: int
) -> list[uuid.UUID]:
    """Record a risk notice for each issued or active contract within `days_left` days of its end whose renewal has
    made no progress (no deal, or an open deal not yet quoted) and that nothing renews; the ids this call recorded."""
    nxt = aliased(Contract)  # a next term's contract
    due = (
        select(Contract.id, literal(days_left, Integer), literal(today, Date))
        .outerjoin(Renewal, Renewal.contract_id == Contract.id)
        .where(
            Contract.status.in_(("issued", "active")),
            Contract.end_date <= today + timedelta(days=days_left),
            Contract.end_date >= today,
            (Renewal.contract_id.is_(None))
            | ((Renewal.deal_status == "open") & Renewal.stage_key.notin_(quoted_stages)),
            ~select(nxt.id).where(nxt.renews_contract_id == Contract.id, nxt.status != "cancelled").exists(),
            ~select(RenewalRiskNotice.contract_id).where(RenewalRiskNotice.contract_id == Contract.id).exists(),
        )
        .order_by(Contract.id)
        .limit(limit)
    )
    stmt = (
        pg_insert(RenewalRiskNotice)
        .from_select(["contract_id", "days_left", "noticed_on"], due)
        .on_conflict_do_nothing(index_elements=["contract_id"])
        .returning(RenewalRiskNotice.contract_id)
    )
    return list((await session.execute(stmt)).scalars())


async def renewals_of(session: AsyncSession, contract_ids: list[uuid.UUID]) -> dict[uuid.UUID, Renewal]:
    if not contract_ids:
        return {}
    rows = await session.execute(select(Renewal).where(Renewal.contract_id.in_(contract_ids)))
    return {r.contract_id: r for r in rows.scalars()}
