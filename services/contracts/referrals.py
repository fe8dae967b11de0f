"""Referral rules and referrals: Admin-configured conditions on terms that hold a step for a Manager's decision.

A rule is one condition — premium above a threshold, sum insured above a threshold, deductible below a floor (each
for one line, or every line when it names none; amounts in the contract's currency) or the insured's country in a
list. Rules are evaluated when a deal is accepted (its contract, before it may be issued) and when an endorsement
is bound (on the new terms). When any fires, a referral records which and why, the step is held, and the contract's
department's Manager is told (`contracts.contract.referred`; notifications). A Manager of the contract's department
or the Admin decides: approve (the contract may be issued; the endorsement is bound at once) or decline with a
reason (the contract is closed — a flat cancellation, as it was never in force — or the endorsement withdrawn).
Employees cannot decide (403). A person owns the decision; the system only holds and routes.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.contracts import access, renewals, versions
from services.contracts import repository as repo
from services.contracts.models import Contract, Endorsement, Referral, ReferralRule
from services.contracts.refund import flat_refund
from services.contracts.schemas import ReferralDecision, ReferralRuleIn, ReferralRulePatch
from services.contracts.service import cancel, create_from_accepted_deal, get_visible, outbox, snapshot
from shared import clock
from shared.auth import Principal
from shared.contracts import FieldChange, field_changes
from shared.contracts.contracts import (
    ContractReferralDecided,
    ContractReferred,
    FiredRule,
    ReferralRuleCreated,
    ReferralRuleUpdated,
)
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound


# Evaluation -----------------------------------------------------------------------------------------
def evaluate(
    rules: list[ReferralRule], *, terms: dict[str, Any], line_id: uuid.UUID | None, country: str | None
) -> list[FiredRule]:
    """The rules the terms match (pure). A missing deductible counts as none (0); a missing sum insured or
    country matches nothing."""
    fired = []
    for rule in rules:
        if not rule.active or (rule.line_id is not None and rule.line_id != line_id):
            continue
        detail = None
        threshold = rule.threshold
        if rule.condition == "premium_above" and threshold is not None and terms["premium"] > threshold:
            detail = f"premium {terms['premium']} above {threshold}"
        elif rule.condition == "sum_insured_above" and threshold is not None:
            if terms.get("sum_insured") is not None and terms["sum_insured"] > threshold:
                detail = f"sum insured {terms['sum_insured']} above {threshold}"
        elif rule.condition == "deductible_below" and threshold is not None:
            deductible = terms.get("deductible") or Decimal("0")
            if deductible < threshold:
                detail = f"deductible {deductible} below {threshold}"
        elif rule.condition == "country_in" and country is not None and country.upper() in rule.countries:
            detail = f"insured country {country.upper()} in {', '.join(rule.countries)}"
        if detail is not None:
            fired.append(FiredRule(rule_id=rule.id, name=rule.name, condition=rule.condition, detail=detail))
    return fired


async def refer_if_needed(
    session: AsyncSession,
    contract: Contract,
    step: str,
    terms: dict[str, Any],
    endorsement_id: uuid.UUID | None = None,
) -> Referral | None:
    """Evaluate the active rules on `terms`; when any fires, hold the step with a referral and say so."""
    rules = list((await session.execute(select(ReferralRule).where(ReferralRule.active))).scalars())
    if not rules:
        return None
    client = await repo.get_known_client(session, contract.client_id)
    fired = evaluate(rules, terms=terms, line_id=contract.line_id, country=client.country if client else None)
    if not fired:
        return None
    referral = Referral(
        id=uuid.uuid4(),
        contract_id=contract.id,
        step=step,
        endorsement_id=endorsement_id,
        fired=[f.model_dump(mode="json") for f in fired],
        status="pending",
        created_at=clock.now(),
    )
    session.add(referral)
    await session.flush()
    await outbox.add(
        session,
        ContractReferred(
            **snapshot(contract),
            referral_id=referral.id,
            step=step,
            endorsement_id=endorsement_id,
            fired=fired,
        ),
        subject=str(contract.id),
    )
    return referral


async def approved_for(session: AsyncSession, endorsement_id: uuid.UUID) -> bool:
    stmt = select(Referral.id).where(Referral.endorsement_id == endorsement_id, Referral.status == "approved")
    return (await session.execute(stmt)).first() is not None


async def accept_deal(session: AsyncSession, envelope, data) -> None:
    """Handler of pipeline.opportunity.accepted: the deal's contract (once), held by a referral if rules fire; a
    renewal deal's terms also become its renewal's proposed premium."""
    contract = await create_from_accepted_deal(session, envelope, data)
    if contract is not None:
        await refer_if_needed(session, contract, "issuance", versions.terms_of(contract))
    if data.renews_contract_id is not None:
        await renewals.on_accepted(session, data)


# Decisions ------------------------------------------------------------------------------------------
async def _decidable(session: AsyncSession, referral_id: uuid.UUID, caller: Principal) -> tuple[Referral, Contract]:
    if caller.role not in ("Manager", "Admin"):
        raise Forbidden("only a Manager of the contract's department or an Admin decides a referral")
    referral = (
        await session.execute(select(Referral).where(Referral.id == referral_id).with_for_update())
    ).scalar_one_or_none()
    if referral is None:
        raise NotFound(f"no referral {referral_id}")
    contract, department_id = await get_visible(session, referral.contract_id, caller, for_update=True)
    if not (caller.is_admin or (caller.role == "Manager" and access.can_write(caller, contract, department_id))):
        raise Forbidden("only a Manager of the contract's department or an Admin decides a referral")
    if referral.status != "pending":
        raise Conflict(
            f"the referral is already {referral.status}",
            errors=[{"field": "path.referral_id", "message": f"already {referral.status}"}],
        )
    return referral, contract


async def _decided(
    session: AsyncSession, referral: Referral, contract: Contract, decision: str, reason: str | None
) -> None:
    referral.status, referral.reason = decision, reason
    referral.decided_by, referral.decided_at = versions.actor(), clock.now()
    await session.flush()
    await outbox.add(
        session,
        ContractReferralDecided(
            **snapshot(contract),
            referral_id=referral.id,
            step=referral.step,
            endorsement_id=referral.endorsement_id,
            decision=decision,
            reason=reason,
            changes={"referral": FieldChange(before="pending", after=decision)},
        ),
        subject=str(contract.id),
    )


async def approve(session: AsyncSession, referral_id: uuid.UUID, caller: Principal, settings) -> Referral:
    referral, contract = await _decidable(session, referral_id, caller)
    await _decided(session, referral, contract, "approved", None)
    if referral.step == "endorsement" and referral.endorsement_id is not None:
        from services.contracts import policy  # policy imports this module

        await policy.bind_endorsement(session, contract.id, referral.endorsement_id, caller, settings)
    return referral


async def decline(
    session: AsyncSession, referral_id: uuid.UUID, data: ReferralDecision, caller: Principal, settings
) -> Referral:
    referral, contract = await _decidable(session, referral_id, caller)
    await _decided(session, referral, contract, "declined", data.reason)
    if referral.step == "endorsement" and referral.endorsement_id is not None:
        from services.contracts import policy
        from services.contracts.schemas import EndorsementWithdraw

        await policy.withdraw_endorsement(
            session,
            contract.id,
            referral.endorsement_id,
            EndorsementWithdraw(reason=f"declined at referral: {data.reason}"),
            caller,
            settings,
        )
    elif contract.status in ("pending_issuance", "issued", "active"):
        # As if never in force: a flat cancellation from the start date, everything charged returned.
        refund = flat_refund(await versions.charged(session, contract.id))
        await cancel(session, contract, "flat", contract.start_date, refund, f"declined at referral: {data.reason}")
    return referral


async def list_referrals(session: AsyncSession, caller: Principal, status: str | None) -> list[Referral]:
    stmt = select(Referral).order_by(Referral.created_at.desc()).limit(500)
    if status:
        stmt = stmt.where(Referral.status == status)
    rows = list((await session.execute(stmt)).scalars())
    visible = []
    for referral in rows:
        found = await repo.get_contract(session, referral.contract_id)
        if found is not None and access.can_see(caller, *found):
            visible.append(referral)
    return visible


async def get_endorsement_referral(session: AsyncSession, endorsement: Endorsement) -> Referral | None:
    stmt = select(Referral).where(Referral.endorsement_id == endorsement.id, Referral.status == "pending")
    return (await session.execute(stmt)).scalar_one_or_none()


# Rules ----------------------------------------------------------------------------------------------
def _rule_event_fields(rule: ReferralRule) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "name": rule.name,
        "condition": rule.condition,
        "line_id": rule.line_id,
        "threshold": rule.threshold,
        "countries": list(rule.countries),
        "active": rule.active,
    }


def _check_rule(condition: str, threshold: Decimal | None, countries: list[str]) -> None:
    if condition == "country_in":
        if not countries:
            raise InvalidInput.for_field("body.countries", "a country_in rule needs at least one country")
    elif threshold is None:
        raise InvalidInput.for_field("body.threshold", f"a {condition} rule needs a threshold")


async def create_rule(session: AsyncSession, data: ReferralRuleIn) -> ReferralRule:
    countries = [c.upper() for c in data.countries]
    _check_rule(data.condition, data.threshold, countries)
    now = clock.now()
    rule = ReferralRule(
        id=uuid.uuid4(),
        name=data.name,
        condition=data.condition,
        line_id=data.line_id,
        threshold=data.threshold,
        countries=countries,
        active=data.active,
        created_by=versions.actor(),
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    await session.flush()
    await outbox.add(session, ReferralRuleCreated(**_rule_event_fields(rule)), subject=str(rule.id))
    return rule


async def update_rule(session: AsyncSession, rule_id: uuid.UUID, data: ReferralRulePatch) -> ReferralRule:
    rule = (
        await session.execute(select(ReferralRule).where(ReferralRule.id == rule_id).with_for_update())
    ).scalar_one_or_none()
    if rule is None:
        raise NotFound(f"no referral rule {rule_id}")
    before = _rule_event_fields(rule)
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(rule, field, [c.upper() for c in value] if field == "countries" else value)
    _check_rule(rule.condition, rule.threshold, rule.countries)
    rule.updated_at = clock.now()
    await session.flush()
    after = _rule_event_fields(rule)
    changes = field_changes(before, after)
    if changes:
        await outbox.add(session, ReferralRuleUpdated(**after, changes=changes), subject=str(rule.id))
    return rule


async def list_rules(session: AsyncSession) -> list[ReferralRule]:
    return list((await session.execute(select(ReferralRule).order_by(ReferralRule.created_at))).scalars())
