"""Flow 3 and 4 end to end, through the gateway, across pipeline, contracts and clients: a deal is
accepted, the contract follows from the decision, issuing it makes the client Active and closes the
deal as won."""

import time

from tests.conftest import wait_until
from tests.integration.clients_contracts_helpers import (
    SALES_MANAGER,
    business_today,
    create_client,
    headers_for,
    in_force_terms,
    line_named,
    tag,
    wait_client_status,
)


async def test_accepting_a_deal_creates_its_contract_and_issuing_it_activates_the_client_and_wins_the_deal(
    stack, gateway, admin_headers
):
    manager = await headers_for(gateway, SALES_MANAGER)
    client = await create_client(gateway, manager, name=f"Flow Four Shipping {tag()}")
    assert client["status"] == "prospect"
    line = await line_named(gateway, admin_headers, "Marine")
    opened = await gateway.post(
        "/api/v1/opportunities",
        headers=manager,
        json={
            "client_id": client["id"],
            "line_id": line["id"],
            "title": "Hull and machinery cover",
            "expected_premium": "15000.00",
            "currency": "EUR",
        },
    )
    assert opened.status_code == 201, opened.text
    deal = opened.json()
    assert deal["owner_id"] == line["specialist_id"]

    while deal["stage"]["key"] != "client_decision":
        moved = await gateway.post(
            f"/api/v1/opportunities/{deal['id']}/advance", headers=manager, json={"from_stage": deal["stage"]["key"]}
        )
        assert moved.status_code == 200, moved.text
        deal = moved.json()

    terms = in_force_terms(premium="14250.50", days_before=1, days_after=364)
    accepted = await gateway.post(f"/api/v1/opportunities/{deal['id']}/accept", headers=manager, json=terms)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["stage"]["key"] == "policy_issuance"

    async def contract_of_the_deal():
        r = await gateway.get("/api/v1/contracts", headers=manager, params={"opportunity_id": deal["id"]})
        return r.json()["items"][0] if r.status_code == 200 and r.json()["items"] else None

    contract = await wait_until(contract_of_the_deal, timeout=5, what="the contract created from the decision")
    assert contract["status"] == "pending_issuance"
    assert contract["client_id"] == client["id"]
    assert contract["premium"] == "14250.50" and contract["currency"] == "EUR"
    assert (contract["start_date"], contract["end_date"]) == (terms["start_date"], terms["end_date"])
    assert contract["specialist_id"] == line["specialist_id"]

    issued = await gateway.post(
        f"/api/v1/contracts/{contract['id']}/issue",
        headers=manager,
        json={"policy_number": f"MAR-{tag()}", "issue_date": business_today().isoformat()},
    )
    assert issued.status_code == 200, issued.text
    started = time.monotonic()
    await wait_client_status(gateway, manager, client["id"], "active", timeout=2.0)
    became_active_after = time.monotonic() - started

    async def deal_won():
        r = await gateway.get(f"/api/v1/opportunities/{deal['id']}", headers=manager)
        body = r.json()
        return body if body["status"] == "won" and body["stage"]["key"] == "completion" else None

    won = await wait_until(deal_won, timeout=5, what="the deal to be completed by the issued contract")
    timeline = (await gateway.get(f"/api/v1/opportunities/{deal['id']}/timeline", headers=manager)).json()
    last = timeline["entries"][-1] if "entries" in timeline else timeline["items"][-1]
    assert last["to_stage"] == "completion"
    assert became_active_after < 2.0
    assert won["id"] == deal["id"]
