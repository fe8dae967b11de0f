"""The tasks API: manual tickets, who sees and may do what, bad input, and the working-time calendar."""

from __future__ import annotations

import uuid

from tests.conftest import assert_problem, wait_until
from tests.integration.tasks_support import audit_records, make_team


async def test_tickets_scope_and_roles(gateway, admin_headers):
    team = await make_team(gateway, admin_headers, employees=2, label="QA Scope")
    other = await make_team(gateway, admin_headers, employees=1, label="QA Elsewhere")
    alice, bob = team.employees
    alice_h, bob_h = await alice.headers(gateway), await bob.headers(gateway)
    manager_h = await team.manager.headers(gateway)
    outsider_h = await other.employees[0].headers(gateway)
    other_manager_h = await other.manager.headers(gateway)

    # An Employee opens a ticket in their department, for a colleague.
    created = await gateway.post(
        "/api/v1/tasks",
        json={"title": "Renewal call", "assignee_id": bob.id, "priority": "high", "description": "Call before Friday"},
        headers=alice_h,
    )
    assert created.status_code == 201, created.text
    task = created.json()
    assert (task["origin"], task["assignee_id"], task["department_id"], task["status"]) == (
        "manual",
        bob.id,
        team.department_id,
        "open",
    )
    assert task["created_by"] == f"user:{alice.id}" and "chosen by" in task["assignment_reason"]

    # Visibility: the department sees it, the assignee sees it, others do not (404).
    for headers in (alice_h, bob_h, manager_h, admin_headers):
        assert (await gateway.get(f"/api/v1/tasks/{task['id']}", headers=headers)).status_code == 200
    for headers in (outsider_h, other_manager_h):
        assert_problem(await gateway.get(f"/api/v1/tasks/{task['id']}", headers=headers), 404)
        listed = await gateway.get("/api/v1/tasks", params={"department_id": team.department_id}, headers=headers)
        assert listed.json()["total"] == 0
    mine = await gateway.get("/api/v1/tasks", params={"assignee": "me"}, headers=bob_h)
    assert [t["id"] for t in mine.json()["items"]] == [task["id"]]
    assert (await gateway.get("/api/v1/tasks", params={"assignee": "me"}, headers=alice_h)).json()["total"] == 0

    # Reassign: Employees may not (403); another department's manager does not see it (404);
    # the department's manager may, to an active member only (422 otherwise).
    assert_problem(
        await gateway.post(f"/api/v1/tasks/{task['id']}/reassign", json={"assignee_id": alice.id}, headers=bob_h), 403
    )
    assert_problem(
        await gateway.post(
            f"/api/v1/tasks/{task['id']}/reassign", json={"assignee_id": alice.id}, headers=other_manager_h
        ),
        404,
    )
    assert_problem(
        await gateway.post(
            f"/api/v1/tasks/{task['id']}/reassign", json={"assignee_id": other.employees[0].id}, headers=manager_h
        ),
        422,
        "body.assignee_id",
    )
    moved = await gateway.post(
        f"/api/v1/tasks/{task['id']}/reassign",
        json={"assignee_id": alice.id, "note": "Bob is on leave"},
        headers=manager_h,
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee_id"] == alice.id and "Bob is on leave" in moved.json()["assignment_reason"]

    # Status, priority, comments.
    patched = await gateway.patch(
        f"/api/v1/tasks/{task['id']}", json={"status": "in_progress", "priority": "urgent"}, headers=alice_h
    )
    assert patched.status_code == 200 and patched.json()["status"] == "in_progress"
    assert_problem(
        await gateway.patch(f"/api/v1/tasks/{task['id']}", json={"due_at": "2030-01-01T10:00:00Z"}, headers=alice_h),
        403,
    )
    comment = await gateway.post(
        f"/api/v1/tasks/{task['id']}/comments", json={"body": "Left a voicemail."}, headers=bob_h
    )
    assert comment.status_code == 201 and comment.json()["author_id"] == bob.id
    thread = await gateway.get(f"/api/v1/tasks/{task['id']}/comments", headers=manager_h)
    assert [c["body"] for c in thread.json()["items"]] == ["Left a voicemail."]
    assert (await gateway.get(f"/api/v1/tasks/{task['id']}", headers=alice_h)).json()["comments_count"] == 1
    done = await gateway.patch(f"/api/v1/tasks/{task['id']}", json={"status": "done"}, headers=alice_h)
    assert done.json()["status"] == "done" and done.json()["closed_at"]
    assert_problem(await gateway.patch(f"/api/v1/tasks/{task['id']}", json={"priority": "low"}, headers=alice_h), 409)

    # Creating elsewhere: an Employee may not (403); a Manager may.
    assert_problem(
        await gateway.post("/api/v1/tasks", json={"title": "x", "department_id": other.department_id}, headers=alice_h),
        403,
    )
    assert (
        await gateway.post(
            "/api/v1/tasks",
            json={"title": "Help the other desk", "department_id": other.department_id},
            headers=manager_h,
        )
    ).status_code == 201

    # Workload: Managers for their department (another's is out of scope: 404 as unknown), Admins for any;
    # Employees never.
    assert_problem(await gateway.get("/api/v1/workload", headers=alice_h), 403)
    assert_problem(
        await gateway.get("/api/v1/workload", params={"department_id": other.department_id}, headers=manager_h), 404
    )
    own = await gateway.get("/api/v1/workload", headers=manager_h)
    assert own.status_code == 200 and own.json()["department_id"] == team.department_id

    # Every change is an event with its actor, recorded by audit.
    async def trail():
        records = await audit_records(gateway, admin_headers, task["id"])
        return records if len(records) >= 5 else None

    records = await wait_until(trail, timeout=20, what="the task's events in audit")
    assert [r["event_type"] for r in records] == [
        "tasks.task.created",
        "tasks.task.reassigned",
        "tasks.task.updated",
        "tasks.task.commented",
        "tasks.task.updated",
    ]
    assert [r["actor_id"] for r in records] == [alice.id, team.manager.id, alice.id, bob.id, alice.id]


async def test_bad_input_gets_a_problem_naming_the_field(gateway, admin_headers):
    bad_posts = [
        ({"title": "x", "priority": "asap"}, "body.priority"),
        ({"priority": "low"}, "body.title"),
        ({"title": ""}, "body.title"),
        ({"title": "x", "due_at": "tomorrow"}, "body.due_at"),
        ({"title": "x", "due_at": "2030-01-01T10:00:00"}, "body.due_at"),  # no timezone
        ({"title": "x", "department_id": "not-a-uuid"}, "body.department_id"),
        ({"title": "x", "department_id": str(uuid.uuid4())}, "body.department_id"),
        ({"title": "x"}, "body.department_id"),  # the Admin belongs to no department
        ({"title": "x", "assignee": "me"}, "body.assignee"),
    ]
    for body, field in bad_posts:
        assert_problem(await gateway.post("/api/v1/tasks", json=body, headers=admin_headers), 422, field)
    for params, field in [
        ({"sort": "colour"}, "query.sort"),
        ({"assignee": "someone"}, "query.assignee"),
        ({"status": "sleeping"}, "query.status.0"),
        ({"limit": 0}, "query.limit"),
        ({"sla_state": "purple"}, "query.sla_state.0"),
    ]:
        assert_problem(await gateway.get("/api/v1/tasks", params=params, headers=admin_headers), 422, field)
    assert_problem(await gateway.get("/api/v1/tasks/not-a-uuid", headers=admin_headers), 422, "path.task_id")
    assert_problem(await gateway.get(f"/api/v1/tasks/{uuid.uuid4()}", headers=admin_headers), 404)
    assert_problem(
        await gateway.patch(f"/api/v1/tasks/{uuid.uuid4()}", json={"status": "done"}, headers=admin_headers), 404
    )
    assert_problem(
        await gateway.post(f"/api/v1/tasks/{uuid.uuid4()}/comments", json={"body": ""}, headers=admin_headers),
        422,
        "body.body",
    )
    assert_problem(
        await gateway.get("/api/v1/workload", params={"department_id": str(uuid.uuid4())}, headers=admin_headers), 404
    )
    assert_problem(await gateway.get("/api/v1/workload", headers=admin_headers), 422, "query.department_id")
    assert_problem(await gateway.get("/api/v1/tasks"), 401)


async def test_the_calendar_is_admin_configured_and_validated(gateway, admin_headers):
    team = await make_team(gateway, admin_headers, employees=1, label="QA Calendar")
    manager_h = await team.manager.headers(gateway)
    current = await gateway.get("/api/v1/calendar", headers=manager_h)
    assert current.status_code == 200
    original = {
        k: current.json()[k]
        for k in ("timezone", "working_days", "start", "end", "holidays", "always_open", "public_holidays")
    }
    assert_problem(await gateway.put("/api/v1/calendar", json=original, headers=manager_h), 403)
    for change, field in [
        ({"timezone": "Mars/Olympus_Mons"}, "body.timezone"),
        ({"start": "25:00"}, "body.start"),
        ({"start": "9am"}, "body.start"),
        ({"start": "17:00", "end": "09:00"}, "body.end"),
        ({"working_days": ["mon", "funday"]}, "body.working_days.1"),
        ({"working_days": []}, "body.working_days"),
        ({"holidays": ["2026-01-01", "2026-02-30"]}, "body.holidays.1"),
        ({"public_holidays": "XX"}, "body.public_holidays"),
    ]:
        assert_problem(
            await gateway.put("/api/v1/calendar", json={**original, **change}, headers=admin_headers), 422, field
        )
    try:
        wanted = {
            "timezone": "Europe/London",
            "working_days": ["mon", "tue", "wed", "thu"],
            "start": "08:30",
            "end": "16:30",
            "holidays": ["2026-12-25", "2026-12-28"],
            "always_open": False,
            "public_holidays": None,
        }
        saved = await gateway.put("/api/v1/calendar", json=wanted, headers=admin_headers)
        assert saved.status_code == 200, saved.text
        assert {k: saved.json()[k] for k in wanted} == wanted and saved.json()["updated_by"].startswith("user:")
        assert (await gateway.get("/api/v1/calendar", headers=admin_headers)).json()["timezone"] == "Europe/London"

        async def our_change():
            # Other tests (the API fuzzing) change and restore the calendar too: find this test's change.
            response = await gateway.get(
                "/api/v1/audit/records",
                headers=admin_headers,
                params={
                    "aggregate_id": "calendar",
                    "event_type": "tasks.calendar.updated",
                    "order": "desc",
                    "limit": 50,
                },
            )
            for record in response.json()["items"]:
                after = {c["field"]: c["after"] for c in record["changes"]}
                if after.get("timezone") == "Europe/London" and after.get("start") == "08:30":
                    return record
            return None

        record = await wait_until(our_change, timeout=20, what="the calendar change in audit")
        assert {c["field"] for c in record["changes"]} >= {"timezone", "working_days", "start", "end"}
    finally:
        restored = await gateway.put("/api/v1/calendar", json=original, headers=admin_headers)
        assert restored.status_code == 200
