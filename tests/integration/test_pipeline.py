"""The pipeline service through the gateway, on the real Kafka and PostgreSQL: opening a deal, walking
the nine stages, the accept/decline branch, completion by a contract event (once), bad moves,
concurrent moves of one deal, access by department, and the analytics against our own arithmetic."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from shared.contracts.clients import ClientCreated
from shared.contracts.contracts import ContractIssued
from shared.contracts.pipeline import STAGE_KEYS
from tests.conftest import all_items, assert_problem, login, superuser_dsn, wait_until
from tests.documents.files import pdf
from tests.integration.clients_contracts_helpers import create_client

PASSWORDS = {"Admin": "admin-demo-pass", "Manager": "manager-demo-pass", "Employee": "employee-demo-pass"}
TERMS = {
    "premium": "1200.50",
    "currency": "EUR",
    "start_date": "2027-01-01",
    "end_date": "2027-12-31",
    "insurer": "Aegean Mutual",
}


@pytest.fixture
async def people(gateway, admin_headers) -> dict[str, dict]:
    users = await all_items(gateway, "/api/v1/users", admin_headers)
    return {u["email"].split("@")[0]: u for u in users}


@pytest.fixture
async def headers_of(gateway, people):
    cache: dict[str, dict] = {}

    async def headers(name: str) -> dict[str, str]:
        if name not in cache:
            user = people[name]
            token = await login(gateway, user["email"], PASSWORDS[user["role"]])
            cache[name] = {"Authorization": f"Bearer {token}"}
        return cache[name]

    return headers


@pytest.fixture
async def new_client(publish_event):
    async def create(name: str = "Acme Shipping SA", department_id: str | None = None) -> str:
        client_id = uuid.uuid4()
        await publish_event(
            ClientCreated(
                client_id=client_id,
                kind="company",
                name=name,
                tax_id=None,
                country="GR",
                email=None,
                phone=None,
                address=None,
                department_id=department_id,
                parent_id=None,
                status="prospect",
            ),
            subject=str(client_id),
        )
        return str(client_id)

    return create


@pytest.fixture
async def lines(gateway, admin_headers) -> dict[str, dict]:
    return {line["name"]: line for line in await all_items(gateway, "/api/v1/lines", admin_headers)}


async def open_deal(gateway, headers, *, client_id: str, line_id: str, title: str = "Fleet cover 2027") -> dict:
    response = await gateway.post(
        "/api/v1/opportunities",
        headers=headers,
        json={
            "client_id": client_id,
            "line_id": line_id,
            "title": title,
            "expected_premium": "15000.00",
            "currency": "EUR",
            "notes": "renewal of a competitor's policy",
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def advance_to(gateway, headers, deal: dict, stage: str) -> dict:
    """Advance the deal stage by stage as `headers`' user. An Employee needs the documents a stage's checklist
    names (Material Gathering's): they are uploaded as the Employee would, and the advance tried again once
    pipeline has counted them."""
    while deal["stage"]["key"] != stage:
        response = await gateway.post(f"/api/v1/opportunities/{deal['id']}/advance", headers=headers)
        if response.status_code == 409 and "missing_documents" in response.json():
            for types in response.json()["missing_documents"]:
                uploaded = await gateway.post(
                    "/api/v1/documents",
                    headers=headers,
                    params={"owner_type": "deal", "owner_id": deal["id"], "document_type": types[0]},
                    files={"file": (f"{types[0]}.pdf", pdf(types[0].encode()), "application/pdf")},
                )
                assert uploaded.status_code == 201, uploaded.text

            async def counted(deal_id=deal["id"]):
                checklist = await gateway.get(f"/api/v1/opportunities/{deal_id}/checklist", headers=headers)
                return checklist.json()["complete"]

            await wait_until(counted, timeout=20, what="pipeline to count the stage's documents")
            continue
        assert response.status_code == 200, response.text
        deal = response.json()
    return deal


async def audit_types(gateway, admin_headers, aggregate_id: str) -> list[str]:
    response = await gateway.get(
        "/api/v1/audit/records",
        headers=admin_headers,
        params={"aggregate_id": aggregate_id, "order": "asc", "limit": 500},
    )
    assert response.status_code == 200, response.text
    return [r["event_type"] for r in response.json()["items"]]


# Opening -----------------------------------------------------------------------------------------
async def test_open_deal_is_owned_by_the_line_specialist_and_audited(gateway, admin_headers, lines, people, new_client):
    auto = lines["Auto"]
    assert auto["specialist_id"] == people["kostas"]["id"]
    client_id = await new_client()
    # No wait for the client event: opening waits briefly for a client created a moment ago.
    deal = await open_deal(gateway, admin_headers, client_id=client_id, line_id=auto["id"])
    assert deal["owner_id"] == people["kostas"]["id"]
    assert deal["department_id"] == auto["department_id"]
    assert deal["stage"]["key"] == "first_contact" and deal["status"] == "open" and deal["sla_state"] == "green"
    assert deal["client_name"] == "Acme Shipping SA" and deal["expected_premium"] == "15000.00"

    types = await wait_until(lambda: audit_types(gateway, admin_headers, deal["id"]), what="opened event in audit")
    assert types == ["pipeline.opportunity.opened"]
    record = (
        await gateway.get("/api/v1/audit/records", headers=admin_headers, params={"aggregate_id": deal["id"]})
    ).json()["items"][0]
    assert record["data"]["owner_id"] == people["kostas"]["id"]
    assert record["data"]["stage"]["key"] == "first_contact" and record["data"]["client_id"] == client_id


async def test_a_client_created_through_the_api_takes_a_deal_at_once(gateway, admin_headers, lines):
    """Read-your-writes: the call after creating a client may open a deal for it, with no sleep between. Pipeline
    knows clients from their events; opening a deal for one it does not know yet waits for it, bounded by
    CLIENT_WAIT_SECONDS, before answering 422."""
    for _ in range(3):
        client = await create_client(gateway, admin_headers)
        deal = await open_deal(gateway, admin_headers, client_id=client["id"], line_id=lines["Auto"]["id"])
        assert deal["client_id"] == client["id"] and deal["client_name"] == client["name"]


# The nine stages ---------------------------------------------------------------------------------
async def test_a_deal_walks_all_nine_stages_and_the_timeline_shows_every_move(
    gateway, admin_headers, lines, headers_of, new_client, people
):
    kostas = await headers_of("kostas")
    # A deal is opened for a client of the opener's department.
    client_id = await new_client(department_id=people["kostas"]["department_id"])
    deal = await open_deal(gateway, kostas, client_id=client_id, line_id=lines["Auto"]["id"])
    deal = await advance_to(gateway, kostas, deal, "client_decision")
    accepted = await gateway.post(f"/api/v1/opportunities/{deal['id']}/accept", headers=kostas, json=TERMS)
    assert accepted.status_code == 200, accepted.text
    deal = accepted.json()
    assert deal["stage"]["key"] == "policy_issuance" and deal["terms"]["premium"] == "1200.50"
    # Policy Issuance is worked by another department: the specialist still gets the answer of their move,
    # and an Admin completes it.
    completed = await gateway.post(f"/api/v1/opportunities/{deal['id']}/complete", headers=admin_headers)
    assert completed.status_code == 200, completed.text
    deal = completed.json()
    assert deal["stage"]["key"] == "completion" and deal["status"] == "won" and deal["closed_at"]
    assert deal["sla_state"] is None

    timeline = (await gateway.get(f"/api/v1/opportunities/{deal['id']}/timeline", headers=admin_headers)).json()
    entries = timeline["entries"]
    assert [e["kind"] for e in entries] == ["opened"] + ["forward"] * 8
    assert [e["to_stage"] for e in entries] == list(STAGE_KEYS)
    assert [e["from_stage"] for e in entries] == [None, *STAGE_KEYS[:-1]]
    assert entries[1]["from_stage_name"] == "First Contact" and entries[-1]["to_stage_name"] == "Completion"
    assert all(e["seconds_in_stage"] >= 0 for e in entries[1:]) and entries[0]["seconds_in_stage"] is None
    assert entries[-1]["status_after"] == "won" and entries[-1]["actor"].startswith("user:")

    types = await wait_until(
        lambda: _types_when(gateway, admin_headers, deal["id"], 10), what="all events of the walk in audit"
    )
    assert types == (
        ["pipeline.opportunity.opened"]
        + ["pipeline.opportunity.stage_advanced"] * 7
        + ["pipeline.opportunity.accepted", "pipeline.opportunity.stage_advanced"]
    )

    # A closed deal refuses every move.
    for action, body in (
        ("advance", None),
        ("move-back", {"reason": "oops"}),
        ("complete", None),
        ("accept", TERMS),
        ("decline", {"reason": "changed mind"}),
    ):
        assert_problem(
            await gateway.post(f"/api/v1/opportunities/{deal['id']}/{action}", headers=admin_headers, json=body), 409
        )


async def _types_when(gateway, admin_headers, aggregate_id: str, count: int):
    types = await audit_types(gateway, admin_headers, aggregate_id)
    return types if len(types) >= count else None


async def test_decline_closes_the_deal_as_lost_and_archives_it(gateway, admin_headers, lines, new_client):
    deal = await open_deal(gateway, admin_headers, client_id=await new_client(), line_id=lines["Property"]["id"])
    deal = await advance_to(gateway, admin_headers, deal, "client_decision")
    assert_problem(
        await gateway.post(
            f"/api/v1/opportunities/{deal['id']}/decline", headers=admin_headers, json={"reason": "   "}
        ),
        422,
        "body.reason",
    )
    declined = await gateway.post(
        f"/api/v1/opportunities/{deal['id']}/decline", headers=admin_headers, json={"reason": "premium too high"}
    )
    assert declined.status_code == 200, declined.text
    body = declined.json()
    assert (body["status"], body["archived"], body["decline_reason"]) == ("lost", True, "premium too high")
    assert body["stage"]["key"] == "client_decision"
    # Decide twice: refused.
    assert_problem(
        await gateway.post(
            f"/api/v1/opportunities/{deal['id']}/decline", headers=admin_headers, json={"reason": "again"}
        ),
        409,
    )
    assert_problem(
        await gateway.post(f"/api/v1/opportunities/{deal['id']}/accept", headers=admin_headers, json=TERMS), 409
    )
    timeline = (await gateway.get(f"/api/v1/opportunities/{deal['id']}/timeline", headers=admin_headers)).json()
    last = timeline["entries"][-1]
    assert (last["kind"], last["from_stage"], last["to_stage"], last["reason"]) == (
        "declined",
        "client_decision",
        None,
        "premium too high",
    )
    board = (
        await gateway.get("/api/v1/pipeline/board", headers=admin_headers, params={"line_id": lines["Property"]["id"]})
    ).json()
    assert all(d["id"] != deal["id"] for column in board["columns"] for d in column["deals"])
    types = await wait_until(lambda: _types_when(gateway, admin_headers, deal["id"], 8), what="declined event")
    assert types[-1] == "pipeline.opportunity.declined"


async def test_move_back_needs_a_reason_and_moves_one_stage(gateway, admin_headers, lines, new_client):
    deal = await open_deal(gateway, admin_headers, client_id=await new_client(), line_id=lines["Life"]["id"])
    deal = await advance_to(gateway, admin_headers, deal, "material_gathering")
    url = f"/api/v1/opportunities/{deal['id']}/move-back"
    assert_problem(await gateway.post(url, headers=admin_headers, json={}), 422, "body.reason")
    assert_problem(await gateway.post(url, headers=admin_headers, json={"reason": ""}), 422, "body.reason")
    back = await gateway.post(url, headers=admin_headers, json={"reason": "documents missing"})
    assert back.status_code == 200, back.text
    assert back.json()["stage"]["key"] == "needs_analysis"
    entry = (await gateway.get(f"/api/v1/opportunities/{deal['id']}/timeline", headers=admin_headers)).json()[
        "entries"
    ][-1]
    assert (entry["kind"], entry["from_stage"], entry["to_stage"], entry["reason"]) == (
        "back",
        "material_gathering",
        "needs_analysis",
        "documents missing",
    )


async def test_an_accepted_deal_names_its_contract_at_once_and_the_contract_comes_under_that_id(
    gateway, admin_headers, lines, new_client
):
    client_id = await new_client()
    deal = await open_deal(gateway, admin_headers, client_id=client_id, line_id=lines["Marine"]["id"])
    deal = await advance_to(gateway, admin_headers, deal, "client_decision")
    accepted = await gateway.post(f"/api/v1/opportunities/{deal['id']}/accept", headers=admin_headers, json=TERMS)
    assert accepted.status_code == 200, accepted.text
    contract_id = accepted.json()["contract_id"]
    assert contract_id is not None  # in the accept's own answer, before the contracts service has heard of it
    read = (await gateway.get(f"/api/v1/opportunities/{deal['id']}", headers=admin_headers)).json()
    assert read["contract_id"] == contract_id

    async def contract():
        listed = await gateway.get("/api/v1/contracts", params={"opportunity_id": deal["id"]}, headers=admin_headers)
        return listed.json()["items"]

    [made] = await wait_until(contract, what="the deal's contract")
    assert made["id"] == contract_id and made["status"] == "pending_issuance"


# Completion by the contract event ----------------------------------------------------------------
async def test_contract_issued_completes_the_deal_exactly_once(
    stack, gateway, admin_headers, lines, new_client, publish_event
):
    client_id = await new_client()
    deal = await open_deal(gateway, admin_headers, client_id=client_id, line_id=lines["Marine"]["id"])
    deal = await advance_to(gateway, admin_headers, deal, "client_decision")
    deal = (await gateway.post(f"/api/v1/opportunities/{deal['id']}/accept", headers=admin_headers, json=TERMS)).json()
    assert deal["stage"]["key"] == "policy_issuance"
    contract_id = uuid.uuid4()
    issued = ContractIssued(
        contract_id=contract_id,
        client_id=uuid.UUID(client_id),
        opportunity_id=uuid.UUID(deal["id"]),
        line_id=uuid.UUID(deal["line_id"]),
        specialist_id=uuid.UUID(deal["owner_id"]),
        department_id=None,
        status="issued",
        premium="1200.50",
        currency="EUR",
        start_date=date(2027, 1, 1),
        end_date=date(2027, 12, 31),
        insurer="Aegean Mutual",
        policy_number="POL-1",
        issue_date=date(2026, 12, 1),
        changes={},
    )
    first = await publish_event(issued, subject=str(contract_id))
    await publish_event(issued, subject=str(contract_id), event_id=first.id)  # the same event redelivered
    second = await publish_event(issued, subject=str(contract_id))  # a second issuance event, same contract

    async def completed():
        body = (await gateway.get(f"/api/v1/opportunities/{deal['id']}", headers=admin_headers)).json()
        return body if body["status"] == "won" else None

    body = await wait_until(completed, what="the deal completed by the contract event")
    assert body["stage"]["key"] == "completion" and body["contract_id"] == str(contract_id)
    # Once both issuance events have been consumed (the redelivery is dropped by the inbox), there was
    # still one move to Completion only.
    conn = await asyncpg.connect(superuser_dsn(stack, "pipeline"))
    try:

        async def consumed():
            return (
                await conn.fetchval(
                    "SELECT count(*) FROM inbox WHERE event_id = ANY($1::text[])", [first.id, second.id]
                )
                == 2
            )

        await wait_until(consumed, what="both issuance events consumed")
    finally:
        await conn.close()
    entries = (await gateway.get(f"/api/v1/opportunities/{deal['id']}/timeline", headers=admin_headers)).json()[
        "entries"
    ]
    to_completion = [e for e in entries if e["to_stage"] == "completion"]
    assert len(to_completion) == 1 and to_completion[0]["actor"] == "system:pipeline"
    types = await wait_until(lambda: _types_when(gateway, admin_headers, deal["id"], 10), what="completion event")
    assert types.count("pipeline.opportunity.stage_advanced") == 8


# Bad moves and bad input -------------------------------------------------------------------------
async def test_bad_moves_and_bad_input_get_problem_json(gateway, admin_headers, lines, new_client):
    client_id = await new_client()
    auto = lines["Auto"]["id"]
    deal = await open_deal(gateway, admin_headers, client_id=client_id, line_id=auto)
    url = f"/api/v1/opportunities/{deal['id']}"
    # Wrong-stage actions.
    assert_problem(await gateway.post(f"{url}/accept", headers=admin_headers, json=TERMS), 409)
    assert_problem(await gateway.post(f"{url}/decline", headers=admin_headers, json={"reason": "x"}), 409)
    assert_problem(await gateway.post(f"{url}/complete", headers=admin_headers), 409)
    assert_problem(await gateway.post(f"{url}/move-back", headers=admin_headers, json={"reason": "x"}), 409)
    # Skip by advancing at Client Decision.
    deal = await advance_to(gateway, admin_headers, deal, "client_decision")
    assert_problem(await gateway.post(f"{url}/advance", headers=admin_headers), 409)
    # Accept without terms, with end before start, with a bad premium or currency.
    assert_problem(await gateway.post(f"{url}/accept", headers=admin_headers, json={}), 422, "body.premium")
    assert_problem(
        await gateway.post(f"{url}/accept", headers=admin_headers, json={**TERMS, "end_date": "2026-06-01"}),
        422,
        "body.end_date",
    )
    assert_problem(
        await gateway.post(f"{url}/accept", headers=admin_headers, json={**TERMS, "premium": "0"}), 422, "body.premium"
    )
    assert_problem(
        await gateway.post(f"{url}/accept", headers=admin_headers, json={**TERMS, "currency": "euro"}),
        422,
        "body.currency",
    )
    # Advancing from a stage the deal is no longer in.
    assert_problem(
        await gateway.post(f"{url}/advance", headers=admin_headers, json={"from_stage": "first_contact"}),
        409,
        "body.from_stage",
    )
    # Unknown line, unknown client, malformed bodies.
    bad = {"client_id": client_id, "line_id": str(uuid.uuid4()), "title": "x"}
    assert_problem(await gateway.post("/api/v1/opportunities", headers=admin_headers, json=bad), 422, "body.line_id")
    bad = {"client_id": str(uuid.uuid4()), "line_id": auto, "title": "x"}
    assert_problem(await gateway.post("/api/v1/opportunities", headers=admin_headers, json=bad), 422, "body.client_id")
    assert_problem(
        await gateway.post(
            "/api/v1/opportunities", headers=admin_headers, json={"client_id": "nope", "line_id": auto, "title": ""}
        ),
        422,
        "body.client_id",
    )
    assert_problem(
        await gateway.post(
            "/api/v1/opportunities",
            headers=admin_headers,
            json={"client_id": client_id, "line_id": auto, "title": "x", "expected_premium": "100"},
        ),
        422,
        "body.currency",
    )
    assert_problem(await gateway.get(f"/api/v1/opportunities/{uuid.uuid4()}", headers=admin_headers), 404)
    assert_problem(await gateway.post(f"/api/v1/opportunities/{uuid.uuid4()}/advance", headers=admin_headers), 404)
    assert_problem(
        await gateway.get("/api/v1/opportunities", headers=admin_headers, params={"sort": "password"}),
        422,
        "query.sort",
    )
    assert_problem(
        await gateway.get("/api/v1/opportunities", headers=admin_headers, params={"sla_state": "blue"}),
        422,
        "query.sla_state",
    )


async def test_a_line_without_a_specialist_cannot_take_deals(gateway, admin_headers, new_client):
    response = await gateway.post(
        "/api/v1/lines", headers=admin_headers, json={"name": f"Cyber {uuid.uuid4().hex[:6]}"}
    )
    assert response.status_code == 201, response.text
    line = response.json()
    body = assert_problem(
        await gateway.post(
            "/api/v1/opportunities",
            headers=admin_headers,
            json={"client_id": await new_client(), "line_id": line["id"], "title": "x"},
        ),
        409,
    )
    assert "specialist" in body["detail"]


# Concurrency -------------------------------------------------------------------------------------
async def test_two_simultaneous_advances_of_one_deal_one_wins(gateway, admin_headers, lines, new_client):
    for _ in range(3):
        deal = await open_deal(gateway, admin_headers, client_id=await new_client(), line_id=lines["Health"]["id"])
        url = f"/api/v1/opportunities/{deal['id']}/advance"
        responses = await asyncio.gather(
            *(gateway.post(url, headers=admin_headers, json={"from_stage": "first_contact"}) for _ in range(2))
        )
        assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
        assert_problem(next(r for r in responses if r.status_code == 409), 409, "body.from_stage")
        entries = (await gateway.get(f"/api/v1/opportunities/{deal['id']}/timeline", headers=admin_headers)).json()[
            "entries"
        ]
        assert [e["to_stage"] for e in entries] == ["first_contact", "needs_analysis"]


async def test_many_simultaneous_advances_are_applied_one_after_another(gateway, admin_headers, lines, new_client):
    deal = await open_deal(gateway, admin_headers, client_id=await new_client(), line_id=lines["Health"]["id"])
    url = f"/api/v1/opportunities/{deal['id']}/advance"
    responses = await asyncio.gather(*(gateway.post(url, headers=admin_headers) for _ in range(8)))
    # Six forward moves reach Client Decision; the other two are refused there. Never a skipped stage.
    assert sorted(r.status_code for r in responses) == [200] * 6 + [409] * 2
    entries = (await gateway.get(f"/api/v1/opportunities/{deal['id']}/timeline", headers=admin_headers)).json()[
        "entries"
    ]
    assert [e["to_stage"] for e in entries] == list(STAGE_KEYS[:7])


# Access ------------------------------------------------------------------------------------------
async def test_access_follows_department_stage_and_ownership(
    gateway, admin_headers, lines, people, headers_of, new_client
):
    deal = await open_deal(gateway, admin_headers, client_id=await new_client(), line_id=lines["Liability"]["id"])
    url = f"/api/v1/opportunities/{deal['id']}"
    giorgos, sofia = await headers_of("giorgos"), await headers_of("sofia")
    nikos, maria = await headers_of("nikos.manager"), await headers_of("maria.manager")
    # Technical staff do not see a Sales deal at a Sales stage; Sales staff do.
    assert_problem(await gateway.get(url, headers=giorgos), 404)
    assert_problem(await gateway.post(f"{url}/advance", headers=giorgos), 404)
    assert_problem(await gateway.get(f"{url}/timeline", headers=nikos), 404)
    assert (await gateway.get(url, headers=sofia)).status_code == 200
    listed = (await gateway.get("/api/v1/opportunities", headers=giorgos, params={"limit": 200})).json()["items"]
    assert deal["id"] not in {d["id"] for d in listed}
    # Once the deal reaches a stage the Technical department works, Technical sees it.
    await advance_to(gateway, sofia, deal, "technical_assignment")
    assert (await gateway.get(url, headers=giorgos)).status_code == 200
    assert (await gateway.get(url, headers=nikos)).status_code == 200
    # Reassigning is for Managers and Admins.
    assert_problem(await gateway.patch(url, headers=giorgos, json={"owner_id": people["giorgos"]["id"]}), 403)
    assert_problem(await gateway.patch(url, headers=maria, json={"owner_id": str(uuid.uuid4())}), 422, "body.owner_id")
    moved = await gateway.patch(url, headers=maria, json={"owner_id": people["kostas"]["id"], "title": "New title"})
    assert moved.status_code == 200, moved.text
    assert moved.json()["owner_id"] == people["kostas"]["id"] and moved.json()["title"] == "New title"
    # Configuration is the Admin's.
    assert_problem(await gateway.patch("/api/v1/stages/first_contact", headers=maria, json={"sla_hours": 3}), 403)
    assert_problem(await gateway.post("/api/v1/lines", headers=sofia, json={"name": "Pets"}), 403)
    assert_problem(
        await gateway.patch(
            f"/api/v1/lines/{lines['Auto']['id']}", headers=maria, json={"specialist_id": people["sofia"]["id"]}
        ),
        403,
    )
    records = await wait_until(lambda: _updated_record(gateway, admin_headers, deal["id"]), what="updated event")
    assert records["changes"]["owner_id"]["after"] == people["kostas"]["id"]


async def _updated_record(gateway, admin_headers, aggregate_id):
    response = await gateway.get(
        "/api/v1/audit/records",
        headers=admin_headers,
        params={"aggregate_id": aggregate_id, "event_type": "pipeline.opportunity.updated"},
    )
    items = response.json()["items"]
    return items[0]["data"] if items else None


# Configuration -----------------------------------------------------------------------------------
async def test_lines_and_stages_are_edited_by_admin_and_published(gateway, admin_headers, people):
    began = datetime.now(UTC).replace(microsecond=0).isoformat()
    name = f"Pets {uuid.uuid4().hex[:6]}"
    assert_problem(
        await gateway.post(
            "/api/v1/lines", headers=admin_headers, json={"name": name, "specialist_id": str(uuid.uuid4())}
        ),
        422,
        "body.specialist_id",
    )
    created = await gateway.post(
        "/api/v1/lines", headers=admin_headers, json={"name": name, "specialist_id": people["sofia"]["id"]}
    )
    assert created.status_code == 201, created.text
    line = created.json()
    assert_problem(await gateway.post("/api/v1/lines", headers=admin_headers, json={"name": name}), 409)
    assert_problem(
        await gateway.patch(
            f"/api/v1/lines/{line['id']}", headers=admin_headers, json={"department_id": str(uuid.uuid4())}
        ),
        422,
        "body.department_id",
    )
    updated = await gateway.patch(
        f"/api/v1/lines/{line['id']}", headers=admin_headers, json={"specialist_id": people["kostas"]["id"]}
    )
    assert updated.status_code == 200 and updated.json()["specialist_id"] == people["kostas"]["id"]

    async def line_events():
        types = await audit_types(gateway, admin_headers, line["id"])
        return types if len(types) == 2 else None

    assert await wait_until(line_events, what="line events") == [
        "pipeline.config.line_created",
        "pipeline.config.line_updated",
    ]
    record = (
        await gateway.get(
            "/api/v1/audit/records",
            headers=admin_headers,
            params={"aggregate_id": line["id"], "event_type": "pipeline.config.line_updated"},
        )
    ).json()["items"][0]
    assert record["changes"] == [
        {"field": "specialist_id", "before": people["sofia"]["id"], "after": people["kostas"]["id"]}
    ]

    # Stages: SLA target and position; each change an event; put them back afterwards.
    listed = (await gateway.get("/api/v1/stages", headers=admin_headers)).json()
    assert (listed["total"], listed["limit"], listed["offset"]) == (len(STAGE_KEYS), 50, 0)  # a page, like every list
    stages = listed["items"]
    assert [s["key"] for s in stages] == list(STAGE_KEYS)
    second = (await gateway.get("/api/v1/stages", headers=admin_headers, params={"limit": 4, "offset": 4})).json()
    assert [s["key"] for s in second["items"]] == list(STAGE_KEYS)[4:8] and second["total"] == len(STAGE_KEYS)
    assert_problem(
        await gateway.get("/api/v1/stages", headers=admin_headers, params={"sort": "sla"}), 422, "query.sort"
    )
    lines_page = (await gateway.get("/api/v1/lines", headers=admin_headers, params={"limit": 2})).json()
    assert len(lines_page["items"]) == 2 and lines_page["total"] >= 7 and lines_page["limit"] == 2
    names = [x["name"] for x in await all_items(gateway, "/api/v1/lines", admin_headers)]
    assert names == sorted(names) and len(names) == lines_page["total"]
    original = next(s for s in stages if s["key"] == "quote_preparation")
    try:
        changed = await gateway.patch(
            "/api/v1/stages/quote_preparation", headers=admin_headers, json={"sla_hours": 12.5, "position": 3}
        )
        assert changed.status_code == 200, changed.text
        order = [s["key"] for s in await all_items(gateway, "/api/v1/stages", admin_headers)]
        assert order[:5] == [
            "first_contact",
            "needs_analysis",
            "quote_preparation",
            "material_gathering",
            "technical_assignment",
        ]
        assert_problem(
            await gateway.patch("/api/v1/stages/client_decision", headers=admin_headers, json={"position": 2}),
            422,
            "body.position",
        )
        assert_problem(
            await gateway.patch("/api/v1/stages/first_contact", headers=admin_headers, json={"sla_hours": -1}),
            422,
            "body.sla_hours",
        )
        assert_problem(await gateway.patch("/api/v1/stages/nope", headers=admin_headers, json={"name": "x"}), 404)
    finally:
        restored = await gateway.patch(
            "/api/v1/stages/quote_preparation",
            headers=admin_headers,
            json={"sla_hours": original["sla_hours"], "position": original["position"]},
        )
        assert restored.status_code == 200
    order = [s["key"] for s in await all_items(gateway, "/api/v1/stages", admin_headers)]
    assert order == list(STAGE_KEYS)

    async def stage_events():
        response = await gateway.get(
            "/api/v1/audit/records", headers=admin_headers, params={"aggregate_id": "quote_preparation", "since": began}
        )
        items = response.json()["items"]
        return items if len(items) == 2 else None

    latest, before = await wait_until(stage_events, what="stage_updated events")
    assert {c["field"] for c in before["changes"]} == {"sla_hours", "position"}
    assert {"field": "position", "before": 3, "after": original["position"]} in latest["changes"]


# Reads -------------------------------------------------------------------------------------------
async def test_list_filters_sla_state_sorting_and_board(gateway, admin_headers, people, new_client, move_clock):
    line = (
        await gateway.post(
            "/api/v1/lines",
            headers=admin_headers,
            json={"name": f"Reads {uuid.uuid4().hex[:6]}", "specialist_id": people["kostas"]["id"]},
        )
    ).json()
    deals = [
        await open_deal(gateway, admin_headers, client_id=await new_client(), line_id=line["id"], title=f"Deal {i}")
        for i in range(3)
    ]
    await advance_to(gateway, admin_headers, deals[2], "needs_analysis")
    query = {"line_id": line["id"]}
    listed = (
        await gateway.get("/api/v1/opportunities", headers=admin_headers, params={**query, "sort": "title", "limit": 2})
    ).json()
    assert listed["total"] == 3 and [d["title"] for d in listed["items"]] == ["Deal 0", "Deal 1"]
    page2 = (
        await gateway.get(
            "/api/v1/opportunities", headers=admin_headers, params={**query, "sort": "title", "limit": 2, "offset": 2}
        )
    ).json()
    assert [d["title"] for d in page2["items"]] == ["Deal 2"]
    at_first = (
        await gateway.get(
            "/api/v1/opportunities", headers=admin_headers, params={**query, "stage": "first_contact", "status": "open"}
        )
    ).json()
    assert at_first["total"] == 2
    assert (
        await gateway.get(
            "/api/v1/opportunities", headers=admin_headers, params={**query, "owner_id": people["sofia"]["id"]}
        )
    ).json()["total"] == 0

    # First Contact's target is 8 h and Needs Analysis' 16 h: 7 h later the first two are yellow, the third
    # green; 9 h later the first two are red.
    async def sla(state):
        return (
            await gateway.get("/api/v1/opportunities", headers=admin_headers, params={**query, "sla_state": state})
        ).json()

    assert (await sla("green"))["total"] == 3
    await move_clock(timedelta(hours=7), services=["pipeline"])
    assert (await sla("yellow"))["total"] == 2 and (await sla("green"))["items"][0]["title"] == "Deal 2"
    await move_clock(timedelta(hours=2), services=["pipeline"])
    red = await sla("red")
    assert red["total"] == 2 and all(d["sla_state"] == "red" for d in red["items"])

    board = (await gateway.get("/api/v1/pipeline/board", headers=admin_headers, params=query)).json()
    assert [c["stage"]["key"] for c in board["columns"]] == list(STAGE_KEYS)
    counts = {c["stage"]["key"]: c["count"] for c in board["columns"]}
    assert counts["first_contact"] == 2 and counts["needs_analysis"] == 1 and board["total"] == 3
    assert {d["title"] for d in board["columns"][0]["deals"]} == {"Deal 0", "Deal 1"}


# Analytics ---------------------------------------------------------------------------------------
def percentile_cont(values: list[float], fraction: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the two nearest ranks."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def test_analytics_match_a_computation_from_the_timelines(gateway, admin_headers, people, new_client, move_clock):
    line = (
        await gateway.post(
            "/api/v1/lines",
            headers=admin_headers,
            json={"name": f"Analytics {uuid.uuid4().hex[:6]}", "specialist_id": people["sofia"]["id"]},
        )
    ).json()
    deals = [
        await open_deal(gateway, admin_headers, client_id=await new_client(), line_id=line["id"]) for _ in range(5)
    ]
    # Different times in each stage: the pipeline clock moves between moves.
    for i, deal in enumerate(deals):
        await move_clock(timedelta(minutes=10 * (i + 1)), services=["pipeline"])
        deal = await advance_to(gateway, admin_headers, deal, "needs_analysis")
        await move_clock(timedelta(minutes=7 * (i + 1)), services=["pipeline"])
        if i == 4:
            continue  # stays at Needs Analysis
        if i == 3:
            back = await gateway.post(
                f"/api/v1/opportunities/{deal['id']}/move-back",
                headers=admin_headers,
                json={"reason": "more questions"},
            )
            assert back.status_code == 200
            continue  # back at First Contact
        deal = await advance_to(gateway, admin_headers, deal, "client_decision")
        if i == 2:
            await gateway.post(
                f"/api/v1/opportunities/{deal['id']}/decline", headers=admin_headers, json={"reason": "no"}
            )
        else:
            await gateway.post(f"/api/v1/opportunities/{deal['id']}/accept", headers=admin_headers, json=TERMS)
            await gateway.post(f"/api/v1/opportunities/{deal['id']}/complete", headers=admin_headers)

    timelines = [
        (await gateway.get(f"/api/v1/opportunities/{d['id']}/timeline", headers=admin_headers)).json()["entries"]
        for d in deals
    ]
    result = await gateway.get("/api/v1/pipeline/analytics", headers=admin_headers, params={"line_id": line["id"]})
    assert result.status_code == 200, result.text
    analytics = result.json()

    assert analytics["deals"] == {"open": 2, "won": 2, "lost": 1}
    seconds: dict[str, list[float]] = {}
    for entries in timelines:
        for e in entries:
            if e["from_stage"] is not None:
                seconds.setdefault(e["from_stage"], []).append(e["seconds_in_stage"])
    by_stage = {s["stage"]: s for s in analytics["time_in_stage"]}
    for stage, values in seconds.items():
        assert by_stage[stage]["moves"] == len(values)
        assert by_stage[stage]["median_seconds"] == pytest.approx(percentile_cont(values, 0.5), abs=1e-3)
        assert by_stage[stage]["p90_seconds"] == pytest.approx(percentile_cont(values, 0.9), abs=1e-3)
    # Each deal left First Contact once; Needs Analysis was left three times forward and once back.
    assert by_stage["first_contact"]["moves"] == 5 and by_stage["needs_analysis"]["moves"] == 4

    conversion = {c["from_stage"]: c for c in analytics["conversion"]}
    for here, nxt in itertools.pairwise(STAGE_KEYS):
        entered = {i for i, t in enumerate(timelines) for e in t if e["to_stage"] == here and e["kind"] != "back"}
        moved = {
            i
            for i, t in enumerate(timelines)
            for e in t
            if e["kind"] == "forward" and e["from_stage"] == here and e["to_stage"] == nxt
        }
        assert (conversion[here]["entered"], conversion[here]["advanced"]) == (len(entered), len(moved)), here
    assert conversion["client_decision"]["rate"] == pytest.approx(2 / 3)
    assert conversion["first_contact"]["rate"] == 1.0

    [by_line] = analytics["win_rate_by_line"]
    assert (by_line["won"], by_line["lost"], by_line["open"]) == (2, 1, 2)
    assert by_line["rate"] == pytest.approx(2 / 3)
    [by_specialist] = analytics["win_rate_by_specialist"]
    assert by_specialist["id"] == people["sofia"]["id"] and by_specialist["rate"] == pytest.approx(2 / 3)
