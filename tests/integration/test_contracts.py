"""The contracts service through the gateway, with the clients service reacting: creation from an
accepted deal, issue, activation, expiry by the scanner, cancellation with refund, the once-only
renewal notice, roll-ups over a client tree, bad input and access."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

from services.contracts import service as contracts_service
from shared.contracts.pipeline import OpportunityAccepted, Terms
from shared.db import create_engine, create_sessionmaker
from tests.conftest import assert_problem, run_job, wait_until
from tests.integration.clients_contracts_helpers import (
    SALES_EMPLOYEE,
    SALES_EMPLOYEE_2,
    SALES_MANAGER,
    TECH_EMPLOYEE,
    TECH_MANAGER,
    business_today,
    create_client,
    create_contract,
    db,
    get_client,
    headers_for,
    in_force_terms,
    me,
    outbox_events,
    tag,
    wait_client_status,
)


def _accepted(
    client_id: str,
    owner_id: str,
    *,
    opportunity_id: uuid.UUID | None = None,
    days_after: int = 300,
    premium: str = "1500.00",
) -> OpportunityAccepted:
    today = business_today()
    return OpportunityAccepted(
        opportunity_id=opportunity_id or uuid.uuid4(),
        client_id=uuid.UUID(client_id),
        line_id=uuid.uuid4(),
        line_name="Property",
        owner_id=uuid.UUID(owner_id),
        department_id=None,
        terms=Terms(
            premium=Decimal(premium),
            currency="EUR",
            start_date=today - timedelta(days=10),
            end_date=today + timedelta(days=days_after),
            insurer="Interamerican",
        ),
    )


async def _contract_of_deal(gateway, headers, opportunity_id) -> dict:
    async def found():
        r = await gateway.get("/api/v1/contracts", params={"opportunity_id": str(opportunity_id)}, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    items = await wait_until(found, what=f"the contract of deal {opportunity_id}")
    assert len(items) == 1, items
    return items[0]


async def test_accepted_deal_to_active_client_to_expiry(gateway, admin_headers, stack, publish_event, move_clock):
    specialist = await headers_for(gateway, SALES_EMPLOYEE)
    specialist_id = (await me(gateway, specialist))["id"]
    client = await create_client(gateway, specialist)
    accepted = _accepted(client["id"], specialist_id, days_after=30)

    # The accept decision creates the contract, once, however often it is delivered.
    envelope = await publish_event(accepted, subject=str(accepted.opportunity_id), source="pipeline")
    contract = await _contract_of_deal(gateway, specialist, accepted.opportunity_id)
    assert contract["status"] == "pending_issuance" and contract["origin"] == "deal"
    assert contract["specialist_id"] == specialist_id and contract["premium"] == "1500.00"
    assert contract["start_date"] == accepted.terms.start_date.isoformat()
    await publish_event(accepted, subject=str(accepted.opportunity_id), source="pipeline", event_id=envelope.id)
    await publish_event(accepted, subject=str(accepted.opportunity_id), source="pipeline")
    marker = _accepted(client["id"], specialist_id)
    await publish_event(marker, subject=str(accepted.opportunity_id), source="pipeline")
    await _contract_of_deal(gateway, specialist, marker.opportunity_id)  # the copies were handled before it
    await _contract_of_deal(gateway, specialist, accepted.opportunity_id)  # still exactly one
    assert (await get_client(gateway, specialist, client["id"]))["status"] == "prospect"

    # The specialist (an Employee) issues it; its dates cover today, so it is active, and so is the client.
    r = await gateway.post(
        f"/api/v1/contracts/{contract['id']}/issue",
        json={"policy_number": f"POL-{tag()}", "issue_date": business_today().isoformat()},
        headers=specialist,
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "active" and r.json()["issue_date"] == business_today().isoformat()
    issued_at = time.monotonic()
    await wait_client_status(gateway, specialist, client["id"], "active", timeout=2.0)
    assert time.monotonic() - issued_at < 2.0
    issued = await outbox_events(stack, "contracts", key=contract["id"], event_type="contracts.contract.issued")
    assert len(issued) == 1 and issued[0]["opportunity_id"] == str(accepted.opportunity_id)

    # A second contract, in force well beyond the first's end.
    manager = await headers_for(gateway, SALES_MANAGER)
    longer = await create_contract(gateway, manager, client["id"], days_after=400)
    assert longer["status"] == "active"
    await wait_client_status(gateway, specialist, client["id"], "active", active_contracts=2)

    # Past the first's end: it expires, the client stays active on the second.
    await move_clock(timedelta(days=32), services=["contracts", "clients"])
    await run_scan(stack)
    await wait_until(lambda: _status(gateway, specialist, contract["id"], "expired"), what="the first to expire")
    await wait_client_status(gateway, specialist, client["id"], "active", active_contracts=1)

    # Past the second's end as well: inactive.
    await move_clock(timedelta(days=400), services=["contracts", "clients"])
    await run_scan(stack)
    await wait_until(lambda: _status(gateway, specialist, longer["id"], "expired"), what="the second to expire")
    changed = await wait_client_status(gateway, specialist, client["id"], "inactive", active_contracts=0)
    assert changed["status_changed_at"]
    expired = await outbox_events(stack, "contracts", key=contract["id"], event_type="contracts.contract.expired")
    assert len(expired) == 1 and expired[0]["changes"]["status"] == {"before": "active", "after": "expired"}


async def run_scan(stack) -> dict:
    """One scanner round that really ran (a periodic round may hold the job lock for a moment)."""
    return (await wait_until(lambda: _ran(stack), timeout=30, interval=0.2, what="a lifecycle_scan round"))["result"]


async def _ran(stack):
    report = await run_job(stack, "contracts", "lifecycle_scan")
    return report if report["ran"] else None


async def _projected(stack, contract_id: str, status: str) -> bool:
    """Whether the clients service has applied the contract's events up to `status`."""
    conn = await db(stack, "clients")
    try:
        return status == await conn.fetchval(
            "SELECT status FROM client_contracts WHERE contract_id = $1", uuid.UUID(contract_id)
        )
    finally:
        await conn.close()


async def _status(gateway, headers, contract_id: str, status: str) -> bool:
    r = await gateway.get(f"/api/v1/contracts/{contract_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["status"] == status


async def test_manual_contract_created_issued_and_in_force_makes_a_prospect_active(gateway, admin_headers, stack):
    manager = await headers_for(gateway, SALES_MANAGER)
    client = await create_client(gateway, manager)
    assert client["status"] == "prospect"
    contract = await create_contract(gateway, manager, client["id"])
    assert contract["status"] == "active" and contract["origin"] == "manual" and contract["policy_number"]
    await wait_client_status(gateway, manager, client["id"], "active", timeout=5.0, active_contracts=1)
    types = []
    for event_type in ("created", "issued", "activated"):
        types += [event_type] * len(
            await outbox_events(stack, "contracts", key=contract["id"], event_type=f"contracts.contract.{event_type}")
        )
    assert types == ["created", "issued", "activated"]
    changes = await outbox_events(stack, "clients", key=client["id"], event_type="clients.client.status_changed")
    assert changes[0]["cause_event_type"] == "contracts.contract.activated"
    assert changes[0]["contract_id"] == contract["id"] and changes[0]["active_contracts"] == 1

    # A contract starting later is issued but not in force: the client has not held a contract yet.
    other = await create_client(gateway, manager)
    later = await create_contract(gateway, manager, other["id"], days_before=-20, days_after=380)
    assert later["status"] == "issued"
    await wait_until(lambda: _projected(stack, later["id"], "issued"), what="the issue to reach clients")
    assert (await get_client(gateway, manager, other["id"]))["status"] == "prospect"


async def test_cancellation_stores_the_pro_rata_refund_and_refuses_a_second(gateway, admin_headers, stack):
    manager = await headers_for(gateway, SALES_MANAGER)
    client = await create_client(gateway, manager)
    today = business_today()
    start, end = today - timedelta(days=100), today - timedelta(days=100) + timedelta(days=365)
    r = await gateway.post(
        "/api/v1/contracts",
        headers=manager,
        json={
            "client_id": client["id"],
            "premium": "1000.00",
            "currency": "eur",
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
            "insurer": "Generali",
            "policy_number": f"POL-{tag()}",
            "issue_date": start.isoformat(),
        },
    )
    assert r.status_code == 201, r.text
    contract = r.json()
    assert contract["currency"] == "EUR" and contract["status"] == "active"
    await wait_client_status(gateway, manager, client["id"], "active")

    for outside in (start - timedelta(days=1), end + timedelta(days=1)):
        assert_problem(
            await gateway.post(
                f"/api/v1/contracts/{contract['id']}/cancel",
                headers=manager,
                json={"reason": "x", "effective_date": outside.isoformat()},
            ),
            422,
            "body.effective_date",
        )
    effective = end - timedelta(days=73)  # 73 of 365 days left: a fifth
    quote_url = f"/api/v1/contracts/{contract['id']}/cancellation-quote"
    quote = await gateway.get(quote_url, headers=manager, params={"effective_date": effective.isoformat()})
    assert quote.status_code == 200, quote.text
    assert quote.json() | {"contract_id": None} == {
        "contract_id": None,
        "method": "pro_rata",
        "effective_date": effective.isoformat(),
        "premium": "1000.00",
        "currency": "EUR",
        "refund": "200.00",
        "days_remaining": 73,
        "days_in_term": 365,
    }
    assert_problem(
        await gateway.get(quote_url, headers=manager, params={"effective_date": outside.isoformat()}),
        422,
        "query.effective_date",
    )
    assert_problem(await gateway.get(quote_url, headers=manager), 422, "query.effective_date")
    r = await gateway.post(
        f"/api/v1/contracts/{contract['id']}/cancel",
        headers=manager,
        json={"reason": "client sold the vessel", "effective_date": effective.isoformat()},
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled" and r.json()["refund"] == "200.00"
    assert_problem(
        await gateway.post(
            f"/api/v1/contracts/{contract['id']}/cancel",
            headers=manager,
            json={"reason": "again", "effective_date": effective.isoformat()},
        ),
        409,
    )
    assert_problem(await gateway.get(quote_url, headers=manager, params={"effective_date": effective.isoformat()}), 409)
    assert_problem(
        await gateway.post(
            f"/api/v1/contracts/{contract['id']}/issue",
            headers=manager,
            json={"policy_number": f"P-{tag()}", "issue_date": today.isoformat()},
        ),
        409,
    )
    event = (await outbox_events(stack, "contracts", key=contract["id"], event_type="contracts.contract.cancelled"))[0]
    assert event["refund"] == "200.00" and event["reason"] == "client sold the vessel"
    assert event["effective_date"] == effective.isoformat()
    # Held a contract, none active now.
    await wait_client_status(gateway, manager, client["id"], "inactive")


async def test_exactly_one_renewal_notice_under_repeated_and_concurrent_scans(gateway, admin_headers, stack):
    manager = await headers_for(gateway, SALES_MANAGER)
    client = await create_client(gateway, manager)
    due = [await create_contract(gateway, manager, client["id"], days_after=days) for days in (20, 59)]
    not_yet = await create_contract(gateway, manager, client["id"], days_after=200)
    pending = await create_contract(gateway, manager, client["id"], issued=False, days_after=20)

    # Many rounds at once through the job endpoint, and two more "instances" running the scan directly,
    # without the job lock, in their own transactions against the same database.
    engine = create_engine(stack.database_url("contracts"), pool_size=4)
    sessions = create_sessionmaker(engine)

    async def instance():
        async with sessions() as session, session.begin():
            return await contracts_service.lifecycle_scan(
                session, today=business_today(), renewal_days=60, batch_size=1000
            )

    try:
        results = await asyncio.gather(
            *[run_job(stack, "contracts", "lifecycle_scan") for _ in range(8)], instance(), instance(), instance()
        )
    finally:
        await engine.dispose()
    for _ in range(3):
        await run_job(stack, "contracts", "lifecycle_scan")
    assert any(r.get("ran") for r in results[:8])

    for contract in due:
        notices = await outbox_events(
            stack, "contracts", key=contract["id"], event_type="contracts.contract.renewal_due"
        )
        assert len(notices) == 1, notices
        assert notices[0]["days_before_end"] == 60 and notices[0]["end_date"] == contract["end_date"]
    for contract in (not_yet, pending):
        assert (
            await outbox_events(stack, "contracts", key=contract["id"], event_type="contracts.contract.renewal_due")
            == []
        )

    # And the audit trail, fed from Kafka, has exactly one each too.
    conn = await db(stack, "audit")
    try:

        async def recorded():
            n = await conn.fetchval(
                "SELECT count(*) FROM audit_records WHERE event_type = "
                "'contracts.contract.renewal_due' AND aggregate_id = ANY($1::text[])",
                [c["id"] for c in due],
            )
            return n >= 2 and n

        assert await wait_until(recorded, what="renewal notices in audit") == 2
        await asyncio.sleep(1.0)
        assert await recorded() == 2
    finally:
        await conn.close()


async def test_subtree_rollups_match_the_contracts_held(gateway, admin_headers):
    manager = await headers_for(gateway, SALES_MANAGER)
    root = await create_client(gateway, manager, name=f"Holding {tag()}")
    child = await create_client(gateway, manager, name=f"Child {tag()}", parent_id=root["id"])
    grandchild = await create_client(gateway, manager, name=f"Grandchild {tag()}", parent_id=child["id"])
    sibling = await create_client(gateway, manager, name=f"Sibling {tag()}", parent_id=root["id"])
    parents = {root["id"]: None, child["id"]: root["id"], grandchild["id"]: child["id"], sibling["id"]: root["id"]}

    contracts = [
        await create_contract(gateway, manager, root["id"], premium="100.00"),
        await create_contract(gateway, manager, child["id"], premium="250.50"),
        await create_contract(gateway, manager, child["id"], premium="80.00", currency="USD"),
        await create_contract(gateway, manager, grandchild["id"], premium="10.01"),
        await create_contract(gateway, manager, grandchild["id"], premium="999.00", issued=False),
        await create_contract(gateway, manager, sibling["id"], premium="40.00"),
    ]
    r = await gateway.post(
        f"/api/v1/contracts/{contracts[-1]['id']}/cancel",
        headers=manager,
        json={"reason": "moved", "effective_date": business_today().isoformat()},
    )
    assert r.status_code == 200, r.text
    contracts[-1] = r.json()
    for client_id, status, n in (
        (root["id"], "active", 1),
        (child["id"], "active", 2),
        (grandchild["id"], "active", 1),
        (sibling["id"], "inactive", 0),
    ):
        await wait_client_status(gateway, manager, client_id, status, active_contracts=n)

    def below(node: str, top: str) -> bool:
        while node is not None:
            if node == top:
                return True
            node = parents[node]
        return False

    for top in parents:
        expected: dict[str, list] = defaultdict(lambda: [0, Decimal("0")])
        for c in contracts:
            if c["status"] == "active" and below(c["client_id"], top):
                expected[c["currency"]][0] += 1
                expected[c["currency"]][1] += Decimal(c["premium"])
        r = await gateway.get(f"/api/v1/clients/{top}/rollup", headers=manager)
        assert r.status_code == 200, r.text
        rollup = r.json()
        got = {
            t["currency"]: [t["active_contracts"], Decimal(t["annual_premium"])] for t in rollup["premium_by_currency"]
        }
        assert got == dict(expected), (top, got, dict(expected))
        assert rollup["active_contracts"] == sum(v[0] for v in expected.values())
        assert rollup["clients"] == sum(1 for n in parents if below(n, top))
    assert {
        t["currency"]: t["annual_premium"]
        for t in (await gateway.get(f"/api/v1/clients/{root['id']}/rollup", headers=manager)).json()[
            "premium_by_currency"
        ]
    } == {"EUR": "360.51", "USD": "80.00"}


async def test_bad_input_gets_a_problem_naming_the_field(gateway, admin_headers):
    manager = await headers_for(gateway, SALES_MANAGER)
    client = await create_client(gateway, manager)
    base = {"client_id": client["id"], **in_force_terms()}
    today = business_today()
    cases = [
        ({"end_date": (today - timedelta(days=20)).isoformat()}, "body.end_date"),
        ({"end_date": base["start_date"]}, "body.end_date"),
        ({"premium": "-5.00"}, "body.premium"),
        ({"premium": "0"}, "body.premium"),
        ({"premium": "lots"}, "body.premium"),
        ({"premium": "10.005"}, "body.premium"),
        ({"currency": "EURO"}, "body.currency"),
        ({"start_date": "yesterday"}, "body.start_date"),
        ({"policy_number": "P-1"}, "body.issue_date"),
        ({"policy_number": f"P-{tag()}", "issue_date": (today + timedelta(days=5)).isoformat()}, "body.issue_date"),
        ({"client_id": str(uuid.uuid4())}, "body.client_id"),
        ({"client_id": "not-a-uuid"}, "body.client_id"),
    ]
    for change, field in cases:
        assert_problem(await gateway.post("/api/v1/contracts", json={**base, **change}, headers=manager), 422, field)
    contract = await create_contract(gateway, manager, client["id"], issued=False)
    assert_problem(
        await gateway.post(
            f"/api/v1/contracts/{contract['id']}/issue",
            headers=manager,
            json={"policy_number": "", "issue_date": today.isoformat()},
        ),
        422,
        "body.policy_number",
    )
    assert_problem(
        await gateway.post(
            f"/api/v1/contracts/{contract['id']}/cancel",
            headers=manager,
            json={"reason": "x", "effective_date": "soon"},
        ),
        422,
        "body.effective_date",
    )
    assert_problem(
        await gateway.get("/api/v1/contracts", params={"status": "alive"}, headers=manager), 422, "query.status"
    )
    assert_problem(await gateway.get(f"/api/v1/contracts/{uuid.uuid4()}", headers=manager), 404)


async def test_access_follows_the_clients_department(gateway, admin_headers):
    manager = await headers_for(gateway, SALES_MANAGER)
    colleague = await headers_for(gateway, SALES_EMPLOYEE_2)
    outsider = await headers_for(gateway, TECH_EMPLOYEE)
    other_manager = await headers_for(gateway, TECH_MANAGER)
    client = await create_client(gateway, manager)
    contract = await create_contract(gateway, manager, client["id"], issued=False)
    issue = {"policy_number": f"POL-{tag()}", "issue_date": business_today().isoformat()}

    # Employees cannot create; a Manager of another department cannot see the client.
    assert_problem(
        await gateway.post(
            "/api/v1/contracts", json={"client_id": client["id"], **in_force_terms()}, headers=colleague
        ),
        403,
    )
    assert_problem(
        await gateway.post(
            "/api/v1/contracts", json={"client_id": client["id"], **in_force_terms()}, headers=other_manager
        ),
        422,
        "body.client_id",
    )
    # A colleague in the department reads it but may not issue (not the specialist); outsiders see nothing.
    assert (await gateway.get(f"/api/v1/contracts/{contract['id']}", headers=colleague)).status_code == 200
    assert_problem(await gateway.post(f"/api/v1/contracts/{contract['id']}/issue", json=issue, headers=colleague), 403)
    for headers in (outsider, other_manager):
        assert_problem(await gateway.get(f"/api/v1/contracts/{contract['id']}", headers=headers), 404)
        assert_problem(
            await gateway.post(f"/api/v1/contracts/{contract['id']}/issue", json=issue, headers=headers), 404
        )
        listed = await gateway.get("/api/v1/contracts", params={"client_id": client["id"]}, headers=headers)
        assert listed.json()["items"] == []
    r = await gateway.post(f"/api/v1/contracts/{contract['id']}/issue", json=issue, headers=admin_headers)
    assert r.status_code == 200, r.text
    assert_problem(await gateway.post(f"/api/v1/contracts/{contract['id']}/issue", json=issue, headers=manager), 409)
