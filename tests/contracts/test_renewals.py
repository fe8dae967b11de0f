"""The renewal workbench: each contract's renewal status from its renewal deal and successor, the premium change
and risk flag, filters and order; and an expiring contract that nothing renews lapses."""

from __future__ import annotations

import json
import uuid
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text

from services.contracts import renewals, service
from services.contracts.models import Contract, KnownClient, Renewal
from services.contracts.settings import ContractsSettings
from shared import clock
from shared.auth import Principal

TODAY = date(2030, 6, 1)
SALES = uuid.uuid4()
ADMIN = Principal(user_id=uuid.uuid4(), role="Admin", department_id=None, name="A", email="a@example.com")


@pytest.mark.parametrize(
    ("contract_status", "renewed", "deal", "expected"),
    [
        ("active", False, None, "not_started"),
        ("active", False, ("needs_analysis", "open"), "in_progress"),
        ("active", False, ("proposal_sent", "open"), "quoted"),
        ("active", False, ("client_decision", "open"), "quoted"),
        ("active", True, ("policy_issuance", "open"), "renewed"),
        ("expired", False, ("completion", "won"), "renewed"),
        ("active", False, ("client_decision", "lost"), "not_taken_up"),
        ("expired", False, ("needs_analysis", "open"), "lapsed"),
        ("expired", False, None, "lapsed"),
    ],
)
def test_renewal_status(contract_status, renewed, deal, expected):
    renewal = None if deal is None else Renewal(stage_key=deal[0], deal_status=deal[1])
    assert renewals.renewal_status(contract_status, renewed, renewal) == expected


def test_change_percent():
    assert renewals.change_percent(Decimal("1000"), Decimal("1125")) == Decimal("12.5")
    assert renewals.change_percent(Decimal("1000"), Decimal("900")) == Decimal("-10.0")
    assert renewals.change_percent(Decimal("1000"), None) is None


async def _contract(session, *, end_in: int, status: str = "active", renews=None, line_id=None) -> Contract:
    client_id = uuid.uuid4()
    session.add(KnownClient(id=client_id, name="Acme", department_id=SALES, status="active"))
    contract = Contract(
        id=uuid.uuid4(),
        client_id=client_id,
        line_id=line_id,
        origin="manual",
        status=status,
        premium=Decimal("1000.00"),
        currency="EUR",
        start_date=TODAY + timedelta(days=end_in - 365),
        end_date=TODAY + timedelta(days=end_in),
        specialist_id=uuid.uuid4(),
        renews_contract_id=renews,
        version=1,
    )
    session.add(contract)
    await session.flush()
    return contract


async def test_the_workbench_lists_what_ends_soon_with_status_change_and_risk(session):
    settings = ContractsSettings()
    line = uuid.uuid4()
    quoted = await _contract(session, end_in=20, line_id=line)
    owner = uuid.uuid4()
    session.add(
        Renewal(
            contract_id=quoted.id,
            opportunity_id=uuid.uuid4(),
            stage_key="proposal_sent",
            deal_status="open",
            proposed_premium=Decimal("1150.00"),
            owner_id=owner,
        )
    )
    untouched = await _contract(session, end_in=10, line_id=line)
    far = await _contract(session, end_in=200, line_id=line)
    renewed = await _contract(session, end_in=-5, status="expired", line_id=line)
    await _contract(session, end_in=360, renews=renewed.id, line_id=line)
    lapsed = await _contract(session, end_in=-3, status="expired", line_id=line)
    await session.flush()

    rows = await renewals.workbench(session, ADMIN, renewals.WorkbenchFilters(line_id=line), settings, TODAY)
    assert [r.contract_id for r in rows] == [renewed.id, lapsed.id, untouched.id, quoted.id]
    by_id = {r.contract_id: r for r in rows}
    assert far.id not in by_id
    assert (by_id[quoted.id].renewal_status, by_id[quoted.id].change_percent, by_id[quoted.id].at_risk) == (
        "quoted",
        Decimal("15.0"),
        True,
    )
    assert by_id[quoted.id].owner_id == owner and by_id[quoted.id].days_left == 20
    assert (by_id[untouched.id].renewal_status, by_id[untouched.id].at_risk) == ("not_started", False)
    assert by_id[renewed.id].renewal_status == "renewed" and by_id[renewed.id].renewed_by_contract_id is not None
    assert by_id[lapsed.id].renewal_status == "lapsed"

    only = renewals.WorkbenchFilters(line_id=line, status="lapsed")
    assert [r.contract_id for r in await renewals.workbench(session, ADMIN, only, settings, TODAY)] == [lapsed.id]
    mine = renewals.WorkbenchFilters(line_id=line, owner_id=owner)
    assert [r.contract_id for r in await renewals.workbench(session, ADMIN, mine, settings, TODAY)] == [quoted.id]
    soon = renewals.WorkbenchFilters(line_id=line, within_days=15, ended_days=0)
    assert [r.contract_id for r in await renewals.workbench(session, ADMIN, soon, settings, TODAY)] == [untouched.id]


async def test_an_expiring_contract_lapses_unless_renewed(session):
    ended = await _contract(session, end_in=-1)
    renewed = await _contract(session, end_in=-1)
    await _contract(session, end_in=364, status="issued", renews=renewed.id)
    clock.set_clock(clock.FrozenClock(clock.now()))
    try:
        await service.lifecycle_scan(session, today=TODAY, renewal_days=0, batch_size=1000)
    finally:
        clock.set_clock(clock.SystemClock())
    rows = await session.execute(
        text("SELECT key, payload FROM outbox WHERE event_type = 'contracts.contract.expired'")
    )
    lapsed = {key: json.loads(payload)["lapsed"] for key, payload in rows}
    assert lapsed[str(ended.id)] is True and lapsed[str(renewed.id)] is False


async def test_a_renewal_without_progress_close_to_the_end_is_flagged_once(session):
    untouched = await _contract(session, end_in=20)
    in_progress = await _contract(session, end_in=25)
    quoted = await _contract(session, end_in=25)
    far = await _contract(session, end_in=40)
    renewed = await _contract(session, end_in=10)
    await _contract(session, end_in=375, status="issued", renews=renewed.id)
    owner = uuid.uuid4()
    for contract, stage in ((in_progress, "needs_analysis"), (quoted, "proposal_sent")):
        session.add(
            Renewal(
                contract_id=contract.id,
                opportunity_id=uuid.uuid4(),
                stage_key=stage,
                deal_status="open",
                owner_id=owner,
            )
        )
    await session.flush()
    for _ in range(2):
        await service.lifecycle_scan(session, today=TODAY, renewal_days=0, batch_size=1000, at_risk_days=30)
    rows = await session.execute(
        text("SELECT key, payload FROM outbox WHERE event_type = 'contracts.contract.renewal_at_risk'")
    )
    flagged = {key: json.loads(payload) for key, payload in rows}
    assert set(flagged) == {str(untouched.id), str(in_progress.id)}
    assert flagged[str(untouched.id)]["renewal_status"] == "not_started"
    assert flagged[str(untouched.id)]["owner_id"] == str(untouched.specialist_id)
    assert (flagged[str(in_progress.id)]["renewal_status"], flagged[str(in_progress.id)]["owner_id"]) == (
        "in_progress",
        str(owner),
    )
    assert flagged[str(in_progress.id)]["days_left"] == 25
    assert str(far.id) not in flagged and str(quoted.id) not in flagged


async def test_the_retention_rate_per_line_and_specialist(session):
    marine, motor = uuid.uuid4(), uuid.uuid4()
    kept = await _contract(session, end_in=-10, status="expired", line_id=marine)
    await _contract(session, end_in=355, renews=kept.id, line_id=marine)
    await _contract(session, end_in=-20, status="expired", line_id=marine)
    await _contract(session, end_in=-5, status="expired", line_id=motor)
    await _contract(session, end_in=-5, status="cancelled", line_id=motor)  # never reached its end: left out
    await _contract(session, end_in=-400, status="expired", line_id=motor)  # outside the window
    by_line, by_specialist = await renewals.retention(session, ADMIN, today=TODAY, since_days=365)
    rates = {row.id: (row.ended, row.renewed, row.rate_percent) for row in by_line if row.id in (marine, motor)}
    assert rates == {marine: (2, 1, Decimal("50.0")), motor: (1, 0, Decimal("0.0"))}
    assert {row.id: row.renewed for row in by_specialist}[kept.specialist_id] == 1
