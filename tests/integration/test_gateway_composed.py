"""The gateway's composed reads on the running platform: Client 360 and the role-aware dashboard, each
service's scope applied to its part, and partial answers in time when a service is stopped or slow."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import asyncpg
import httpx
import pytest

from services.gateway.settings import GatewaySettings
from tests.conftest import assert_problem, superuser_dsn, wait_until
from tests.integration.clients_contracts_helpers import (
    SALES_EMPLOYEE,
    SALES_MANAGER,
    TECH_EMPLOYEE,
    create_client,
    create_contract,
    headers_for,
    line_named,
    me,
)
from tests.integration.tasks_support import get_task, make_team, run_tasks_job, tasks_now
from tests.integration.test_crash_recovery import _wait_ready as wait_ready

DEADLINE = GatewaySettings().compose_deadline_seconds
PART_TIMEOUT = GatewaySettings().compose_part_timeout_seconds
SLACK = 1.5  # HTTP and scheduling on a busy machine, on top of the gateway's own deadline
PARTS_360 = {"client", "ancestors", "children", "subtree", "contracts", "opportunities", "open_tasks", "history"}


async def _open_deal(gateway, headers, client_id: str, line: dict, title: str = "Hull cover") -> dict:
    opened = await gateway.post(
        "/api/v1/opportunities",
        headers=headers,
        json={
            "client_id": client_id,
            "line_id": line["id"],
            "title": title,
            "expected_premium": "9000.00",
            "currency": "EUR",
        },
    )
    assert opened.status_code == 201, opened.text
    return opened.json()


async def _task(
    gateway,
    headers,
    *,
    title: str,
    assignee_id: str | None = None,
    due_in: timedelta | None = None,
    base=None,
    **fields,
) -> dict:
    body = {"title": title, **fields}
    if assignee_id:
        body["assignee_id"] = assignee_id
    if due_in is not None:
        body["due_at"] = (base + due_in).isoformat()
    created = await gateway.post("/api/v1/tasks", json=body, headers=headers)
    assert created.status_code == 201, created.text
    return created.json()


async def _timed_get(gateway, path: str, headers: dict) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await gateway.get(path, headers=headers)
    return response, time.monotonic() - started


def _missing(body: dict) -> dict[str, tuple[str, int | None]]:
    return {m["part"]: (m["reason"], m["status"]) for m in body["missing"]}


@pytest.fixture
async def family(gateway):
    """A Sales client with a parent and a subsidiary, a contract, a deal and an open task (as the Sales Manager)."""
    manager = await headers_for(gateway, SALES_MANAGER)
    parent = await create_client(gateway, manager, name=f"Holding {uuid.uuid4().hex[:6]} S.A.")
    client = await create_client(gateway, manager, name=f"Shipping {uuid.uuid4().hex[:6]} S.A.", parent_id=parent["id"])
    child = await create_client(gateway, manager, name=f"Crew {uuid.uuid4().hex[:6]} Ltd", parent_id=client["id"])
    contract = await create_contract(gateway, manager, client["id"])
    deal = await _open_deal(gateway, manager, client["id"], await line_named(gateway, manager, "Marine"))
    task = await _task(gateway, manager, title="Collect the fleet list", client_id=client["id"])
    return {
        "manager": manager,
        "parent": parent,
        "client": client,
        "child": child,
        "contract": contract,
        "deal": deal,
        "task": task,
    }


async def test_client_360_gathers_the_client_its_tree_contracts_deals_tasks_and_latest_history(gateway, family):
    manager, client = family["manager"], family["client"]

    async def whole():
        body = (await gateway.get(f"/api/v1/clients/{client['id']}/360", headers=manager)).json()
        kinds = {r["aggregate_type"] for r in (body.get("history") or {}).get("items", [])}
        wanted = {"clients.client", "contracts.contract", "pipeline.opportunity", "tasks.task"}
        return body if wanted <= kinds and body["open_tasks"] and body["open_tasks"]["total"] >= 1 else None

    body = await wait_until(whole, timeout=30, what="the 360 with every part and the history in audit")
    assert body["complete"] is True and body["missing"] == [], body["missing"]
    assert body["client_id"] == client["id"] and body["client"]["name"] == client["name"]
    assert [a["id"] for a in body["hierarchy"]["ancestors"]] == [family["parent"]["id"]]
    assert [c["id"] for c in body["hierarchy"]["children"]["items"]] == [family["child"]["id"]]
    assert body["hierarchy"]["subtree"]["clients"] == 2
    assert [c["id"] for c in body["contracts"]["items"]] == [family["contract"]["id"]]
    assert [d["id"] for d in body["opportunities"]["items"]] == [family["deal"]["id"]]
    assert family["task"]["id"] in [t["id"] for t in body["open_tasks"]["items"]]
    assert all(
        t["status"] in ("open", "in_progress", "waiting") and t["client_id"] == client["id"]
        for t in body["open_tasks"]["items"]
    )
    history = body["history"]["items"]
    assert history and all(r["client_id"] == client["id"] for r in history)
    # Newest first in the trail's own order (audit lists by seq: events of different services can carry times
    # a few milliseconds out of that order).
    positions = [r["seq"] for r in history]
    assert positions == sorted(positions, reverse=True), "newest first"

    # A closed task is no longer among the open ones.
    done = await gateway.patch(f"/api/v1/tasks/{family['task']['id']}", json={"status": "done"}, headers=manager)
    assert done.status_code == 200, done.text
    body = (await gateway.get(f"/api/v1/clients/{client['id']}/360", headers=manager)).json()
    assert family["task"]["id"] not in [t["id"] for t in body["open_tasks"]["items"]]


async def test_client_360_is_scoped_by_each_service(gateway, family, admin_headers):
    client_id = family["client"]["id"]
    # Another department's Employee: the clients service says 404, so does the 360.
    outsider = await headers_for(gateway, TECH_EMPLOYEE)
    assert_problem(await gateway.get(f"/api/v1/clients/{client_id}/360", headers=outsider), 404)
    # An unknown client is 404, a malformed id 422 naming the parameter; no token, 401.
    assert_problem(await gateway.get(f"/api/v1/clients/{uuid.uuid4()}/360", headers=admin_headers), 404)
    assert_problem(await gateway.get("/api/v1/clients/not-an-id/360", headers=admin_headers), 422, "path.client_id")
    assert_problem(await gateway.get(f"/api/v1/clients/{client_id}/360"), 401)
    # An Employee of the client's department sees it, but audit history is for Managers and Admins.
    employee = await headers_for(gateway, SALES_EMPLOYEE)
    body = (await gateway.get(f"/api/v1/clients/{client_id}/360", headers=employee)).json()
    assert body["client"]["id"] == client_id and body["contracts"]["total"] == 1
    assert body["history"] is None and _missing(body) == {"history": ("forbidden", 403)}
    assert body["complete"] is False
    # The Admin sees everything.
    body = (await gateway.get(f"/api/v1/clients/{client_id}/360", headers=admin_headers)).json()
    assert body["client"]["id"] == client_id and "history" not in _missing(body)


async def test_a_stopped_service_is_reported_missing_and_the_rest_arrives_in_time(stack, supervisor, gateway, family):
    manager, client_id = family["manager"], family["client"]["id"]
    employee = await headers_for(gateway, SALES_EMPLOYEE)
    supervisor.stop("tasks")
    try:
        response, took = await _timed_get(gateway, f"/api/v1/clients/{client_id}/360", manager)
        assert response.status_code == 200, response.text
        body = response.json()
        assert took < DEADLINE + SLACK
        assert _missing(body) == {"open_tasks": ("unavailable", None)}
        assert body["open_tasks"] is None and body["complete"] is False
        assert body["client"]["id"] == client_id and body["contracts"]["total"] == 1
        assert body["opportunities"]["total"] == 1

        response, took = await _timed_get(gateway, "/api/v1/dashboard", employee)
        assert response.status_code == 200 and took < DEADLINE + SLACK
        body = response.json()
        assert _missing(body) == {"my_tasks": ("unavailable", None)} and body["my_deals"] is not None
    finally:
        supervisor.start("tasks")
        await wait_ready(stack, "tasks")


async def test_without_the_clients_service_the_360_is_refused_not_answered_in_part(stack, supervisor, gateway, family):
    # The clients service decides who sees the client: without it, another department's Employee must not get
    # the other parts (each scoped by its own service) as if the client were theirs to see.
    manager, client_id = family["manager"], family["client"]["id"]
    supervisor.stop("clients")
    try:
        response, took = await _timed_get(gateway, f"/api/v1/clients/{client_id}/360", manager)
        problem = assert_problem(response, 503)
        assert "clients service" in problem["detail"] and response.headers["retry-after"] == "2"
        assert took < DEADLINE + SLACK
    finally:
        supervisor.start("clients")
        await wait_ready(stack, "clients")
    body = (await gateway.get(f"/api/v1/clients/{client_id}/360", headers=manager)).json()
    assert body["client"]["id"] == client_id


async def test_a_slow_service_is_reported_missing_as_a_timeout_within_the_deadline(stack, gateway, family):
    manager, client_id = family["manager"], family["client"]["id"]
    employee = await headers_for(gateway, SALES_EMPLOYEE)
    # Slowness for real: the pipeline's queries wait on a lock the test holds on its deals table.
    lock = await asyncpg.connect(superuser_dsn(stack, "pipeline"))
    transaction = lock.transaction()
    await transaction.start()
    try:
        await lock.execute("LOCK TABLE opportunities IN ACCESS EXCLUSIVE MODE")
        response, took = await _timed_get(gateway, f"/api/v1/clients/{client_id}/360", manager)
        assert response.status_code == 200, response.text
        body = response.json()
        assert PART_TIMEOUT <= took < DEADLINE + SLACK, took
        assert _missing(body) == {"opportunities": ("timeout", None)}
        assert body["opportunities"] is None
        assert body["client"]["id"] == client_id and body["contracts"]["total"] == 1

        response, took = await _timed_get(gateway, "/api/v1/dashboard", employee)
        assert response.status_code == 200 and PART_TIMEOUT <= took < DEADLINE + SLACK
        assert _missing(response.json()) == {"my_deals": ("timeout", None)}
    finally:
        await transaction.rollback()
        await lock.close()
    body = (await gateway.get(f"/api/v1/clients/{client_id}/360", headers=manager)).json()
    assert body["opportunities"]["total"] == 1 and "opportunities" not in _missing(body)


async def test_dashboards_by_role(stack, gateway, admin_headers):
    team = await make_team(gateway, admin_headers, employees=2, label="QA Dashboard")
    ana, ben = team.employees
    manager_h, ana_h = await team.manager.headers(gateway), await ana.headers(gateway)
    now = await tasks_now(stack)

    # Ana: a task far from due, then one already overdue (at risk first), and a deal she owns.
    calm = await _task(
        gateway, manager_h, title="Annual review", assignee_id=ana.id, due_in=timedelta(days=30), base=now
    )
    overdue = await _task(
        gateway, manager_h, title="Send the quote", assignee_id=ana.id, due_in=-timedelta(hours=1), base=now
    )
    sales_manager = await headers_for(gateway, SALES_MANAGER)
    client = await create_client(gateway, sales_manager, name=f"Dash {uuid.uuid4().hex[:6]} S.A.")
    deal = await _open_deal(gateway, admin_headers, client["id"], await line_named(gateway, admin_headers, "Marine"))

    async def reassigned():
        r = await gateway.patch(f"/api/v1/opportunities/{deal['id']}", json={"owner_id": ana.id}, headers=admin_headers)
        return r.status_code == 200

    await wait_until(reassigned, timeout=30, what="the pipeline to know Ana and give her the deal")

    body = (await gateway.get("/api/v1/dashboard", headers=ana_h)).json()
    assert body["role"] == "Employee" and body["user"]["id"] == ana.id and body["complete"] is True
    assert [t["id"] for t in body["my_tasks"]["items"]] == [overdue["id"], calm["id"]]
    assert body["my_tasks"]["items"][0]["sla_state"] == "red"
    assert [d["id"] for d in body["my_deals"]["items"]] == [deal["id"]]
    assert "team" not in body and "health" not in body

    # Ben: three urgent tasks put him over the load threshold; one due in moments gets escalated.
    for n in range(3):
        await _task(gateway, manager_h, title=f"Urgent claim {n}", assignee_id=ben.id, priority="urgent")
    escalating = await _task(
        gateway,
        manager_h,
        title="Call the insurer",
        assignee_id=ben.id,
        due_in=timedelta(seconds=2),
        base=await tasks_now(stack),
    )
    own = await _task(gateway, manager_h, title="Approve the leave plan", assignee_id=team.manager.id)

    async def escalated():
        await run_tasks_job(stack, "sla_watch")
        return (await get_task(gateway, manager_h, escalating["id"]))["escalated_at"]

    await wait_until(escalated, timeout=30, interval=0.5, what="the overdue task to be escalated")

    body = (await gateway.get("/api/v1/dashboard", headers=manager_h)).json()
    assert body["role"] == "Manager" and body["complete"] is True, body["missing"]
    assert body["team"]["department_id"] == team.department_id
    assert {m["user_id"] for m in body["team"]["members"]} == {p.id for p in team.members}
    assert [m["user_id"] for m in body["overloaded"]] == [ben.id]
    assert [t["id"] for t in body["escalations"]["items"]] == [escalating["id"]]
    assert body["escalations"]["items"][0]["escalated_to"] == team.manager.id
    assert [t["id"] for t in body["my_tasks"]["items"]] == [own["id"]]
    assert body["my_deals"]["total"] == 0

    # Another department's manager sees none of it.
    sales = (await gateway.get("/api/v1/dashboard", headers=sales_manager)).json()
    assert (
        sales["role"] == "Manager"
        and sales["team"]["department_id"] == (await me(gateway, sales_manager))["department_id"]
    )
    assert escalating["id"] not in [t["id"] for t in sales["escalations"]["items"]]

    # The Admin: every service's health and the counts.
    body = (await gateway.get("/api/v1/dashboard", headers=admin_headers)).json()
    assert body["role"] == "Admin" and body["complete"] is True, body["missing"]
    assert body["health"]["status"] == "ok"
    assert {"identity", "clients", "pipeline", "tasks", "contracts", "audit", "notifications", "documents"} <= set(
        body["health"]["services"]
    )
    users = (await gateway.get("/api/v1/users", params={"limit": 1}, headers=admin_headers)).json()["total"]
    assert body["counts"]["users"] == users
    assert all(isinstance(v, int) and v >= 0 for v in body["counts"].values()), body["counts"]
    assert body["counts"]["escalated_tasks"] >= 1 and body["counts"]["active_contracts"] >= 0

    # Leave the team's load as it was found, so routing elsewhere is not skewed by these tickets.
    listed = (
        await gateway.get(
            "/api/v1/tasks",
            params={"department_id": team.department_id, "active": "true", "limit": 200},
            headers=manager_h,
        )
    ).json()["items"]
    for task in listed:
        await gateway.patch(f"/api/v1/tasks/{task['id']}", json={"status": "cancelled"}, headers=manager_h)


async def test_composed_reads_are_in_the_openapi_document_with_their_parts_schemas(gateway):
    doc = (await gateway.get("/openapi.json")).json()
    get_360 = doc["paths"]["/api/v1/clients/{client_id}/360"]["get"]
    assert {"200", "401", "404", "422"} <= set(get_360["responses"])
    ref = get_360["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    schema = doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert PARTS_360 - {"ancestors", "children", "subtree"} <= set(schema["properties"])
    client_field = schema["properties"]["client"]["anyOf"][0]
    assert client_field["$ref"] == "#/components/schemas/ClientOut"
    tasks_field = schema["properties"]["open_tasks"]["anyOf"][0]
    assert tasks_field["$ref"].rsplit("/", 1)[1] in doc["components"]["schemas"]
    dashboard = doc["paths"]["/api/v1/dashboard"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert dashboard["discriminator"]["propertyName"] == "role"
    assert "x-upstream-schema" not in str(doc)
