"""Referral rules: which terms they match (pure), and the holds — a deal's contract cannot be issued until a
Manager approves, a decline closes it with the reason; an endorsement's binding is held and approval binds it;
an Employee cannot decide."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text

from services.contracts import policy, referrals, versions
from services.contracts.models import KnownClient, ReferralRule
from services.contracts.schemas import (
    ContractIssue,
    EndorsementRequest,
    ReferralDecision,
    ReferralRuleIn,
    ReferralRulePatch,
)
from services.contracts.service import issue_contract
from services.contracts.settings import ContractsSettings
from shared import clock
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.messaging.envelope import Envelope
from tests import events

pytestmark = pytest.mark.usefixtures("acting")

SALES, LINE = uuid.uuid4(), uuid.uuid4()
NOW = datetime(2030, 1, 10, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen():
    clock.set_clock(clock.FrozenClock(NOW))
    yield
    clock.set_clock(clock.SystemClock())


@pytest.fixture
def settings() -> ContractsSettings:
    return ContractsSettings(client_wait_seconds=0)


def principal(role: str = "Manager", department_id: uuid.UUID | None = SALES) -> Principal:
    return Principal(user_id=uuid.uuid4(), role=role, department_id=department_id, name=role, email="x@example.com")


def rule(condition: str, *, threshold: str | None = None, countries=(), line_id=None, active=True) -> ReferralRule:
    return ReferralRule(
        id=uuid.uuid4(),
        name=condition,
        condition=condition,
        threshold=Decimal(threshold) if threshold else None,
        countries=list(countries),
        line_id=line_id,
        active=active,
    )


def terms(premium="1000.00", sum_insured=None, deductible=None) -> dict:
    return {
        "premium": Decimal(premium),
        "sum_insured": Decimal(sum_insured) if sum_insured else None,
        "deductible": Decimal(deductible) if deductible else None,
    }


@pytest.mark.parametrize(
    ("the_rule", "the_terms", "country", "fires"),
    [
        (rule("premium_above", threshold="999.99"), terms(), None, True),
        (rule("premium_above", threshold="1000.00"), terms(), None, False),  # above, not at
        (rule("premium_above", threshold="10", line_id=LINE), terms(), None, True),
        (rule("premium_above", threshold="10", line_id=uuid.uuid4()), terms(), None, False),  # another line's
        (rule("premium_above", threshold="10", active=False), terms(), None, False),
        (rule("sum_insured_above", threshold="500000"), terms(sum_insured="600000"), None, True),
        (rule("sum_insured_above", threshold="500000"), terms(), None, False),  # none given
        (rule("deductible_below", threshold="100"), terms(deductible="50"), None, True),
        (rule("deductible_below", threshold="100"), terms(), None, True),  # no deductible: 0
        (rule("deductible_below", threshold="100"), terms(deductible="100"), None, False),
        (rule("country_in", countries=["RU", "IR"]), terms(), "ir", True),
        (rule("country_in", countries=["RU", "IR"]), terms(), "GR", False),
        (rule("country_in", countries=["RU"]), terms(), None, False),
    ],
)
def test_which_terms_a_rule_matches(the_rule, the_terms, country, fires):
    fired = referrals.evaluate([the_rule], terms=the_terms, line_id=LINE, country=country)
    assert bool(fired) == fires
    if fires:
        assert fired[0].rule_id == the_rule.id and fired[0].detail


async def _accepted_contract(session, premium="150000.00"):
    client = events.client_created(department_id=SALES, country="GR")
    session.add(KnownClient(id=client.client_id, name="Acme", department_id=SALES, status="prospect", country="GR"))
    await session.flush()
    accepted = events.opportunity_accepted(
        client_id=client.client_id,
        line_id=LINE,
        terms=events.terms(premium=premium, start_date=date(2030, 1, 1), end_date=date(2031, 1, 1)),
    )
    envelope = Envelope(id=uuid.uuid4().hex, type=accepted.event_type, source="pipeline", time=NOW, data={})
    await referrals.accept_deal(session, envelope, accepted)
    row = await session.execute(
        text("SELECT id FROM contracts WHERE opportunity_id = :o"), {"o": accepted.opportunity_id}
    )
    contract_id = row.scalar_one()
    from services.contracts.repository import get_contract

    return (await get_contract(session, contract_id))[0]


async def _outbox(session, contract_id, event_type) -> list[dict]:
    rows = await session.execute(
        text("SELECT payload FROM outbox WHERE key = :k AND event_type = :t ORDER BY id"),
        {"k": str(contract_id), "t": event_type},
    )
    return [json.loads(r[0]) for r in rows]


async def test_a_matching_rule_holds_issue_until_a_manager_approves(session, settings):
    await referrals.create_rule(
        session, ReferralRuleIn(name="Large risks", condition="premium_above", threshold=Decimal("100000"))
    )
    contract = await _accepted_contract(session)
    [referred] = await _outbox(session, contract.id, "contracts.contract.referred")
    assert referred["step"] == "issuance" and referred["fired"][0]["name"] == "Large risks"
    [referral] = await referrals.list_referrals(session, principal(), "pending")
    manager = principal()
    issue = ContractIssue(policy_number=f"P-{uuid.uuid4().hex[:8]}", issue_date=date(2030, 1, 10))
    with pytest.raises(Conflict):
        await issue_contract(session, contract.id, issue, manager, settings)
    with pytest.raises(Forbidden):
        await referrals.approve(session, referral.id, principal("Employee"), settings)
    with pytest.raises(NotFound):  # another department's Manager does not even see it
        await referrals.approve(session, referral.id, principal("Manager", uuid.uuid4()), settings)
    approved = await referrals.approve(session, referral.id, manager, settings)
    assert approved.status == "approved"
    issued = await issue_contract(session, contract.id, issue, manager, settings)
    assert issued.status == "active"
    [decided] = await _outbox(session, contract.id, "contracts.contract.referral_decided")
    assert decided["decision"] == "approved"


async def test_a_decline_closes_the_contract_with_the_reason(session, settings):
    await referrals.create_rule(
        session, ReferralRuleIn(name="Large risks", condition="premium_above", threshold=Decimal("100000"))
    )
    contract = await _accepted_contract(session)
    [referral] = [r for r in await referrals.list_referrals(session, principal(), None) if r.contract_id == contract.id]
    await referrals.decline(
        session, referral.id, ReferralDecision(reason="outside our appetite"), principal(), settings
    )
    assert contract.status == "cancelled" and contract.cancel_method == "flat"
    assert contract.cancel_reason == "declined at referral: outside our appetite"
    assert await versions.charged(session, contract.id) == Decimal("0.00")
    with pytest.raises(Conflict):
        await referrals.approve(session, referral.id, principal(), settings)


async def test_no_rule_no_hold(session, settings):
    await referrals.create_rule(
        session, ReferralRuleIn(name="Off", condition="premium_above", threshold=Decimal("1"), active=False)
    )
    contract = await _accepted_contract(session)
    assert await _outbox(session, contract.id, "contracts.contract.referred") == []


async def test_an_endorsement_is_held_and_approval_binds_it(session, settings):
    manager = principal()
    contract = await _accepted_contract(session, premium="1000.00")
    await issue_contract(
        session,
        contract.id,
        ContractIssue(policy_number=f"P-{uuid.uuid4().hex[:8]}", issue_date=date(2030, 1, 10)),
        manager,
        settings,
    )
    rule_out = await referrals.create_rule(
        session, ReferralRuleIn(name="Big sums", condition="sum_insured_above", threshold=Decimal("1000000"))
    )
    requested = await policy.request_endorsement(
        session,
        contract.id,
        EndorsementRequest(effective_date=date(2030, 6, 1), reason="bigger", sum_insured=Decimal("2000000")),
        manager,
        settings,
    )
    held = await policy.bind_endorsement(session, contract.id, requested.id, manager, settings)
    assert held.status == "requested" and held.referral_id is not None and contract.version == 1
    with pytest.raises(Conflict):  # binding again while held
        await policy.bind_endorsement(session, contract.id, requested.id, manager, settings)
    await referrals.approve(session, held.referral_id, manager, settings)
    assert contract.version == 2 and contract.sum_insured == Decimal("2000000.00")
    # Switched off, the rule holds nothing more.
    await referrals.update_rule(session, rule_out.id, ReferralRulePatch(active=False))
    again = await policy.request_endorsement(
        session,
        contract.id,
        EndorsementRequest(effective_date=date(2030, 7, 1), reason="more", sum_insured=Decimal("3000000")),
        manager,
        settings,
    )
    assert (await policy.bind_endorsement(session, contract.id, again.id, manager, settings)).status == "bound"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "condition": "premium_above"}, "body.threshold"),
        ({"name": "x", "condition": "country_in"}, "body.countries"),
    ],
)
async def test_a_rule_without_what_it_compares_is_refused(session, body, field):
    with pytest.raises(InvalidInput) as refused:
        await referrals.create_rule(session, ReferralRuleIn(**body))
    assert refused.value.errors[0]["field"] == field
