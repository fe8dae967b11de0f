"""Flows 1-3 end to end through the gateway, pipeline and tasks together: a deal opens and walks the
nine stages; after every move the old stage's task is done and the new one is open in the stage's
department, for an active member of it (the specialist at First Contact), due after the stage's SLA
in working hours, within 2 seconds. The decline path cancels the deal's open task."""

import time
import uuid
from datetime import datetime, timedelta

import asyncpg

from shared.workcalendar import Calendar
from tests.conftest import all_items, superuser_dsn, wait_until
from tests.integration.clients_contracts_helpers import SALES_MANAGER, create_client, headers_for, in_force_terms, tag


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def _setup(gateway, admin_headers):
    manager = await headers_for(gateway, SALES_MANAGER)
    client = await create_client(gateway, manager, name=f"Flow Two Logistics {tag()}")
    line = next(x for x in await all_items(gateway, "/api/v1/lines", admin_headers) if x["name"] == "Auto")
    stages = {s["key"]: s for s in await all_items(gateway, "/api/v1/stages", admin_headers)}
    calendar = Calendar.from_dict((await gateway.get("/api/v1/calendar", headers=admin_headers)).json())
    users = await all_items(gateway, "/api/v1/users", admin_headers)
    members: dict[str, set[str]] = {}
    for user in users:
        if user["active"] and user["department_id"]:
            members.setdefault(user["department_id"], set()).add(user["id"])
    # The tasks service learns who works where from identity's events; on a stack that has just started
    # it may still be reading them. Routing needs every stage department's members known.
    for department_id in {s["department_id"] for s in stages.values()}:

        async def known(department_id=department_id):
            r = await gateway.get("/api/v1/workload", headers=admin_headers, params={"department_id": department_id})
            expected = members.get(department_id, set())
            return r.status_code == 200 and {m["user_id"] for m in r.json()["members"]} >= expected

        await wait_until(known, timeout=30, what="the tasks service to know every department's members")
    opened = await gateway.post(
        "/api/v1/opportunities",
        headers=manager,
        json={"client_id": client["id"], "line_id": line["id"], "title": f"Fleet cover {tag()}"},
    )
    assert opened.status_code == 201, opened.text
    return manager, opened.json(), stages, calendar, members


async def _tasks_of(gateway, headers, deal_id) -> list[dict]:
    r = await gateway.get("/api/v1/tasks", headers=headers, params={"opportunity_id": deal_id, "limit": 50})
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def _routed(gateway, headers, deal, stage_key, previous_key, *, started: float) -> tuple[dict, float]:
    """Wait until the stage's task is open and the previous one is done; returns it and the delay."""

    async def check():
        tasks = await _tasks_of(gateway, headers, deal["id"])
        new = [t for t in tasks if t["stage_key"] == stage_key and t["status"] == "open"]
        old_open = [t for t in tasks if t["stage_key"] == previous_key and t["status"] not in ("done", "cancelled")]
        old_done = [t for t in tasks if t["stage_key"] == previous_key and t["status"] == "done"]
        if len(new) == 1 and not old_open and (previous_key is None or old_done):
            return new[0], time.monotonic() - started
        return None

    return await wait_until(check, timeout=10, interval=0.02, what=f"the {stage_key} task to be routed")


async def test_a_deal_walks_nine_stages_and_each_task_is_routed_within_two_seconds(stack, gateway, admin_headers):
    manager, deal, stages, calendar, members = await _setup(gateway, admin_headers)
    delays = []
    task, delay = await _routed(gateway, admin_headers, deal, "first_contact", None, started=time.monotonic())
    assert task["assignee_id"] == deal["owner_id"]  # the specialist
    delays.append(delay)

    previous = "first_contact"
    while True:
        started = time.monotonic()
        if previous == "client_decision":
            moved = await gateway.post(
                f"/api/v1/opportunities/{deal['id']}/accept", headers=manager, json=in_force_terms()
            )
        elif previous == "policy_issuance":
            moved = await gateway.post(f"/api/v1/opportunities/{deal['id']}/complete", headers=manager)
        else:
            moved = await gateway.post(
                f"/api/v1/opportunities/{deal['id']}/advance", headers=manager, json={"from_stage": previous}
            )
        assert moved.status_code == 200, moved.text
        deal = moved.json()
        current = deal["stage"]["key"]
        if current == "completion":
            break
        stage = stages[current]
        task, delay = await _routed(gateway, admin_headers, deal, current, previous, started=started)
        delays.append(delay)
        assert task["department_id"] == stage["department_id"], current
        assert task["assignee_id"] in members[stage["department_id"]], (current, task["assignment_reason"])
        assert task["assignment_reason"]
        assert task["title"] == f"{stage['name']}: {deal['title']}"  # pipeline's event carries the title
        timeline = (await gateway.get(f"/api/v1/opportunities/{deal['id']}/timeline", headers=manager)).json()
        moved_at = _time(timeline["entries"][-1]["moved_at"])
        expected_due = calendar.add_working_hours(moved_at, stage["sla_hours"])
        assert abs(_time(task["due_at"]) - expected_due) < timedelta(seconds=2), (current, task["due_at"], expected_due)
        previous = current

    assert deal["status"] == "won"

    async def last_task_done():
        tasks = await _tasks_of(gateway, admin_headers, deal["id"])
        return all(t["status"] == "done" for t in tasks) and len(tasks) == 8

    await wait_until(last_task_done, timeout=10, what="the Policy Issuance task to be done once the deal is won")
    # Routing's guard knows where the deal stands, at pipeline's version of it.
    tasks_db = await asyncpg.connect(superuser_dsn(stack, "tasks"))
    try:
        position = await tasks_db.fetchrow(
            "SELECT stage_key, status, version FROM deals WHERE opportunity_id = $1", uuid.UUID(deal["id"])
        )
    finally:
        await tasks_db.close()
    assert tuple(position) == ("completion", "won", deal["version"])
    assert max(delays) < 2.0, delays
    timeline = (await gateway.get(f"/api/v1/opportunities/{deal['id']}/timeline", headers=manager)).json()
    assert [e["to_stage"] for e in timeline["entries"]] == [
        "first_contact",
        "needs_analysis",
        "material_gathering",
        "technical_assignment",
        "quote_preparation",
        "proposal_sent",
        "client_decision",
        "policy_issuance",
        "completion",
    ]


async def test_declining_closes_the_deal_and_cancels_its_open_task(stack, gateway, admin_headers):
    manager, deal, _, _, _ = await _setup(gateway, admin_headers)
    while deal["stage"]["key"] != "client_decision":
        deal = (
            await gateway.post(
                f"/api/v1/opportunities/{deal['id']}/advance",
                headers=manager,
                json={"from_stage": deal["stage"]["key"]},
            )
        ).json()
    await _routed(gateway, admin_headers, deal, "client_decision", "proposal_sent", started=time.monotonic())
    declined = await gateway.post(
        f"/api/v1/opportunities/{deal['id']}/decline",
        headers=manager,
        json={"reason": "Chose a cheaper direct insurer"},
    )
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "lost"

    async def cancelled():
        tasks = await _tasks_of(gateway, admin_headers, deal["id"])
        decision = [t for t in tasks if t["stage_key"] == "client_decision"]
        return (
            decision
            and decision[0]["status"] == "cancelled"
            and not [t for t in tasks if t["status"] not in ("done", "cancelled")]
        )

    await wait_until(cancelled, timeout=5, what="the Client Decision task to be cancelled")
    again = await gateway.post(f"/api/v1/opportunities/{deal['id']}/advance", headers=manager, json={})
    assert again.status_code == 409
