"""A contract's versions, endorsements, cancellation methods and reinstatement, against the service's database:
the base version at creation, an endorsement bound as a version with its delta, the refusals (out of order, on a
cancelled contract, outside the period), short-rate and flat refunds stored as versions, reinstatement within and
past its window, and versions that cannot be changed."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from services.contracts import policy, service, versions
from services.contracts.models import KnownClient, people
from services.contracts.schemas import (
    ContractCancel,
    ContractCreate,
    EndorsementRequest,
    EndorsementWithdraw,
    Reinstatement,
)
from services.contracts.settings import ContractsSettings
from shared import clock
from shared.auth import Principal
from shared.errors import Conflict, Forbidden, InvalidInput, Problem

pytestmark = pytest.mark.usefixtures("acting")

SALES = uuid.uuid4()
# Noon in Athens on 1 March 2026: the business date is 1 March.
NOW = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
START, END = date(2026, 1, 1), date(2027, 1, 1)  # 365 days


@pytest.fixture(autouse=True)
def frozen():
    frozen = clock.FrozenClock(NOW)
    clock.set_clock(frozen)
    yield frozen
    clock.set_clock(clock.SystemClock())


@pytest.fixture
def settings() -> ContractsSettings:
    return ContractsSettings(client_wait_seconds=0)


def principal(role: str = "Manager", department_id: uuid.UUID | None = SALES) -> Principal:
    return Principal(user_id=uuid.uuid4(), role=role, department_id=department_id, name=role, email="x@example.com")


async def a_contract(session, settings, caller, *, premium="1000.00", start=START, end=END, issued=True):
    client_id = uuid.uuid4()
    session.add(KnownClient(id=client_id, name="Acme", department_id=SALES, status="prospect"))
    await session.flush()
    body = ContractCreate(
        client_id=client_id,
        premium=Decimal(premium),
        currency="EUR",
        start_date=start,
        end_date=end,
        insurer="Ethniki",
        sum_insured=Decimal("100000.00"),
        covered_items=[{"name": "Warehouse", "details": {"address": "Piraeus 1"}}],
        **({"policy_number": f"POL-{uuid.uuid4().hex[:10]}", "issue_date": date(2026, 1, 1)} if issued else {}),
    )
    return await service.create_contract(session, body, caller, settings)


async def events_of(session, contract_id, event_type) -> list[dict]:
    rows = await session.execute(
        text("SELECT payload FROM outbox WHERE key = :key AND event_type = :type ORDER BY id"),
        {"key": str(contract_id), "type": event_type},
    )
    return [json.loads(r[0]) for r in rows]


def field_of(problem: Problem) -> str:
    [error] = problem.errors
    return error["field"]


async def test_a_new_contract_is_its_base_version(session, settings):
    contract = await a_contract(session, settings, principal())
    [base] = await versions.history(session, contract.id)
    assert (base.number, base.kind, base.effective_date, base.premium, base.delta) == (
        1,
        "base",
        START,
        Decimal("1000.00"),
        Decimal("1000.00"),
    )
    assert base.covered_items == [{"name": "Warehouse", "sum_insured": None, "details": {"address": "Piraeus 1"}}]
    assert (base.days_remaining, base.days_in_term) == (365, 365)
    assert contract.version == 1 and contract.sum_insured == Decimal("100000.00")
    [created] = await events_of(session, contract.id, "contracts.contract.created")
    assert created["version_number"] == 1 and created["sum_insured"] == "100000.00"


async def test_an_endorsement_bound_is_a_version_with_its_delta_and_becomes_the_current_terms(session, settings):
    manager = principal()
    contract = await a_contract(session, settings, manager)
    # 1,000.00 -> 1,365.00 from 20 Oct 2026: 73 days of 365 remain, so a fifth of 365.00.
    requested = await policy.request_endorsement(
        session,
        contract.id,
        EndorsementRequest(
            effective_date=date(2026, 10, 20), reason="new building", premium=Decimal("1365.00"), deductible=500
        ),
        manager,
        settings,
    )
    assert requested.status == "requested" and requested.delta == Decimal("73.00")
    [asked] = await events_of(session, contract.id, "contracts.contract.endorsement_requested")
    assert asked["delta"] == "73.00" and asked["proposed"]["premium"] == "1365.00"
    assert contract.premium == Decimal("1000.00")  # nothing changes until it is bound

    bound = await policy.bind_endorsement(session, contract.id, requested.id, manager, settings)
    assert bound.status == "bound" and bound.version_number == 2
    _base, endorsement = await versions.history(session, contract.id)
    assert (endorsement.kind, endorsement.delta, endorsement.days_remaining) == ("endorsement", Decimal("73.00"), 73)
    assert endorsement.deductible == Decimal("500.00") and endorsement.sum_insured == Decimal("100000.00")
    assert (contract.premium, contract.deductible, contract.version) == (Decimal("1365.00"), Decimal("500.00"), 2)
    assert await versions.charged(session, contract.id) == Decimal("1073.00")
    [endorsed] = await events_of(session, contract.id, "contracts.contract.endorsed")
    assert endorsed["added_version"]["delta"] == "73.00" and endorsed["premium"] == "1365.00"
    assert endorsed["changes"]["premium"] == {"before": "1000.00", "after": "1365.00"}
    assert endorsed["changes"]["version"] == {"before": 1, "after": 2}


async def test_out_of_order_endorsements_are_refused_naming_the_date(session, settings):
    manager = principal()
    contract = await a_contract(session, settings, manager)
    first = await policy.request_endorsement(
        session,
        contract.id,
        EndorsementRequest(effective_date=date(2026, 6, 1), reason="a", premium=Decimal("1100.00")),
        manager,
        settings,
    )
    # A second request while one is open is refused.
    with pytest.raises(Conflict):
        await policy.request_endorsement(
            session,
            contract.id,
            EndorsementRequest(effective_date=date(2026, 7, 1), reason="b", premium=Decimal("1200.00")),
            manager,
            settings,
        )
    await policy.bind_endorsement(session, contract.id, first.id, manager, settings)
    with pytest.raises(InvalidInput) as refused:
        await policy.request_endorsement(
            session,
            contract.id,
            EndorsementRequest(effective_date=date(2026, 5, 31), reason="c", premium=Decimal("900.00")),
            manager,
            settings,
        )
    assert field_of(refused.value) == "body.effective_date" and "out-of-order" in refused.value.errors[0]["message"]


@pytest.mark.parametrize("effective", [date(2025, 12, 31), END, date(2027, 2, 1)])
async def test_an_endorsement_outside_the_period_is_refused(session, settings, effective):
    manager = principal()
    contract = await a_contract(session, settings, manager)
    with pytest.raises(InvalidInput) as refused:
        await policy.request_endorsement(
            session,
            contract.id,
            EndorsementRequest(effective_date=effective, reason="x", premium=Decimal("1100.00")),
            manager,
            settings,
        )
    assert field_of(refused.value) == "body.effective_date"


async def test_an_endorsement_that_changes_nothing_is_refused(session, settings):
    manager = principal()
    contract = await a_contract(session, settings, manager)
    with pytest.raises(InvalidInput) as refused:
        await policy.request_endorsement(
            session,
            contract.id,
            EndorsementRequest(effective_date=date(2026, 6, 1), reason="x", premium=Decimal("1000.00")),
            manager,
            settings,
        )
    assert field_of(refused.value) == "body"


async def test_a_cancelled_contract_cannot_be_endorsed(session, settings):
    manager = principal()
    contract = await a_contract(session, settings, manager)
    await service.cancel_contract(
        session, contract.id, ContractCancel(reason="sold", effective_date=date(2026, 3, 1)), manager, settings
    )
    with pytest.raises(Conflict) as refused:
        await policy.request_endorsement(
            session,
            contract.id,
            EndorsementRequest(effective_date=date(2026, 6, 1), reason="x", premium=Decimal("1100.00")),
            manager,
            settings,
        )
    assert field_of(refused.value) == "path.contract_id"


async def test_withdrawn_endorsement_changes_nothing_and_policy_administration_may_decide(session, settings):
    manager = principal()
    contract = await a_contract(session, settings, manager)
    admin_department = uuid.uuid4()
    await session.execute(people.departments.insert().values(id=admin_department, name="Policy Administration"))
    requested = await policy.request_endorsement(
        session,
        contract.id,
        EndorsementRequest(effective_date=date(2026, 6, 1), reason="x", premium=Decimal("1100.00")),
        manager,
        settings,
    )
    [asked] = await events_of(session, contract.id, "contracts.contract.endorsement_requested")
    assert asked["route_department_id"] == str(admin_department)
    # An Employee of another department may not; a member of Policy Administration may.
    with pytest.raises(Forbidden):
        await policy.withdraw_endorsement(
            session, contract.id, requested.id, EndorsementWithdraw(reason="no"), principal("Employee"), settings
        )
    clerk = principal("Employee", admin_department)
    withdrawn = await policy.withdraw_endorsement(
        session, contract.id, requested.id, EndorsementWithdraw(reason="client changed their mind"), clerk, settings
    )
    assert withdrawn.status == "withdrawn" and contract.premium == Decimal("1000.00") and contract.version == 1
    with pytest.raises(Conflict):
        await policy.bind_endorsement(session, contract.id, requested.id, clerk, settings)
    assert len(await versions.history(session, contract.id)) == 1


@pytest.mark.parametrize(
    ("method", "effective", "refund"),
    [
        # 1 March 2026: 306 of 365 days remain; 1000 x 306 / 365 = 838.356... -> 838.36; less 10 % -> 754.52.
        ("pro_rata", date(2026, 3, 1), Decimal("838.36")),
        ("short_rate", date(2026, 3, 1), Decimal("754.52")),
    ],
)
async def test_cancellation_refunds_are_stored_as_a_version(session, settings, method, effective, refund):
    manager = principal()
    contract = await a_contract(session, settings, manager)
    await service.cancel_contract(
        session, contract.id, ContractCancel(reason="sold", method=method, effective_date=effective), manager, settings
    )
    assert (contract.status, contract.refund, contract.cancel_method, contract.version) == (
        "cancelled",
        refund,
        method,
        2,
    )
    _, cancellation = await versions.history(session, contract.id)
    assert (cancellation.kind, cancellation.delta, cancellation.refund) == ("cancellation", -refund, refund)
    assert cancellation.cancellation_method == method and cancellation.reason == "sold"
    [cancelled] = await events_of(session, contract.id, "contracts.contract.cancelled")
    assert cancelled["method"] == method and cancelled["refund"] == str(refund)


async def test_flat_cancellation_returns_everything_only_early_enough(session, settings, frozen):
    manager = principal()
    # Starts in 5 days: flat is allowed, the whole premium comes back, from the start date.
    soon = NOW.date() + timedelta(days=5)
    contract = await a_contract(session, settings, manager, start=soon, end=soon + timedelta(days=365), issued=False)
    await service.cancel_contract(session, contract.id, ContractCancel(reason="x", method="flat"), manager, settings)
    assert contract.refund == Decimal("1000.00") and contract.cancel_effective_date == soon
    # Started 59 days ago (more than the 14 days allowed): refused, naming the method.
    late = await a_contract(session, settings, manager)
    with pytest.raises(InvalidInput) as refused:
        await service.cancel_contract(session, late.id, ContractCancel(reason="x", method="flat"), manager, settings)
    assert field_of(refused.value) == "body.method"
    # Pro rata needs an effective date.
    with pytest.raises(InvalidInput) as refused:
        await service.cancel_contract(session, late.id, ContractCancel(reason="x"), manager, settings)
    assert field_of(refused.value) == "body.effective_date"


async def test_a_flat_refund_is_everything_charged_including_endorsements(session, settings):
    manager = principal()
    soon = NOW.date() + timedelta(days=1)
    contract = await a_contract(session, settings, manager, start=soon, end=soon + timedelta(days=365), issued=False)
    requested = await policy.request_endorsement(
        session,
        contract.id,
        EndorsementRequest(effective_date=soon, reason="x", premium=Decimal("1200.00")),
        manager,
        settings,
    )
    await policy.bind_endorsement(session, contract.id, requested.id, manager, settings)
    await service.cancel_contract(session, contract.id, ContractCancel(reason="x", method="flat"), manager, settings)
    assert contract.refund == Decimal("1200.00")
    assert await versions.charged(session, contract.id) == Decimal("0.00")


async def test_reinstatement_within_the_window_is_a_version_and_past_it_is_refused(session, settings, frozen):
    manager = principal()
    contract = await a_contract(session, settings, manager)
    await service.cancel_contract(
        session, contract.id, ContractCancel(reason="unpaid", effective_date=date(2026, 3, 1)), manager, settings
    )
    frozen.advance(timedelta(days=30))  # the last day of the 30-day window
    await policy.reinstate(session, contract.id, Reinstatement(reason="paid"), manager, settings)
    assert (contract.status, contract.version, contract.refund) == ("active", 3, None)
    *_, cancellation, reinstatement = await versions.history(session, contract.id)
    assert reinstatement.kind == "reinstatement" and reinstatement.delta == cancellation.refund
    assert reinstatement.effective_date == date(2026, 3, 1) and reinstatement.premium == Decimal("1000.00")
    assert await versions.charged(session, contract.id) == Decimal("1000.00")
    [reinstated] = await events_of(session, contract.id, "contracts.contract.reinstated")
    assert reinstated["status"] == "active" and reinstated["changes"]["status"]["before"] == "cancelled"
    # Only a cancelled contract; and a second cancellation reinstated a day too late is refused.
    with pytest.raises(Conflict):
        await policy.reinstate(session, contract.id, Reinstatement(reason="again"), manager, settings)
    await service.cancel_contract(
        session, contract.id, ContractCancel(reason="unpaid", effective_date=date(2026, 4, 1)), manager, settings
    )
    frozen.advance(timedelta(days=31))
    with pytest.raises(Conflict) as refused:
        await policy.reinstate(session, contract.id, Reinstatement(reason="late"), manager, settings)
    assert field_of(refused.value) == "cancelled_at" and "window" in refused.value.detail


async def test_versions_cannot_be_changed_or_removed(session, settings):
    contract = await a_contract(session, settings, principal())
    for statement in (
        "UPDATE contract_versions SET delta = 0 WHERE contract_id = :id",
        "DELETE FROM contract_versions WHERE contract_id = :id",
    ):
        with pytest.raises(DBAPIError, match="immutable"):
            async with session.begin_nested():
                await session.execute(text(statement), {"id": contract.id})
    count = await session.scalar(
        select(text("count(*)"))
        .select_from(text("contract_versions"))
        .where(text("contract_id = :id"))
        .params(id=contract.id)
    )
    assert count == 1
