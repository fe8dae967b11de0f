"""Renewals through the gateway, with the clock moved (issue 14): a contract reaching its renewal window gets one
renewal deal (even with two scanners) at Needs Analysis for the line's specialist; it shows on the workbench; its
acceptance creates the next term's contract linked to the old one; the old expires and the client stays Active,
while a contract left alone lapses and, being its client's last, makes that client Inactive."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from services.contracts import service as contracts_service
from shared.db import create_engine, create_sessionmaker
from tests.conftest import run_job, wait_until
from tests.integration.clients_contracts_helpers import (
    SALES_EMPLOYEE,
    SALES_MANAGER,
    business_today,
    create_client,
    db,
    headers_for,
    in_force_terms,
    line_named,
    me,
    tag,
    wait_client_status,
)
from tests.integration.test_contracts import run_scan


async def _contract_on_line(gateway, headers, client_id: str, line: dict, *, days_after: int) -> dict:
    body = {
        "client_id": client_id,
        **in_force_terms(premium="1000.00", days_before=300, days_after=days_after),
        "line_id": line["id"],
        "line_name": line["name"],
        "policy_number": f"POL-{tag()}-{tag()}",
        "issue_date": business_today().isoformat(),
    }
    r = await gateway.post("/api/v1/contracts", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def _workbench_row(gateway, headers, contract_id: str, **params) -> dict | None:
    r = await gateway.get("/api/v1/contracts/renewals", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return next((row for row in r.json() if row["contract_id"] == contract_id), None)


async def test_a_renewal_opens_once_is_accepted_and_an_unrenewed_contract_lapses(
    gateway, admin_headers, stack, move_clock
):
    manager = await headers_for(gateway, SALES_MANAGER)
    line = await line_named(gateway, admin_headers, "Marine")
    client, other = await create_client(gateway, manager), await create_client(gateway, manager)
    expiring = await _contract_on_line(gateway, manager, client["id"], line, days_after=30)
    alone = await _contract_on_line(gateway, manager, other["id"], line, days_after=30)
    await wait_client_status(gateway, manager, client["id"], "active", active_contracts=1)
    await wait_client_status(gateway, manager, other["id"], "active", active_contracts=1)

    # Two scanners at once (the job, and a second instance straight on the database): one notice, one deal each.
    engine = create_engine(stack.database_url("contracts"), pool_size=2)
    sessions = create_sessionmaker(engine)

    async def instance():
        async with sessions() as session, session.begin():
            return await contracts_service.lifecycle_scan(
                session, today=business_today(), renewal_days=60, batch_size=1000
            )

    try:
        await asyncio.gather(run_job(stack, "contracts", "lifecycle_scan"), instance(), instance())
    finally:
        await engine.dispose()
    await run_scan(stack)

    async def on_workbench(contract_id: str):
        row = await _workbench_row(gateway, manager, contract_id, line_id=line["id"])
        return row if row is not None and row["opportunity_id"] else None

    row = await wait_until(lambda: on_workbench(expiring["id"]), what="the renewal deal on the workbench")
    assert (row["renewal_status"], row["expiring_premium"], row["proposed_premium"]) == (
        "in_progress",
        "1000.00",
        "1000.00",
    )
    assert row["owner_id"] == line["specialist_id"] and row["change_percent"] == "0.0" and not row["at_risk"]
    await wait_until(lambda: on_workbench(alone["id"]), what="the second contract's renewal deal")
    pipeline = await db(stack, "pipeline")
    try:
        deals = await pipeline.fetch(
            "SELECT id, stage_key, owner_id FROM opportunities WHERE renews_contract_id = $1::uuid", expiring["id"]
        )
    finally:
        await pipeline.close()
    assert len(deals) == 1 and str(deals[0]["id"]) == row["opportunity_id"]

    # The line's specialist is told of the renewal opening; the contracts' own specialist (the Manager who made
    # them) that, with 30 days left and no deal yet when the scanner looked, they are at risk.
    specialist = await headers_for(gateway, SALES_EMPLOYEE)
    assert (await me(gateway, specialist))["id"] == line["specialist_id"]

    async def told(headers, kind: str, link_id: str):
        r = await gateway.get("/api/v1/notifications", params={"limit": 200}, headers=headers)
        assert r.status_code == 200, r.text
        return next((n for n in r.json()["items"] if n["kind"] == kind and n["link"]["id"] == link_id), None)

    await wait_until(lambda: told(specialist, "renewal_opened", row["opportunity_id"]), what="renewal opened")
    assert expiring["specialist_id"] == (await me(gateway, manager))["id"]
    await wait_until(lambda: told(manager, "renewal_at_risk", alone["id"]), what="the renewal at risk notification")

    # The specialist's deal is worked and accepted for the next term, 15 % dearer.
    deal_id = row["opportunity_id"]
    r = await gateway.get(f"/api/v1/opportunities/{deal_id}", headers=manager)
    assert r.status_code == 200, r.text
    deal = r.json()
    assert deal["stage"]["key"] == "needs_analysis" and deal["renews_contract_id"] == expiring["id"]
    while deal["stage"]["key"] != "client_decision":
        r = await gateway.post(
            f"/api/v1/opportunities/{deal_id}/advance", headers=manager, json={"from_stage": deal["stage"]["key"]}
        )
        assert r.status_code == 200, r.text
        deal = r.json()
    old_end = date.fromisoformat(expiring["end_date"])
    terms = {
        "premium": "1150.00",
        "currency": "EUR",
        "start_date": old_end.isoformat(),
        "end_date": (old_end + timedelta(days=365)).isoformat(),
        "insurer": "Ethniki Asfalistiki",
    }
    r = await gateway.post(f"/api/v1/opportunities/{deal_id}/accept", headers=manager, json=terms)
    assert r.status_code == 200, r.text
    next_id = r.json()["contract_id"]

    async def next_term():
        r = await gateway.get(f"/api/v1/contracts/{next_id}", headers=manager)
        return r.json() if r.status_code == 200 else None

    successor = await wait_until(next_term, what="the next term's contract")
    assert successor["renews_contract_id"] == expiring["id"] and successor["premium"] == "1150.00"
    r = await gateway.post(
        f"/api/v1/contracts/{next_id}/issue",
        json={"policy_number": f"POL-{tag()}-{tag()}", "issue_date": business_today().isoformat()},
        headers=manager,
    )
    assert r.status_code == 200, r.text
    row = await _workbench_row(gateway, manager, expiring["id"], line_id=line["id"])
    assert (row["renewal_status"], row["change_percent"], row["at_risk"]) == ("renewed", "15.0", True)
    assert row["renewed_by_contract_id"] == next_id

    # Past the end: the old expires (renewed), the next term is in force and the client stays Active; the contract
    # left alone lapses, and its client, holding nothing else, becomes Inactive.
    await move_clock(timedelta(days=32), services=["contracts", "clients"])
    await run_scan(stack)

    async def status_of(contract_id: str, status: str):
        r = await gateway.get(f"/api/v1/contracts/{contract_id}", headers=manager)
        return r.json()["status"] == status

    await wait_until(lambda: status_of(expiring["id"], "expired"), what="the old term to expire")
    await wait_until(lambda: status_of(next_id, "active"), what="the next term to be in force")
    await wait_until(lambda: status_of(alone["id"], "expired"), what="the contract left alone to end")
    await wait_client_status(gateway, manager, client["id"], "active", active_contracts=1)
    await wait_client_status(gateway, manager, other["id"], "inactive", active_contracts=0)
    lapsed = await _workbench_row(gateway, manager, alone["id"], line_id=line["id"], status="lapsed")
    assert lapsed is not None and lapsed["contract_status"] == "expired"
    renewed = await _workbench_row(gateway, manager, expiring["id"], line_id=line["id"])
    assert renewed["renewal_status"] == "renewed"
