"""The SLA and stale-work watches, with the tasks service's clock moved forward."""

from __future__ import annotations

import uuid
from datetime import timedelta

from shared.workcalendar import DEFAULT_CALENDAR
from tests.conftest import wait_until
from tests.integration.tasks_support import (
    Deal,
    audit_records,
    deal_tasks,
    get_task,
    make_team,
    move_tasks_clock_to,
    parse_time,
    run_tasks_job,
    stage,
)

MINUTE = timedelta(minutes=1)


async def test_yellow_then_red_then_exactly_one_escalation_to_the_manager(
    stack, gateway, admin_headers, publish_event, move_clock
):
    team = await make_team(gateway, admin_headers, employees=1, label="QA SLA")
    deal = Deal(owner_id=uuid.UUID(team.employees[0].id))
    await publish_event(
        deal.advanced(stage("needs_analysis", None, 8), stage("material_gathering", team.department_id, 8)),
        subject=str(deal.opportunity_id),
    )
    task = (
        await wait_until(
            lambda: deal_tasks(gateway, admin_headers, deal.opportunity_id), timeout=10, what="the routed task"
        )
    )[0]
    assert task["sla_state"] == "green" and task["sla_hours"] == 8
    due, at_risk = parse_time(task["due_at"]), parse_time(task["at_risk_at"])
    started = parse_time(task["sla_started_at"])
    # Yellow from 75 % of the window, counted in working hours.
    assert DEFAULT_CALENDAR.working_hours_between(started, at_risk) == 6
    assert at_risk == DEFAULT_CALENDAR.add_working_hours(started, 6)

    await move_tasks_clock_to(stack, move_clock, at_risk - MINUTE)
    await run_tasks_job(stack, "sla_watch")
    assert (await get_task(gateway, admin_headers, task["id"]))["sla_state"] == "green"

    await move_tasks_clock_to(stack, move_clock, at_risk + MINUTE)
    await run_tasks_job(stack, "sla_watch")
    assert (await get_task(gateway, admin_headers, task["id"]))["sla_state"] == "yellow"

    await move_tasks_clock_to(stack, move_clock, due + MINUTE)
    await run_tasks_job(stack, "sla_watch")
    red = await get_task(gateway, admin_headers, task["id"])
    assert red["sla_state"] == "red" and red["escalated_to"] == team.manager.id and red["escalated_at"]

    await run_tasks_job(stack, "sla_watch")  # again: nothing more
    await move_tasks_clock_to(stack, move_clock, due + 60 * MINUTE)
    await run_tasks_job(stack, "sla_watch")
    assert (await get_task(gateway, admin_headers, task["id"]))["escalated_at"] == red["escalated_at"]

    # A marker on the same task (same Kafka key, so it is recorded after anything published before it).
    manager_headers = await team.manager.headers(gateway)
    marker = await gateway.post(
        f"/api/v1/tasks/{task['id']}/comments", json={"body": "Looking into it."}, headers=manager_headers
    )
    assert marker.status_code == 201, marker.text
    await wait_until(
        lambda: audit_records(gateway, admin_headers, task["id"], "tasks.task.commented"),
        timeout=20,
        what="the marker comment in audit",
    )
    records = await audit_records(gateway, admin_headers, task["id"])
    escalations = [r for r in records if r["event_type"] == "tasks.task.escalated"]
    assert len(escalations) == 1
    assert escalations[0]["data"]["manager_id"] == team.manager.id
    assert escalations[0]["actor_id"] == "tasks.sla_watch"
    assert [
        (c["before"], c["after"]) for r in records if r["event_type"] == "tasks.task.sla_changed" for c in r["changes"]
    ] == [("green", "yellow"), ("yellow", "red")]

    # The manager sees it among the department's escalations, at-risk work first.
    listed = await gateway.get("/api/v1/tasks", params={"escalated": "true"}, headers=manager_headers)
    assert [t["id"] for t in listed.json()["items"]] == [task["id"]]
    other = await gateway.post(
        "/api/v1/tasks", json={"title": "Routine filing", "department_id": team.department_id}, headers=manager_headers
    )
    assert other.status_code == 201
    mine = await gateway.get("/api/v1/tasks", params={"department_id": team.department_id}, headers=manager_headers)
    assert [t["sla_state"] for t in mine.json()["items"]][:2] == ["red", "green"]


async def test_a_stale_task_gets_one_reminder_per_period(stack, gateway, admin_headers, move_clock):
    team = await make_team(gateway, admin_headers, employees=1, manager=False, label="QA Stale")
    employee = await team.employees[0].headers(gateway)
    created = await gateway.post("/api/v1/tasks", json={"title": "Collect the vessel survey"}, headers=employee)
    assert created.status_code == 201, created.text
    task = created.json()
    assert task["assignee_id"] == team.employees[0].id and task["department_id"] == team.department_id
    idle_since = parse_time(task["last_activity_at"])
    every = 16  # STALE_AFTER_WORKING_HOURS default

    async def stale_records():
        return [
            r for r in await audit_records(gateway, admin_headers, task["id"]) if r["event_type"] == "tasks.task.stale"
        ]

    async def marker(priority: str):
        """A change that is not activity, on the same key: once audit has it, it has what came before."""
        response = await gateway.patch(f"/api/v1/tasks/{task['id']}", json={"priority": priority}, headers=employee)
        assert response.status_code == 200, response.text

        async def recorded():
            return [
                r
                for r in await audit_records(gateway, admin_headers, task["id"], "tasks.task.updated")
                if any(c["after"] == priority for c in r["changes"] or [])
            ]

        await wait_until(recorded, timeout=20, what=f"the {priority} marker in audit")

    await move_tasks_clock_to(stack, move_clock, DEFAULT_CALENDAR.add_working_hours(idle_since, every) - MINUTE)
    await run_tasks_job(stack, "stale_watch")
    await move_tasks_clock_to(stack, move_clock, DEFAULT_CALENDAR.add_working_hours(idle_since, every) + MINUTE)
    await run_tasks_job(stack, "stale_watch")
    await run_tasks_job(stack, "stale_watch")
    await marker("high")
    reminders = await stale_records()
    assert [r["data"]["period"] for r in reminders] == [1]
    assert reminders[0]["data"]["idle_working_hours"] >= every
    assert (await get_task(gateway, admin_headers, task["id"]))["stale_period"] == 1

    await move_tasks_clock_to(stack, move_clock, DEFAULT_CALENDAR.add_working_hours(idle_since, 2 * every) + MINUTE)
    await run_tasks_job(stack, "stale_watch")
    await run_tasks_job(stack, "stale_watch")
    await marker("urgent")
    assert [r["data"]["period"] for r in await stale_records()] == [1, 2]

    # Activity (a comment) starts a new idle spell: no reminder until another full period has passed.
    commented = await gateway.post(
        f"/api/v1/tasks/{task['id']}/comments", json={"body": "Survey requested."}, headers=employee
    )
    assert commented.status_code == 201
    fresh = await get_task(gateway, admin_headers, task["id"])
    assert fresh["stale_period"] == 0 and fresh["comments_count"] == 1
    await run_tasks_job(stack, "stale_watch")
    await marker("low")
    assert [r["data"]["period"] for r in await stale_records()] == [1, 2]
