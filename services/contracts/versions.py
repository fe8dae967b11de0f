"""A contract's versions: each is written once (a trigger refuses changing or removing one) and the contract's
current terms are copied from the last one in the same transaction, so they are always that version's terms.

Terms are the annual premium, the sum insured (or limit), the deductible, the covered items (structured data)
and the insurer; currency and period belong to the contract."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts.models import Contract, ContractVersion, Endorsement
from shared import clock, context
from shared.contracts.base import json_value

TERM_FIELDS = ("premium", "sum_insured", "deductible", "covered_items", "insurer")


def terms_of(row: Contract | ContractVersion | Endorsement) -> dict[str, Any]:
    return {field: getattr(row, field) for field in TERM_FIELDS}


def terms_json(terms: dict[str, Any]) -> dict[str, Any]:
    return {k: json_value(v) for k, v in terms.items()}


def actor() -> str | None:
    current = context.current_actor()
    return str(current) if current else None


async def add_version(
    session: AsyncSession,
    contract: Contract,
    *,
    kind: str,
    effective_date: date,
    terms: dict[str, Any],
    delta: Decimal,
    reason: str | None = None,
    cancellation_method: str | None = None,
    refund: Decimal | None = None,
    status_before: str | None = None,
    endorsement_id: uuid.UUID | None = None,
) -> ContractVersion:
    """Append the next version (1 for the base) and make its terms the contract's current ones."""
    number = 1 if kind == "base" else contract.version + 1
    days_in_term = (contract.end_date - contract.start_date).days
    version = ContractVersion(
        id=uuid.uuid4(),
        contract_id=contract.id,
        number=number,
        kind=kind,
        effective_date=effective_date,
        **terms,
        delta=delta,
        days_remaining=(contract.end_date - effective_date).days,
        days_in_term=days_in_term,
        reason=reason,
        cancellation_method=cancellation_method,
        refund=refund,
        status_before=status_before,
        endorsement_id=endorsement_id,
        created_by=actor(),
        created_at=clock.now(),
    )
    session.add(version)
    for field, value in terms.items():
        setattr(contract, field, value)
    contract.version = number
    await session.flush()
    return version


async def add_base_version(session: AsyncSession, contract: Contract) -> ContractVersion:
    """A new contract's first version: its terms from the start date, the whole premium charged."""
    return await add_version(
        session,
        contract,
        kind="base",
        effective_date=contract.start_date,
        terms=terms_of(contract),
        delta=contract.premium,
    )


async def history(session: AsyncSession, contract_id: uuid.UUID) -> list[ContractVersion]:
    stmt = select(ContractVersion).where(ContractVersion.contract_id == contract_id).order_by(ContractVersion.number)
    return list((await session.execute(stmt)).scalars())


async def last_version(session: AsyncSession, contract: Contract) -> ContractVersion:
    stmt = select(ContractVersion).where(
        ContractVersion.contract_id == contract.id, ContractVersion.number == contract.version
    )
    return (await session.execute(stmt)).scalar_one()


async def charged(session: AsyncSession, contract_id: uuid.UUID) -> Decimal:
    """Everything the versions charged, net of what they returned."""
    stmt = select(func.coalesce(func.sum(ContractVersion.delta), 0)).where(ContractVersion.contract_id == contract_id)
    return Decimal((await session.execute(stmt)).scalar_one())
