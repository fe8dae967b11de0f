"""What happens to a policy after it is written: endorsements (requested, then bound by a person or withdrawn),
reinstatement of a cancelled contract, and the version history.

Endorsements:
- Requested by whoever may change the contract (its specialist, a Manager of its department, the Admin), with an
  effective date inside the period (start <= date < end), the terms that change and a reason. At most one is open
  per contract. The request event names Policy Administration's department; tasks opens the work there for its
  least-loaded member.
- Bound (a new version, its delta `(new annual - old annual) x days remaining / days in term`) or withdrawn by a
  person: the Admin, anyone who may change the contract, or a member of Policy Administration.
- Out-of-order endorsements are refused, not re-rated: an effective date before the effective date of the
  contract's last version (an endorsement already bound, a reinstatement) is refused when requested and, should
  such a version have been bound in between, again when bound (422 naming `body.effective_date`, or 409). Each
  version's delta is therefore computed once, against the terms actually in force before it, and never changes.

Reinstatement: a cancelled contract, within the configured window after its cancellation (business days of the
cancellation's recording), becomes a new version with the terms before the cancellation, in force again from the
cancellation's effective date (no gap in cover); its delta charges back the refund. The contract returns to the
status its dates give it (pending issuance if it was never issued).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts import access, referrals, versions
from services.contracts import repository as repo
from services.contracts.models import Contract, Endorsement, people
from services.contracts.refund import endorsement_delta
from services.contracts.schemas import EndorsementOut, EndorsementRequest, EndorsementWithdraw, Reinstatement
from services.contracts.service import business_today, get_visible, get_writable, outbox, snapshot
from services.contracts.settings import ContractsSettings
from shared import clock
from shared.auth import Principal
from shared.contracts import FieldChange, field_changes
from shared.contracts.contracts import (
    ContractEndorsed,
    ContractEndorsementRequested,
    ContractEndorsementWithdrawn,
    ContractReinstated,
    VersionDelta,
)
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound

ENDORSABLE = ("pending_issuance", "issued", "active")


async def policy_admin_department(session: AsyncSession, settings: ContractsSettings) -> uuid.UUID | None:
    """The id of the department that binds endorsements, from the identity replica (None: not known yet)."""
    departments = people.departments
    stmt = select(departments.c.id).where(departments.c.name == settings.policy_admin_department)
    return (await session.execute(stmt)).scalars().first()


async def for_endorsement(
    session: AsyncSession, contract_id: uuid.UUID, caller: Principal, settings: ContractsSettings, *, lock: bool
) -> tuple[Contract, bool]:
    """The contract, if the caller may see it or is a member of Policy Administration (who administers every
    policy); and whether they may bind and withdraw its endorsements."""
    admin_department = await policy_admin_department(session, settings)
    in_admin = admin_department is not None and caller.department_id == admin_department
    try:
        contract, department_id = await get_visible(session, contract_id, caller, for_update=lock)
    except NotFound:
        if not in_admin:
            raise
        found = await repo.get_contract(session, contract_id, for_update=lock)
        if found is None:
            raise
        contract, department_id = found
    return contract, in_admin or access.can_write(caller, contract, department_id)


def _state_problem(contract: Contract, action: str) -> Conflict:
    return Conflict(
        f"the contract is {contract.status}; {action}",
        errors=[{"field": "path.contract_id", "message": f"the contract is {contract.status}"}],
    )


def _out_of_order(last_number: int, last_kind: str, last_date: Any) -> str:
    return (
        f"before the effective date of version {last_number} ({last_kind}, {last_date}): out-of-order endorsements "
        "are refused; request it from that date or later"
    )


def _proposed(contract: Contract, data: EndorsementRequest) -> dict[str, Any]:
    terms = versions.terms_of(contract)
    given = data.model_dump(exclude_unset=True, include=set(versions.TERM_FIELDS), mode="python")
    if "covered_items" in given and data.covered_items is not None:
        given["covered_items"] = [item.model_dump(mode="json") for item in data.covered_items]
    for field, value in given.items():
        if value is not None or field in ("sum_insured", "deductible"):
            terms[field] = value
    return terms


def _out(endorsement: Endorsement, delta: Decimal | None = None) -> EndorsementOut:
    out = EndorsementOut.model_validate(endorsement)
    return out.model_copy(update={"delta": delta}) if delta is not None else out


async def request_endorsement(
    session: AsyncSession,
    contract_id: uuid.UUID,
    data: EndorsementRequest,
    caller: Principal,
    settings: ContractsSettings,
) -> EndorsementOut:
    contract = await get_writable(session, contract_id, caller)
    if contract.status not in ENDORSABLE:
        raise _state_problem(contract, "only a contract pending issuance, issued or active can be endorsed")
    if not contract.start_date <= data.effective_date < contract.end_date:
        raise InvalidInput.for_field(
            "body.effective_date",
            f"must lie within the contract's period: from {contract.start_date} to before {contract.end_date}",
        )
    last = await versions.last_version(session, contract)
    if data.effective_date < last.effective_date:
        raise InvalidInput.for_field("body.effective_date", _out_of_order(last.number, last.kind, last.effective_date))
    # The contract is locked: no other request can slip in between this look and the insert (and a unique index
    # of open endorsements per contract backs it).
    open_one = select(Endorsement.id).where(Endorsement.contract_id == contract.id, Endorsement.status == "requested")
    if (await session.execute(open_one)).first() is not None:
        raise Conflict(
            "an endorsement of this contract is already open: bind or withdraw it first",
            errors=[{"field": "path.contract_id", "message": "has an open endorsement"}],
        )
    terms = _proposed(contract, data)
    if versions.terms_json(terms) == versions.terms_json(versions.terms_of(contract)):
        raise InvalidInput.for_field("body", "no term changes: give at least one of the terms with a new value")
    now = clock.now()
    endorsement = Endorsement(
        id=uuid.uuid4(),
        contract_id=contract.id,
        status="requested",
        effective_date=data.effective_date,
        reason=data.reason,
        **terms,
        based_on_version=contract.version,
        requested_by=versions.actor(),
        requested_at=now,
    )
    session.add(endorsement)
    await session.flush()
    delta = endorsement_delta(
        contract.premium, endorsement.premium, contract.start_date, contract.end_date, data.effective_date
    )
    await outbox.add(
        session,
        ContractEndorsementRequested(
            **snapshot(contract),
            endorsement_id=endorsement.id,
            effective_date=endorsement.effective_date,
            reason=endorsement.reason,
            proposed=versions.terms_json(terms),
            delta=delta,
            route_department_id=await policy_admin_department(session, settings),
            line_name=contract.line_name,
        ),
        subject=str(contract.id),
    )
    return _out(endorsement, delta)


async def _open_endorsement(session: AsyncSession, contract: Contract, endorsement_id: uuid.UUID) -> Endorsement:
    stmt = (
        select(Endorsement)
        .where(Endorsement.id == endorsement_id, Endorsement.contract_id == contract.id)
        .with_for_update()
    )
    endorsement = (await session.execute(stmt)).scalar_one_or_none()
    if endorsement is None:
        raise NotFound(f"no endorsement {endorsement_id} of contract {contract.id}")
    if endorsement.status != "requested":
        raise Conflict(
            f"the endorsement is already {endorsement.status}",
            errors=[{"field": "path.endorsement_id", "message": f"already {endorsement.status}"}],
        )
    return endorsement


async def bind_endorsement(
    session: AsyncSession,
    contract_id: uuid.UUID,
    endorsement_id: uuid.UUID,
    caller: Principal,
    settings: ContractsSettings,
) -> EndorsementOut:
    contract, may = await for_endorsement(session, contract_id, caller, settings, lock=True)
    if not may:
        raise Forbidden("only Policy Administration, the contract's specialist, its Manager or an Admin may bind it")
    endorsement = await _open_endorsement(session, contract, endorsement_id)
    if contract.status not in ENDORSABLE:
        raise _state_problem(contract, "withdraw the endorsement instead")
    last = await versions.last_version(session, contract)
    if endorsement.effective_date < last.effective_date:
        raise Conflict(
            _out_of_order(last.number, last.kind, last.effective_date),
            errors=[{"field": "effective_date", "message": _out_of_order(last.number, last.kind, last.effective_date)}],
        )
    before = versions.terms_of(contract)
    after = versions.terms_of(endorsement)
    if not await referrals.approved_for(session, endorsement.id):
        held = await repo.pending_referral(session, contract.id)
        if held is not None:
            raise Conflict(
                "held for a Manager's approval (a referral rule fired)",
                errors=[{"field": "path.contract_id", "message": f"held by referral {held.id}"}],
            )
        referral = await referrals.refer_if_needed(session, contract, "endorsement", after, endorsement.id)
        if referral is not None:
            return _out(endorsement).model_copy(update={"referral_id": referral.id})
    delta = endorsement_delta(
        contract.premium, endorsement.premium, contract.start_date, contract.end_date, endorsement.effective_date
    )
    version = await versions.add_version(
        session,
        contract,
        kind="endorsement",
        effective_date=endorsement.effective_date,
        terms=after,
        delta=delta,
        reason=endorsement.reason,
        endorsement_id=endorsement.id,
    )
    now = clock.now()
    endorsement.status, endorsement.version_number = "bound", version.number
    endorsement.decided_by, endorsement.decided_at = versions.actor(), now
    contract.updated_at = now
    await session.flush()
    await outbox.add(
        session,
        ContractEndorsed(
            **snapshot(contract),
            endorsement_id=endorsement.id,
            added_version=_delta_of(version),
            reason=endorsement.reason,
            changes={
                **field_changes(versions.terms_json(before), versions.terms_json(after)),
                "version": FieldChange(before=version.number - 1, after=version.number),
            },
        ),
        subject=str(contract.id),
    )
    return _out(endorsement)


async def withdraw_endorsement(
    session: AsyncSession,
    contract_id: uuid.UUID,
    endorsement_id: uuid.UUID,
    data: EndorsementWithdraw,
    caller: Principal,
    settings: ContractsSettings,
) -> EndorsementOut:
    contract, may = await for_endorsement(session, contract_id, caller, settings, lock=True)
    if not may:
        raise Forbidden(
            "only Policy Administration, the contract's specialist, its Manager or an Admin may withdraw it"
        )
    endorsement = await _open_endorsement(session, contract, endorsement_id)
    endorsement.status, endorsement.withdraw_reason = "withdrawn", data.reason
    endorsement.decided_by, endorsement.decided_at = versions.actor(), clock.now()
    await session.flush()
    await outbox.add(
        session,
        ContractEndorsementWithdrawn(**snapshot(contract), endorsement_id=endorsement.id, reason=data.reason),
        subject=str(contract.id),
    )
    return _out(endorsement)


async def list_endorsements(
    session: AsyncSession, contract_id: uuid.UUID, caller: Principal, settings: ContractsSettings
) -> list[EndorsementOut]:
    contract, _ = await for_endorsement(session, contract_id, caller, settings, lock=False)
    stmt = select(Endorsement).where(Endorsement.contract_id == contract.id).order_by(Endorsement.requested_at)
    out = []
    for endorsement in (await session.execute(stmt)).scalars():
        delta = None
        if endorsement.status == "requested":
            delta = endorsement_delta(
                contract.premium,
                endorsement.premium,
                contract.start_date,
                contract.end_date,
                endorsement.effective_date,
            )
        out.append(_out(endorsement, delta))
    return out


def _delta_of(version) -> VersionDelta:
    return VersionDelta(
        number=version.number,
        kind=version.kind,
        effective_date=version.effective_date,
        delta=version.delta,
        days_remaining=version.days_remaining,
        days_in_term=version.days_in_term,
    )


# Reinstatement --------------------------------------------------------------------------------------
async def reinstate(
    session: AsyncSession, contract_id: uuid.UUID, data: Reinstatement, caller: Principal, settings: ContractsSettings
) -> Contract:
    contract = await get_writable(session, contract_id, caller)
    if contract.status != "cancelled":
        raise _state_problem(contract, "only a cancelled contract can be reinstated")
    cancellation = await versions.last_version(session, contract)
    today = business_today(settings.business_timezone)
    cancelled_on = cancellation.created_at.astimezone(ZoneInfo(settings.business_timezone)).date()
    last_day = cancelled_on + timedelta(days=settings.reinstatement_window_days)
    if today > last_day:
        message = (
            f"cancelled on {cancelled_on}: the reinstatement window of {settings.reinstatement_window_days} days "
            f"ended on {last_day} (today is {today})"
        )
        raise Conflict(message, errors=[{"field": "cancelled_at", "message": message}])
    if today > contract.end_date:
        raise Conflict(
            f"the contract's period ended on {contract.end_date}",
            errors=[{"field": "end_date", "message": "the period has ended: nothing to reinstate"}],
        )
    before = contract.status
    refund = cancellation.refund or Decimal("0")
    version = await versions.add_version(
        session,
        contract,
        kind="reinstatement",
        effective_date=cancellation.effective_date,
        terms=versions.terms_of(cancellation),
        delta=refund,
        reason=data.reason,
    )
    now = clock.now()
    if cancellation.status_before == "pending_issuance" or contract.policy_number is None:
        status = "pending_issuance"
    else:
        status = "active" if contract.start_date <= today else "issued"
    contract.status = status
    contract.refund = contract.cancel_method = contract.cancel_reason = contract.cancel_effective_date = None
    contract.cancelled_at = None
    contract.reinstated_at = contract.updated_at = now
    await session.flush()
    await outbox.add(
        session,
        ContractReinstated(
            **snapshot(contract),
            added_version=_delta_of(version),
            reason=data.reason,
            changes={
                "status": FieldChange(before=before, after=status),
                "refund": FieldChange(before=str(refund), after=None),
                "version": FieldChange(before=version.number - 1, after=version.number),
            },
        ),
        subject=str(contract.id),
    )
    return contract
