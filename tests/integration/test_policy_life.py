"""A policy's life through the gateway (issue 14): an endorsement requested, routed to Policy Administration's
least-loaded member as a task, bound by a person there; the history shows base + endorsement with the delta; the
client's roll-up counts the new premium; cancellation methods store their refund as a version and a reinstatement
brings the contract back; bad input is a problem+json naming the field."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from devstack.seed import DEMO_USERS
from shared.contracts.pipeline import OpportunityAccepted, Terms
from tests.conftest import assert_problem, wait_until
from tests.integration.clients_contracts_helpers import (
    SALES_EMPLOYEE,
    SALES_MANAGER,
    business_today,
    create_client,
    create_contract,
    department_id,
    headers_for,
    me,
    wait_client_status,
)

POLICY_CLERK = next(u for u in DEMO_USERS if u.email.startswith("dimitris@"))
CENT = Decimal("0.01")


def expected_delta(old: str, new: str, contract: dict, effective) -> Decimal:
    start, end = (business_today() + timedelta(days=d) for d in (-10, 300))
    assert (contract["start_date"], contract["end_date"]) == (start.isoformat(), end.isoformat())
    share = Decimal((end - effective).days) / Decimal((end - start).days)
    return ((Decimal(new) - Decimal(old)) * share).quantize(CENT, rounding=ROUND_HALF_EVEN)


async def test_an_endorsement_is_routed_bound_and_shown_in_the_history(gateway, admin_headers):
    manager = await headers_for(gateway, SALES_MANAGER)
    client = await create_client(gateway, manager)
    contract = await create_contract(gateway, manager, client["id"], premium="1200.00")
    await wait_client_status(gateway, manager, client["id"], "active", active_contracts=1)
    effective = business_today() + timedelta(days=20)

    r = await gateway.post(
        f"/api/v1/contracts/{contract['id']}/endorsements",
        json={
            "effective_date": effective.isoformat(),
            "reason": "a second warehouse",
            "premium": "1500.00",
            "sum_insured": "250000.00",
            "covered_items": [{"name": "Warehouse 2", "details": {"address": "Patision 10"}}],
        },
        headers=manager,
    )
    assert r.status_code == 201, r.text
    endorsement = r.json()
    delta = expected_delta("1200.00", "1500.00", contract, effective)
    assert endorsement["status"] == "requested" and Decimal(endorsement["delta"]) == delta

    # Routed: a task for a member of Policy Administration, linked to the contract.
    policy_admin = await department_id(gateway, admin_headers, "Policy Administration")

    async def routed():
        r = await gateway.get("/api/v1/tasks", params={"contract_id": contract["id"]}, headers=admin_headers)
        assert r.status_code == 200, r.text
        return r.json()["items"] or None

    [task] = await wait_until(routed, what="the endorsement's task")
    assert (task["stage_key"], task["department_id"], task["status"]) == ("endorsement", policy_admin, "open")
    assert task["assignee_id"] is not None and "Policy Administration" in task["assignment_reason"]

    # Bound by a person of Policy Administration (who may not otherwise change a Sales client's contract).
    clerk = await headers_for(gateway, POLICY_CLERK)
    assert (await me(gateway, clerk))["department_id"] == policy_admin
    r = await gateway.post(f"/api/v1/contracts/{contract['id']}/endorsements/{endorsement['id']}/bind", headers=clerk)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "bound" and r.json()["version_number"] == 2

    r = await gateway.get(f"/api/v1/contracts/{contract['id']}/versions", headers=manager)
    assert r.status_code == 200, r.text
    history = r.json()
    assert [(v["number"], v["kind"]) for v in history["versions"]] == [(1, "base"), (2, "endorsement")]
    base, endorsed = history["versions"]
    assert Decimal(base["delta"]) == Decimal("1200.00")
    assert Decimal(endorsed["delta"]) == delta and endorsed["effective_date"] == effective.isoformat()
    assert endorsed["covered_items"][0]["name"] == "Warehouse 2"
    assert Decimal(history["charged"]) == Decimal("1200.00") + delta and history["current_version"] == 2
    r = await gateway.get(f"/api/v1/contracts/{contract['id']}", headers=manager)
    current = r.json()
    assert (current["premium"], current["sum_insured"], current["version"]) == ("1500.00", "250000.00", 2)

    # The task is done, and the client's roll-up counts the current premium.
    async def closed():
        r = await gateway.get(f"/api/v1/tasks/{task['id']}", headers=admin_headers)
        return r.json() if r.json()["status"] == "done" else None

    await wait_until(closed, what="the endorsement's task to be done")

    async def rolled_up():
        r = await gateway.get(f"/api/v1/clients/{client['id']}/rollup", headers=manager)
        totals = {t["currency"]: Decimal(t["annual_premium"]) for t in r.json()["premium_by_currency"]}
        return totals if totals.get("EUR") == Decimal("1500.00") else None

    await wait_until(rolled_up, what="the roll-up to count the endorsed premium")


def pro_rata(premium: str, contract: dict, effective) -> Decimal:
    start, end = (date.fromisoformat(contract[k]) for k in ("start_date", "end_date"))
    share = Decimal((end - effective).days) / Decimal((end - start).days)
    return (Decimal(premium) * share).quantize(CENT, rounding=ROUND_HALF_EVEN)


async def versions_of(gateway, headers, contract_id: str) -> list[dict]:
    r = await gateway.get(f"/api/v1/contracts/{contract_id}/versions", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["versions"]


async def test_short_rate_cancellation_then_reinstatement_as_versions(gateway):
    manager = await headers_for(gateway, SALES_MANAGER)
    client = await create_client(gateway, manager)
    contract = await create_contract(gateway, manager, client["id"], premium="1000.00")
    cid, today = contract["id"], business_today()
    await wait_client_status(gateway, manager, client["id"], "active", active_contracts=1)

    # Short rate: the pro-rata refund less the default 10 % penalty; the quote and the cancellation agree.
    refund = (pro_rata("1000.00", contract, today) * Decimal("0.9")).quantize(CENT, rounding=ROUND_HALF_EVEN)
    r = await gateway.get(
        f"/api/v1/contracts/{cid}/cancellation-quote",
        params={"method": "short_rate", "effective_date": today.isoformat()},
        headers=manager,
    )
    assert r.status_code == 200, r.text
    assert Decimal(r.json()["refund"]) == refund
    r = await gateway.post(
        f"/api/v1/contracts/{cid}/cancel",
        json={"reason": "sold the building", "method": "short_rate", "effective_date": today.isoformat()},
        headers=manager,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], Decimal(r.json()["refund"]), r.json()["cancel_method"]) == (
        "cancelled",
        refund,
        "short_rate",
    )
    await wait_client_status(gateway, manager, client["id"], "inactive", active_contracts=0)

    # A cancelled contract cannot be endorsed.
    r = await gateway.post(
        f"/api/v1/contracts/{cid}/endorsements",
        json={"effective_date": today.isoformat(), "reason": "x", "premium": "1100.00"},
        headers=manager,
    )
    assert_problem(r, 409, "path.contract_id")

    # Reinstated within the window: a new version charging the refund back, active again, and so is the client.
    r = await gateway.post(f"/api/v1/contracts/{cid}/reinstate", json={"reason": "kept the building"}, headers=manager)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["refund"], r.json()["version"]) == ("active", None, 3)
    _, cancellation, reinstatement = await versions_of(gateway, manager, cid)
    assert (cancellation["kind"], Decimal(cancellation["delta"]), cancellation["cancellation_method"]) == (
        "cancellation",
        -refund,
        "short_rate",
    )
    assert (reinstatement["kind"], Decimal(reinstatement["delta"])) == ("reinstatement", refund)
    assert reinstatement["effective_date"] == today.isoformat()
    await wait_client_status(gateway, manager, client["id"], "active", active_contracts=1)


async def test_flat_cancellation_returns_the_premium_only_early_enough(gateway):
    manager = await headers_for(gateway, SALES_MANAGER)
    client = await create_client(gateway, manager)
    early = await create_contract(gateway, manager, client["id"], premium="900.00", days_before=5)
    r = await gateway.post(
        f"/api/v1/contracts/{early['id']}/cancel", json={"reason": "never wanted", "method": "flat"}, headers=manager
    )
    assert r.status_code == 200, r.text
    assert (r.json()["refund"], r.json()["cancel_effective_date"]) == ("900.00", early["start_date"])
    late = await create_contract(gateway, manager, client["id"], premium="900.00", days_before=30)
    r = await gateway.post(
        f"/api/v1/contracts/{late['id']}/cancel", json={"reason": "too late", "method": "flat"}, headers=manager
    )
    assert_problem(r, 422, "body.method")


async def test_bad_input_is_a_problem_naming_the_field(gateway, move_clock):
    manager = await headers_for(gateway, SALES_MANAGER)
    client = await create_client(gateway, manager)
    contract = await create_contract(gateway, manager, client["id"], premium="1000.00")
    cid, today = contract["id"], business_today()
    endorse = f"/api/v1/contracts/{cid}/endorsements"
    for body, field in (
        ({"effective_date": contract["end_date"], "reason": "x", "premium": "1100.00"}, "body.effective_date"),
        (
            {"effective_date": (today - timedelta(days=11)).isoformat(), "reason": "x", "premium": "1100.00"},
            "body.effective_date",
        ),
        ({"effective_date": today.isoformat(), "reason": "x", "premium": "-5.00"}, "body.premium"),
        ({"effective_date": today.isoformat(), "reason": "x", "premium": "1000.00"}, "body"),
    ):
        assert_problem(await gateway.post(endorse, json=body, headers=manager), 422, field)
    r = await gateway.post(f"/api/v1/contracts/{cid}/cancel", json={"reason": "x"}, headers=manager)
    assert_problem(r, 422, "body.effective_date")  # pro rata needs one

    # Cancelled, then past the 30-day reinstatement window: refused, naming what decides it.
    r = await gateway.post(
        f"/api/v1/contracts/{cid}/cancel",
        json={"reason": "unpaid", "effective_date": today.isoformat()},
        headers=manager,
    )
    assert r.status_code == 200, r.text
    await move_clock(timedelta(days=31), services=["contracts"])
    r = await gateway.post(f"/api/v1/contracts/{cid}/reinstate", json={"reason": "paid late"}, headers=manager)
    body = assert_problem(r, 409, "cancelled_at")
    assert "window" in body["detail"]


async def _accepted_contract(gateway, headers, publish_event, client: dict, owner_id: str, line_id: uuid.UUID):
    """A contract from an accepted deal, the event forged as pipeline writes it (the deal's department included)."""
    today = business_today()
    accepted = OpportunityAccepted(
        opportunity_id=uuid.uuid4(),
        client_id=uuid.UUID(client["id"]),
        line_id=line_id,
        line_name="Marine",
        owner_id=uuid.UUID(owner_id),
        department_id=uuid.UUID(client["department_id"]),
        terms=Terms(
            premium=Decimal("250000.00"),
            currency="EUR",
            start_date=today - timedelta(days=1),
            end_date=today + timedelta(days=364),
            insurer="Interamerican",
        ),
    )
    await publish_event(accepted, subject=str(accepted.opportunity_id), source="pipeline")

    async def found():
        r = await gateway.get(
            "/api/v1/contracts", params={"opportunity_id": str(accepted.opportunity_id)}, headers=headers
        )
        return r.json()["items"][0] if r.json()["items"] else None

    return await wait_until(found, what="the accepted deal's contract")


async def _pending_referral(gateway, headers, contract_id: str) -> dict:
    async def found():
        r = await gateway.get("/api/v1/contracts/referrals", params={"status": "pending"}, headers=headers)
        assert r.status_code == 200, r.text
        return next((x for x in r.json() if x["contract_id"] == contract_id), None)

    return await wait_until(found, what=f"the referral of contract {contract_id}")


async def test_a_referral_holds_issue_until_a_manager_approves_and_a_decline_closes(
    gateway, admin_headers, publish_event
):
    manager = await headers_for(gateway, SALES_MANAGER)
    employee = await headers_for(gateway, SALES_EMPLOYEE)
    employee_id = (await me(gateway, employee))["id"]
    line_id = uuid.uuid4()  # a line of this test's own, so the rule holds nothing else on the shared stack
    rule = {"name": f"Large marine risks {line_id.hex[:6]}", "condition": "premium_above", "threshold": "100000.00"}
    r = await gateway.post("/api/v1/contracts/referral-rules", json={**rule, "line_id": str(line_id)}, headers=employee)
    assert_problem(r, 403)
    r = await gateway.post(
        "/api/v1/contracts/referral-rules", json={**rule, "line_id": str(line_id)}, headers=admin_headers
    )
    assert r.status_code == 201, r.text
    rule_id = r.json()["id"]
    try:
        client = await create_client(gateway, employee)
        contract = await _accepted_contract(gateway, employee, publish_event, client, employee_id, line_id)
        referral = await _pending_referral(gateway, manager, contract["id"])
        assert referral["step"] == "issuance" and referral["fired"][0]["rule_id"] == rule_id
        issue = {"policy_number": f"POL-{uuid.uuid4().hex[:10]}", "issue_date": business_today().isoformat()}
        r = await gateway.post(f"/api/v1/contracts/{contract['id']}/issue", json=issue, headers=employee)
        assert_problem(r, 409, "path.contract_id")
        # The specialist, an Employee, cannot approve; the department's Manager can, and then it issues.
        r = await gateway.post(f"/api/v1/contracts/referrals/{referral['id']}/approve", headers=employee)
        assert_problem(r, 403)
        r = await gateway.post(f"/api/v1/contracts/referrals/{referral['id']}/approve", headers=manager)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "approved"
        r = await gateway.post(f"/api/v1/contracts/{contract['id']}/issue", json=issue, headers=employee)
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "active"

        # The Manager was told (notifications).
        async def told():
            r = await gateway.get("/api/v1/notifications", params={"limit": 100}, headers=manager)
            assert r.status_code == 200, r.text
            return next(
                (
                    n
                    for n in r.json()["items"]
                    if n["kind"] == "contract_referred" and n["link"]["id"] == contract["id"]
                ),
                None,
            )

        await wait_until(told, timeout=60, what="the Manager's referral notification")

        # A second deal on the line: declined with a reason, which closes the contract.
        second = await _accepted_contract(gateway, employee, publish_event, client, employee_id, line_id)
        referral = await _pending_referral(gateway, manager, second["id"])
        r = await gateway.post(
            f"/api/v1/contracts/referrals/{referral['id']}/decline",
            json={"reason": "too large for us"},
            headers=manager,
        )
        assert r.status_code == 200, r.text
        r = await gateway.get(f"/api/v1/contracts/{second['id']}", headers=manager)
        closed = r.json()
        assert closed["status"] == "cancelled" and closed["cancel_reason"] == "declined at referral: too large for us"
        assert closed["cancel_method"] == "flat"
    finally:
        r = await gateway.patch(
            f"/api/v1/contracts/referral-rules/{rule_id}", json={"active": False}, headers=admin_headers
        )
        assert r.status_code == 200, r.text
