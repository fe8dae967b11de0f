"""The contracts HTTP API. Thin: rules live in service.py, queries in repository.py."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from services.contracts import policy, referrals, renewals, service, versions
from services.contracts import repository as repo
from services.contracts.schemas import (
    CancellationQuote,
    ContractCancel,
    ContractCreate,
    ContractIssue,
    ContractOut,
    EndorsementOut,
    EndorsementRequest,
    EndorsementWithdraw,
    ReferralDecision,
    ReferralOut,
    ReferralRuleIn,
    ReferralRuleOut,
    ReferralRulePatch,
    Reinstatement,
    RenewalRow,
    RenewalStatus,
    RetentionOut,
    VersionHistory,
    VersionOut,
)
from shared.contracts.contracts import CancellationMethod, ContractStatus
from shared.db import TransactionalRoute
from shared.endpoints import Admin, Caller, Manager, Session, problems
from shared.pagination import Page, PageParams, page_params

PROBLEMS = problems(s409="The contract's state does not allow it, or a duplicate (problem+json)")

router = APIRouter(
    route_class=TransactionalRoute, tags=["contracts"], responses={401: PROBLEMS[401], 422: PROBLEMS[422]}
)
# Declared before `router` (its `/api/v1/contracts/{contract_id}` would otherwise take these paths).
referral_router = APIRouter(
    route_class=TransactionalRoute, tags=["referrals"], responses={401: PROBLEMS[401], 422: PROBLEMS[422]}
)


@referral_router.get(
    "/api/v1/contracts/renewals",
    response_model=list[RenewalRow],
    tags=["renewals"],
    summary="The renewal workbench: contracts ending soon (or just ended) with their renewal status, expiring and "
    "proposed premium, change, risk flag and owner; sorted by end date (at most 1000)",
)
async def renewal_workbench(
    request: Request,
    session: Session,
    caller: Caller,
    within_days: Annotated[int, Query(ge=0, le=3660, description="Contracts ending up to this many days ahead.")] = 60,
    ended_days: Annotated[int, Query(ge=0, le=3660, description="And those that ended up to this many days ago.")] = 30,
    line_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    status_: Annotated[RenewalStatus | None, Query(alias="status")] = None,
):
    settings = request.app.state.settings
    filters = renewals.WorkbenchFilters(
        within_days=within_days,
        ended_days=ended_days,
        line_id=line_id,
        owner_id=owner_id,
        department_id=department_id,
        status=status_,
    )
    today = service.business_today(settings.business_timezone)
    return await renewals.workbench(session, caller, filters, settings, today)


@referral_router.get(
    "/api/v1/contracts/renewals/retention",
    response_model=RetentionOut,
    tags=["renewals"],
    summary="The renewal (retention) rate per line and per specialist: of the contracts that ended in the window "
    "(cancelled ones left out), how many a next term's contract renews",
)
async def renewal_retention(
    request: Request,
    session: Session,
    caller: Caller,
    since_days: Annotated[int, Query(ge=1, le=3660, description="Contracts that ended this many days back.")] = 365,
):
    today = service.business_today(request.app.state.settings.business_timezone)
    by_line, by_specialist = await renewals.retention(session, caller, today=today, since_days=since_days)
    return RetentionOut(since_days=since_days, by_line=by_line, by_specialist=by_specialist)


@referral_router.get(
    "/api/v1/contracts/referral-rules",
    response_model=list[ReferralRuleOut],
    summary="The referral rules (Manager, Admin)",
)
async def list_referral_rules(session: Session, caller: Manager):
    return [ReferralRuleOut.model_validate(r) for r in await referrals.list_rules(session)]


@referral_router.post(
    "/api/v1/contracts/referral-rules",
    response_model=ReferralRuleOut,
    status_code=status.HTTP_201_CREATED,
    summary="Add a referral rule (Admin): premium or sum insured above, deductible below, country in a list",
    responses={403: PROBLEMS[403]},
)
async def create_referral_rule(body: ReferralRuleIn, session: Session, caller: Admin):
    return ReferralRuleOut.model_validate(await referrals.create_rule(session, body))


@referral_router.patch(
    "/api/v1/contracts/referral-rules/{rule_id}",
    response_model=ReferralRuleOut,
    summary="Change a referral rule or switch it off (Admin)",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404]},
)
async def update_referral_rule(rule_id: uuid.UUID, body: ReferralRulePatch, session: Session, caller: Admin):
    return ReferralRuleOut.model_validate(await referrals.update_rule(session, rule_id, body))


@referral_router.get(
    "/api/v1/contracts/referrals",
    response_model=list[ReferralOut],
    summary="Referrals of the contracts the caller may see, newest first (at most 500)",
)
async def list_referrals(
    session: Session,
    caller: Caller,
    status_: Annotated[str | None, Query(alias="status", pattern="^(pending|approved|declined)$")] = None,
):
    return [ReferralOut.model_validate(r) for r in await referrals.list_referrals(session, caller, status_)]


@referral_router.post(
    "/api/v1/contracts/referrals/{referral_id}/approve",
    response_model=ReferralOut,
    summary="Approve a referral (a Manager of the contract's department, Admin): the held step goes ahead",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def approve_referral(referral_id: uuid.UUID, request: Request, session: Session, caller: Caller):
    return ReferralOut.model_validate(await referrals.approve(session, referral_id, caller, request.app.state.settings))


@referral_router.post(
    "/api/v1/contracts/referrals/{referral_id}/decline",
    response_model=ReferralOut,
    summary="Decline a referral with a reason: the contract is closed (flat), or the endorsement withdrawn",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def decline_referral(
    referral_id: uuid.UUID, body: ReferralDecision, request: Request, session: Session, caller: Caller
):
    return ReferralOut.model_validate(
        await referrals.decline(session, referral_id, body, caller, request.app.state.settings)
    )


@router.get(
    "/api/v1/contracts",
    response_model=Page[ContractOut],
    summary="List contracts (Admin: all; others: their department's and those they are specialist of)",
)
async def list_contracts(
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    client_id: uuid.UUID | None = None,
    status_: Annotated[ContractStatus | None, Query(alias="status")] = None,
    opportunity_id: uuid.UUID | None = None,
    specialist_id: uuid.UUID | None = None,
):
    filters = repo.ContractFilters(
        client_id=client_id, status=status_, opportunity_id=opportunity_id, specialist_id=specialist_id
    )
    items, total = await repo.list_contracts(session, page, filters, caller)
    return Page(items=[ContractOut.model_validate(c) for c in items], total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/api/v1/contracts",
    response_model=ContractOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a contract by hand (Manager, Admin); optionally already issued",
    responses={403: PROBLEMS[403], 409: PROBLEMS[409]},
)
async def create_contract(body: ContractCreate, request: Request, session: Session, caller: Manager):
    contract = await service.create_contract(session, body, caller, request.app.state.settings)
    await session.refresh(contract, ["client_name"])  # read with the row, not written with it
    return ContractOut.model_validate(contract)


@router.get(
    "/api/v1/contracts/{contract_id}",
    response_model=ContractOut,
    summary="One contract",
    responses={404: PROBLEMS[404]},
)
async def get_contract(contract_id: uuid.UUID, session: Session, caller: Caller):
    contract, _ = await service.get_visible(session, contract_id, caller)
    return ContractOut.model_validate(contract)


@router.post(
    "/api/v1/contracts/{contract_id}/issue",
    response_model=ContractOut,
    summary="Issue the policy (Manager, Admin or the specialist); active at once if its dates cover today",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def issue_contract(
    contract_id: uuid.UUID, body: ContractIssue, request: Request, session: Session, caller: Caller
):
    return ContractOut.model_validate(
        await service.issue_contract(session, contract_id, body, caller, request.app.state.settings)
    )


@router.get(
    "/api/v1/contracts/{contract_id}/cancellation-quote",
    response_model=CancellationQuote,
    summary="The refund cancelling by a method on a date would store (nothing changes): shown before confirming",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def quote_cancellation(
    contract_id: uuid.UUID,
    request: Request,
    session: Session,
    caller: Caller,
    effective_date: Annotated[
        date | None,
        Query(description="The cancellation's effective date, within the contract's period (not for flat)."),
    ] = None,
    method: Annotated[CancellationMethod, Query(description="pro_rata, short_rate or flat.")] = "pro_rata",
):
    return await service.cancellation_quote(
        session, contract_id, effective_date, method, caller, request.app.state.settings
    )


@router.post(
    "/api/v1/contracts/{contract_id}/cancel",
    response_model=ContractOut,
    summary="Cancel with a reason and a method (pro rata, short rate, flat); the refund is stored as a version",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def cancel_contract(
    contract_id: uuid.UUID, body: ContractCancel, request: Request, session: Session, caller: Caller
):
    return ContractOut.model_validate(
        await service.cancel_contract(session, contract_id, body, caller, request.app.state.settings)
    )


@router.post(
    "/api/v1/contracts/{contract_id}/reinstate",
    response_model=ContractOut,
    summary="Reinstate a cancelled contract within the configured window: a new version, cover without a gap",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def reinstate_contract(
    contract_id: uuid.UUID, body: Reinstatement, request: Request, session: Session, caller: Caller
):
    return ContractOut.model_validate(
        await policy.reinstate(session, contract_id, body, caller, request.app.state.settings)
    )


@router.get(
    "/api/v1/contracts/{contract_id}/versions",
    response_model=VersionHistory,
    summary="The contract's versions (base, endorsements, cancellation, reinstatement) with their deltas",
    responses={404: PROBLEMS[404]},
)
async def contract_versions(contract_id: uuid.UUID, request: Request, session: Session, caller: Caller):
    contract, _ = await policy.for_endorsement(session, contract_id, caller, request.app.state.settings, lock=False)
    rows = await versions.history(session, contract.id)
    return VersionHistory(
        contract_id=contract.id,
        currency=contract.currency,
        current_version=contract.version,
        charged=sum((v.delta for v in rows), start=Decimal("0.00")),
        versions=[VersionOut.model_validate(v) for v in rows],
    )


@router.post(
    "/api/v1/contracts/{contract_id}/endorsements",
    response_model=EndorsementOut,
    status_code=status.HTTP_201_CREATED,
    summary="Request an endorsement (a change of terms from an effective date); Policy Administration binds it",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def request_endorsement(
    contract_id: uuid.UUID, body: EndorsementRequest, request: Request, session: Session, caller: Caller
):
    return await policy.request_endorsement(session, contract_id, body, caller, request.app.state.settings)


@router.get(
    "/api/v1/contracts/{contract_id}/endorsements",
    response_model=list[EndorsementOut],
    summary="The contract's endorsements, oldest first (an open one with the delta binding it now would make)",
    responses={404: PROBLEMS[404]},
)
async def list_endorsements(contract_id: uuid.UUID, request: Request, session: Session, caller: Caller):
    return await policy.list_endorsements(session, contract_id, caller, request.app.state.settings)


@router.post(
    "/api/v1/contracts/{contract_id}/endorsements/{endorsement_id}/bind",
    response_model=EndorsementOut,
    summary="Bind a requested endorsement (Policy Administration, the specialist, a Manager, Admin): a new version; "
    "held instead (status still requested, `referral_id` set) when a referral rule fires",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def bind_endorsement(
    contract_id: uuid.UUID, endorsement_id: uuid.UUID, request: Request, session: Session, caller: Caller
):
    return await policy.bind_endorsement(session, contract_id, endorsement_id, caller, request.app.state.settings)


@router.post(
    "/api/v1/contracts/{contract_id}/endorsements/{endorsement_id}/withdraw",
    response_model=EndorsementOut,
    summary="Withdraw a requested endorsement, with a reason; the contract is unchanged",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def withdraw_endorsement(
    contract_id: uuid.UUID,
    endorsement_id: uuid.UUID,
    body: EndorsementWithdraw,
    request: Request,
    session: Session,
    caller: Caller,
):
    return await policy.withdraw_endorsement(
        session, contract_id, endorsement_id, body, caller, request.app.state.settings
    )
