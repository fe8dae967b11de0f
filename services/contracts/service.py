"""The contracts service's rules: creation (from an accepted deal or by hand) with its base version, issue,
activation, expiry, cancellation (pro rata, short rate or flat; the refund a version), and the once-only renewal
notice. Endorsements and reinstatement are in policy.py, the versions themselves in versions.py.

Functions flush but never commit; every change writes its event to the outbox in the same transaction.
"Today" is the business date: `clock.now()` in the configured time zone.

Access: a contract is scoped by its client's owning department (from the clients replica). Admin:
all. Manager: their department's, and may write them. Employee: reads their department's; writes
(issue, cancel) only the contracts they are the specialist of, which they also always see.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts import access, versions
from services.contracts import repository as repo
from services.contracts.models import Contract, KnownClient, messaging
from services.contracts.refund import CENT, flat_refund, pro_rata_refund, short_rate_refund
from services.contracts.renewals import QUOTED_STAGES
from services.contracts.schemas import CancellationQuote, ContractCancel, ContractCreate, ContractIssue
from services.contracts.settings import ContractsSettings
from shared import clock, context
from shared.auth import Principal
from shared.contracts import FieldChange
from shared.contracts.clients import ClientCreated, ClientStatusChanged, ClientUpdated
from shared.contracts.contracts import (
    CancellationMethod,
    ContractActivated,
    ContractCancelled,
    ContractCreated,
    ContractExpired,
    ContractIssued,
    ContractRenewalAtRisk,
    ContractRenewalDue,
)
from shared.contracts.pipeline import OpportunityAccepted
from shared.contracts.privacy import ERASED
from shared.errors import Conflict, Forbidden, InputErrors, InvalidInput, NotFound
from shared.messaging.envelope import Envelope
from shared.messaging.outbox import Outbox

outbox = Outbox("contracts", messaging.outbox)

# Statuses a contract can still be cancelled from.
CANCELLABLE = ("pending_issuance", "issued", "active")
# Who may be named a contract's specialist.
SPECIALIST_ROLES = ("Employee", "Manager")


def business_today(timezone: str) -> date:
    return clock.now().astimezone(ZoneInfo(timezone)).date()


def in_force(contract: Contract, today: date) -> bool:
    return contract.start_date <= today <= contract.end_date


def snapshot(contract: Contract) -> dict[str, Any]:
    """The fields every contract event carries."""
    return {
        "contract_id": contract.id,
        "client_id": contract.client_id,
        "opportunity_id": contract.opportunity_id,
        "line_id": contract.line_id,
        "specialist_id": contract.specialist_id,
        "department_id": contract.department_id,
        "status": contract.status,
        "premium": contract.premium,
        "currency": contract.currency,
        "start_date": contract.start_date,
        "end_date": contract.end_date,
        "insurer": contract.insurer,
        "policy_number": contract.policy_number,
        "version_number": contract.version,
        "sum_insured": contract.sum_insured,
        "deductible": contract.deductible,
    }


def _status_change(before: str, after: str) -> dict[str, FieldChange]:
    return {"status": FieldChange(before=before, after=after)}


# Access ---------------------------------------------------------------------------------------------
async def get_visible(
    session: AsyncSession, contract_id: uuid.UUID, caller: Principal, *, for_update: bool = False
) -> tuple[Contract, uuid.UUID | None]:
    found = await repo.get_contract(session, contract_id, for_update=for_update)
    if found is None or not access.can_see(caller, *found):
        raise NotFound(f"no contract {contract_id}")
    return found


async def get_writable(
    session: AsyncSession, contract_id: uuid.UUID, caller: Principal, *, for_update: bool = True
) -> Contract:
    contract, department_id = await get_visible(session, contract_id, caller, for_update=for_update)
    if not access.can_write(caller, contract, department_id):
        raise Forbidden("only a Manager of the client's department, an Admin or the contract's specialist may do this")
    return contract


# Creation -------------------------------------------------------------------------------------------
async def _wait_for_client(session: AsyncSession, client_id: uuid.UUID, wait_seconds: float) -> KnownClient | None:
    """The client from the replica; a client created a moment ago may still be on its way, so wait briefly."""
    deadline = time.monotonic() + wait_seconds
    while True:
        client = await repo.get_known_client(session, client_id)
        if client is not None or time.monotonic() >= deadline:
            return client
        await asyncio.sleep(0.1)


async def _specialist(session: AsyncSession, specialist_id: uuid.UUID, caller: Principal, wait_seconds: float) -> None:
    """A contract's specialist gets its notifications and may issue and cancel it: an active Employee or Manager,
    of the caller's department unless the Admin names them (the directory of people is public, so saying why is
    no leak). A user created a moment ago may still be on the way to the replica, so wait briefly."""
    field = "body.specialist_id"
    deadline = time.monotonic() + wait_seconds
    while (user := await repo.get_known_user(session, specialist_id)) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    if user is None:
        raise InvalidInput.for_field(field, f"no user {specialist_id}")
    if not user.active:
        raise InvalidInput.for_field(field, "this user is deactivated")
    if user.role not in SPECIALIST_ROLES:
        raise InvalidInput.for_field(field, f"a specialist is an Employee or a Manager, not an {user.role}")
    if not caller.is_admin and user.department_id != caller.department_id:
        raise InvalidInput.for_field(field, "not a member of your department")


async def _add_contract(session: AsyncSession, contract: Contract, origin: str) -> None:
    await outbox.add(session, ContractCreated(**snapshot(contract), origin=origin), subject=str(contract.id))


async def create_contract(
    session: AsyncSession, data: ContractCreate, caller: Principal, settings: ContractsSettings
) -> Contract:
    """A contract by hand (Manager or Admin), for a client the caller may see and bound to no deal; given a
    policy number and issue date it is issued at once, and activated if its dates cover today."""
    problems = InputErrors()  # every field problem in one answer
    if data.start_date >= data.end_date:
        problems.add("body.end_date", "must be after start_date")
    if (data.policy_number is None) != (data.issue_date is None):
        missing = "body.issue_date" if data.issue_date is None else "body.policy_number"
        problems.add(missing, "policy_number and issue_date come together (to create it issued)")
    client = await _wait_for_client(session, data.client_id, settings.client_wait_seconds)
    if client is None or not access.may_contract_for(caller, client):
        problems.add("body.client_id", f"no client {data.client_id}")
    elif client.archived:
        problems.add("body.client_id", "the client is archived")
    if data.specialist_id is not None and data.specialist_id != caller.user_id:
        with problems.gather():
            await _specialist(session, data.specialist_id, caller, settings.client_wait_seconds)
    problems.raise_if_any()
    assert client is not None
    today = business_today(settings.business_timezone)
    if data.issue_date is not None and data.policy_number is not None:
        _check_issue(data.issue_date, data.end_date, today)
        await _check_policy_number_free(session, data.policy_number)
    now = clock.now()
    contract = Contract(
        id=uuid.uuid4(),
        client_id=data.client_id,
        opportunity_id=None,  # a deal's contract comes from its acceptance only (ContractCreate)
        line_id=data.line_id,
        line_name=data.line_name,
        specialist_id=data.specialist_id or caller.user_id,
        department_id=client.department_id,
        origin="manual",
        status="pending_issuance",
        premium=data.premium,
        currency=data.currency,
        start_date=data.start_date,
        end_date=data.end_date,
        insurer=data.insurer,
        sum_insured=data.sum_insured,
        deductible=data.deductible,
        covered_items=[item.model_dump(mode="json") for item in data.covered_items],
        version=1,
        created_by=str(context.current_actor()),
        created_at=now,
        updated_at=now,
    )
    session.add(contract)
    await _flush(session)
    await versions.add_base_version(session, contract)
    await _add_contract(session, contract, "manual")
    if data.issue_date is not None and data.policy_number is not None:
        await _issue(session, contract, data.policy_number, data.issue_date, today)
    return contract


async def create_from_accepted_deal(
    session: AsyncSession, envelope: Envelope, data: OpportunityAccepted
) -> Contract | None:
    """The deal's contract, from the agreed terms, once per deal: the new contract, or None when it exists."""
    terms = data.terms
    problems: list[dict[str, str]] = []
    if terms.premium <= 0:
        problems.append({"field": "terms.premium", "message": "must be greater than 0"})
    if terms.start_date >= terms.end_date:
        problems.append({"field": "terms.start_date", "message": "must be before end_date"})
    currency = terms.currency.upper()
    if len(currency) != 3 or not currency.isalpha():
        problems.append({"field": "terms.currency", "message": "must be an ISO 4217 code"})
    if problems:
        # A refusal, not a failure that passes: parked at once, with this reason, for a person to look at.
        raise InvalidInput(
            f"accepted deal {data.opportunity_id} has unusable terms: "
            + "; ".join(f"{p['field']} {p['message']}" for p in problems),
            errors=problems,
        )
    client = await repo.get_known_client(session, data.client_id)
    now = clock.now()
    contract = await repo.insert_contract_once(
        session,
        {
            # The id pipeline gave the deal's contract when it was accepted (the deal already shows it).
            "id": data.contract_id or uuid.uuid4(),
            "client_id": data.client_id,
            "opportunity_id": data.opportunity_id,
            "line_id": data.line_id,
            "line_name": data.line_name,
            "specialist_id": data.owner_id,
            "department_id": client.department_id if client and client.department_id else data.department_id,
            "origin": "deal",
            "status": "pending_issuance",
            "premium": terms.premium.quantize(CENT, rounding=ROUND_HALF_EVEN),
            "currency": currency,
            "start_date": terms.start_date,
            "end_date": terms.end_date,
            "insurer": terms.insurer,
            "renews_contract_id": data.renews_contract_id,
            "created_by": str(envelope.actor) if envelope.actor else None,
            "created_at": now,
            "updated_at": now,
        },
    )
    if contract is not None:
        await versions.add_base_version(session, contract)
        await _add_contract(session, contract, "deal")
        return contract
    held = await repo.get_by_opportunity(session, data.opportunity_id)
    if held is not None and held.origin != "deal":
        # Only a contract made by hand before they were refused a deal (ContractCreate) can hold it: parked for a
        # person, never taken as the deal's contract.
        raise InvalidInput(
            f"accepted deal {data.opportunity_id} is held by hand-made contract {held.id}; its contract was not created",
            errors=[{"field": "opportunity_id", "message": f"held by hand-made contract {held.id}"}],
        )
    return None


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        text = str(exc.orig)
        if "policy_number" in text:
            raise Conflict(
                "the policy number is taken", errors=[{"field": "body.policy_number", "message": "already used"}]
            ) from exc
        raise


# Issue ----------------------------------------------------------------------------------------------
def _check_issue(issue_date: date, end_date: date, today: date) -> None:
    if issue_date > today:
        raise InvalidInput.for_field("body.issue_date", f"may not be in the future (today is {today})")
    if issue_date > end_date:
        raise InvalidInput.for_field("body.issue_date", "may not be after the contract's end date")


async def _check_policy_number_free(session: AsyncSession, policy_number: str) -> None:
    if await repo.get_by_policy_number(session, policy_number):
        raise Conflict(
            "the policy number is taken", errors=[{"field": "body.policy_number", "message": "already used"}]
        )


async def _issue(session: AsyncSession, contract: Contract, policy_number: str, issue_date: date, today: date) -> None:
    now = clock.now()
    before = {"status": contract.status, "policy_number": contract.policy_number, "issue_date": None}
    contract.status, contract.policy_number, contract.issue_date = "issued", policy_number, issue_date
    contract.issued_at = contract.updated_at = now
    await _flush(session)
    await outbox.add(
        session,
        ContractIssued(
            **snapshot(contract),
            issue_date=issue_date,
            changes={
                "status": FieldChange(before=before["status"], after="issued"),
                "policy_number": FieldChange(before=before["policy_number"], after=policy_number),
                "issue_date": FieldChange(before=None, after=issue_date.isoformat()),
            },
        ),
        subject=str(contract.id),
    )
    if in_force(contract, today):
        contract.status, contract.activated_at = "active", now
        await session.flush()
        await outbox.add(
            session,
            ContractActivated(**snapshot(contract), changes=_status_change("issued", "active")),
            subject=str(contract.id),
        )


async def issue_contract(
    session: AsyncSession, contract_id: uuid.UUID, data: ContractIssue, caller: Principal, settings: ContractsSettings
) -> Contract:
    contract = await get_writable(session, contract_id, caller)
    if contract.status != "pending_issuance":
        raise Conflict(f"the contract is {contract.status}; only a contract pending issuance can be issued")
    held = await repo.pending_referral(session, contract.id)
    if held is not None:
        raise Conflict(
            "the contract is held for a Manager's approval (a referral rule fired); it can be issued once approved",
            errors=[{"field": "path.contract_id", "message": f"held by referral {held.id}"}],
        )
    today = business_today(settings.business_timezone)
    _check_issue(data.issue_date, contract.end_date, today)
    await _check_policy_number_free(session, data.policy_number)
    await _issue(session, contract, data.policy_number, data.issue_date, today)
    return contract


# Cancellation ---------------------------------------------------------------------------------------
async def _cancellation(
    session: AsyncSession,
    contract: Contract,
    method: str,
    effective_date: date | None,
    settings: ContractsSettings,
    where: str,
) -> tuple[date, Decimal]:
    """The effective date and refund of cancelling `contract` by `method`, or the problem naming the field
    (`where` is `body` or `query`)."""
    if contract.status not in CANCELLABLE:
        raise Conflict(
            f"the contract is already {contract.status}",
            errors=[{"field": "path.contract_id", "message": f"the contract is {contract.status}"}],
        )
    if method == "flat":
        today = business_today(settings.business_timezone)
        latest = contract.start_date + timedelta(days=settings.flat_cancellation_days)
        if today > latest:
            raise InvalidInput.for_field(
                f"{where}.method",
                f"a flat cancellation is allowed only before the start date or within "
                f"{settings.flat_cancellation_days} days after it (until {latest}); today is {today}",
            )
        if effective_date is not None and effective_date != contract.start_date:
            raise InvalidInput.for_field(
                f"{where}.effective_date", f"a flat cancellation takes effect on the start date, {contract.start_date}"
            )
        return contract.start_date, flat_refund(await versions.charged(session, contract.id))
    field = f"{where}.effective_date"
    if effective_date is None:
        raise InvalidInput.for_field(field, f"required for a {method} cancellation")
    if not contract.start_date <= effective_date <= contract.end_date:
        raise InvalidInput.for_field(
            field, f"must lie within the contract's period, {contract.start_date} to {contract.end_date}"
        )
    last = await versions.last_version(session, contract)
    if effective_date < last.effective_date:
        raise InvalidInput.for_field(
            field,
            f"before the effective date of version {last.number} ({last.kind}, {last.effective_date}): "
            "a cancellation takes effect on or after the last version's",
        )
    if method == "short_rate":
        penalty = settings.short_rate_penalty_percent / 100
        refund = short_rate_refund(contract.premium, contract.start_date, contract.end_date, effective_date, penalty)
    else:
        refund = pro_rata_refund(contract.premium, contract.start_date, contract.end_date, effective_date)
    return effective_date, refund


async def cancellation_quote(
    session: AsyncSession,
    contract_id: uuid.UUID,
    effective_date: date | None,
    method: CancellationMethod,
    caller: Principal,
    settings: ContractsSettings,
) -> CancellationQuote:
    """The refund a cancellation would store, for whoever may cancel; nothing changes."""
    contract = await get_writable(session, contract_id, caller, for_update=False)
    effective, refund = await _cancellation(session, contract, method, effective_date, settings, "query")
    return CancellationQuote(
        contract_id=contract.id,
        method=method,
        effective_date=effective,
        premium=contract.premium,
        currency=contract.currency,
        refund=refund,
        days_remaining=(contract.end_date - effective).days,
        days_in_term=(contract.end_date - contract.start_date).days,
    )


async def cancel_contract(
    session: AsyncSession, contract_id: uuid.UUID, data: ContractCancel, caller: Principal, settings: ContractsSettings
) -> Contract:
    contract = await get_writable(session, contract_id, caller)
    effective, refund = await _cancellation(session, contract, data.method, data.effective_date, settings, "body")
    return await cancel(session, contract, data.method, effective, refund, data.reason)


async def cancel(
    session: AsyncSession,
    contract: Contract,
    method: CancellationMethod,
    effective: date,
    refund: Decimal,
    reason: str,
) -> Contract:
    """Close the contract with a cancellation version carrying the refund, and say so."""
    before = contract.status
    now = clock.now()
    await versions.add_version(
        session,
        contract,
        kind="cancellation",
        effective_date=effective,
        terms=versions.terms_of(contract),
        delta=-refund,
        reason=reason,
        cancellation_method=method,
        refund=refund,
        status_before=before,
    )
    contract.refund, contract.cancel_method = refund, method
    contract.status, contract.cancel_reason, contract.cancel_effective_date = "cancelled", reason, effective
    contract.cancelled_at = contract.updated_at = now
    await session.flush()
    await outbox.add(
        session,
        ContractCancelled(
            **snapshot(contract),
            reason=reason,
            effective_date=effective,
            refund=refund,
            method=method,
            changes={
                **_status_change(before, "cancelled"),
                "refund": FieldChange(before=None, after=str(refund)),
                "version": FieldChange(before=contract.version - 1, after=contract.version),
            },
        ),
        subject=str(contract.id),
    )
    return contract


# The lifecycle scanner ------------------------------------------------------------------------------
async def lifecycle_scan(
    session: AsyncSession, *, today: date, renewal_days: int, batch_size: int, at_risk_days: int | None = None
) -> dict[str, int]:
    """One round: activate issued contracts now in force, expire those past their end date (lapsed when nothing
    renews them), write the renewal notice of those within `renewal_days` of their end and, with `at_risk_days`,
    flag the renewals without progress that close. Idempotent; safe to run concurrently."""
    now: datetime = clock.now()
    activated = await repo.activate_in_force(session, today, now, batch_size)
    for contract in activated:
        await outbox.add(
            session,
            ContractActivated(**snapshot(contract), changes=_status_change("issued", "active")),
            subject=str(contract.id),
        )
    expired = 0
    for from_status in ("active", "issued"):
        for contract in await repo.expire_ended(session, from_status, today, now, batch_size):
            lapsed = not await repo.is_renewed(session, contract.id)
            await outbox.add(
                session,
                ContractExpired(**snapshot(contract), changes=_status_change(from_status, "expired"), lapsed=lapsed),
                subject=str(contract.id),
            )
            expired += 1
    noticed = await repo.claim_renewal_notices(session, today, renewal_days, batch_size)
    for contract in await repo.contracts_by_ids(session, noticed):
        await outbox.add(
            session, ContractRenewalDue(**snapshot(contract), days_before_end=renewal_days), subject=str(contract.id)
        )
    at_risk = []
    if at_risk_days is not None:
        at_risk = await repo.claim_renewal_risks(session, today, at_risk_days, QUOTED_STAGES, batch_size)
        renewals = await repo.renewals_of(session, at_risk)
        for contract in await repo.contracts_by_ids(session, at_risk):
            renewal = renewals.get(contract.id)
            await outbox.add(
                session,
                ContractRenewalAtRisk(
                    **snapshot(contract),
                    days_left=(contract.end_date - today).days,
                    renewal_status="not_started" if renewal is None else "in_progress",
                    opportunity_id_of_renewal=renewal.opportunity_id if renewal else None,
                    owner_id=renewal.owner_id if renewal and renewal.owner_id else contract.specialist_id,
                ),
                subject=str(contract.id),
            )
    return {
        "activated": len(activated),
        "expired": expired,
        "renewal_due": len(noticed),
        "renewal_at_risk": len(at_risk),
    }


# The clients replica --------------------------------------------------------------------------------
async def on_client_created(session: AsyncSession, envelope: Envelope, data: ClientCreated) -> None:
    values = {
        "name": data.name,
        "department_id": data.department_id,
        "status": data.status,
        "country": data.country,
        "updated_at": clock.now(),
    }
    await repo.upsert_known_client(session, data.client_id, values)
    if data.department_id is not None:
        await repo.follow_client_department(session, data.client_id, data.department_id)


async def on_client_updated(session: AsyncSession, envelope: Envelope, data: ClientUpdated) -> None:
    client = await repo.get_known_client(session, data.client_id)
    if client is None:
        return
    for field in ("name", "department_id", "archived", "country"):
        if field == "name" and client.name == ERASED:
            continue  # a rename still on its way when the person was erased brings no name back
        if field in data.changes:
            value = data.changes[field].after
            setattr(client, field, uuid.UUID(value) if field == "department_id" and value else value)
    client.updated_at = clock.now()
    await session.flush()
    if "department_id" in data.changes and client.department_id is not None:
        await repo.follow_client_department(session, data.client_id, client.department_id)


async def on_client_status_changed(session: AsyncSession, envelope: Envelope, data: ClientStatusChanged) -> None:
    client = await repo.get_known_client(session, data.client_id)
    if client is not None and "status" in data.changes:
        client.status = data.changes["status"].after
        client.updated_at = clock.now()
        await session.flush()
