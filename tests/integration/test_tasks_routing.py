"""Routing on pipeline events: the tasks service opens, routes and closes tasks as a deal moves.

Pipeline's events are published straight to Kafka (`publish_event`), as the pipeline service would."""

from __future__ import annotations

import asyncio
import uuid

from shared.contracts.pipeline import STAGE_KEYS
from shared.workcalendar import DEFAULT_CALENDAR
from tests.conftest import wait_until
from tests.integration.tasks_support import (
    Deal,
    audit_records,
    deal_tasks,
    make_team,
    parse_time,
    routing_is_live,
    stage,
)

ROUTE_WITHIN_SECONDS = 2.0


class LoadModel:
    """The routing rule, restated for the test: lowest weighted load, then least recently assigned
    (never first), then lowest user id. Every task here is `normal` (weight 2)."""

    def __init__(self):
        self.open: dict[str, int] = {}
        self.last: dict[str, int] = {}
        self.counter = 0

    def assign(self, user_id: str) -> None:
        self.counter += 1
        self.last[user_id] = self.counter
        self.open[user_id] = self.open.get(user_id, 0) + 1

    def close(self, user_id: str | None) -> None:
        if user_id:
            self.open[user_id] -= 1

    def choose(self, member_ids: list[str]) -> str:
        return min(member_ids, key=lambda u: (2 * self.open.get(u, 0), self.last.get(u, -1), uuid.UUID(u)))


async def test_a_deal_through_all_nine_stages_routes_each_task(gateway, admin_headers, publish_event):
    sales = await make_team(gateway, admin_headers, employees=2, label="QA Sales")
    technical = await make_team(gateway, admin_headers, employees=2, manager=False, label="QA Technical")
    policy = await make_team(gateway, admin_headers, employees=1, label="QA Policy")
    owner = sales.employees[0]
    deal = Deal(owner_id=uuid.UUID(owner.id), title="Fleet cover for QA Shipping")
    plan = [  # stage, department, SLA hours
        ("first_contact", sales, 4),
        ("needs_analysis", sales, 8),
        ("material_gathering", sales, 16),
        ("technical_assignment", technical, 8),
        ("quote_preparation", technical, 12.5),
        ("proposal_sent", sales, 4),
        ("client_decision", sales, 40),
        ("policy_issuance", policy, 8),
        ("completion", policy, 0),
    ]
    assert [p[0] for p in plan] == list(STAGE_KEYS)
    stages = [stage(key, team.department_id, sla) for key, team, sla in plan]
    model = LoadModel()
    await routing_is_live(gateway, admin_headers, publish_event)  # the 2 s below time routing, not start-up

    # First Contact: the deal's owner, the line's specialist.
    sent = await publish_event(deal.opened(stages[0], sales.department_id, version=1), subject=str(deal.opportunity_id))
    tasks = await wait_until(
        lambda: deal_tasks(gateway, admin_headers, deal.opportunity_id),
        timeout=ROUTE_WITHIN_SECONDS,
        what="the First Contact task",
    )
    first = tasks[0]
    assert first["assignee_id"] == owner.id and first["stage_key"] == "first_contact"
    assert first["origin"] == "auto" and first["status"] == "open" and "owner" in first["assignment_reason"]
    assert first["title"] == "First Contact: Fleet cover for QA Shipping"
    assert parse_time(first["due_at"]) == DEFAULT_CALENDAR.add_working_hours(sent.time, 4)
    model.assign(owner.id)
    previous = first

    for i in range(1, len(stages)):
        won = stages[i].key == "completion"
        sent = await publish_event(
            deal.advanced(stages[i - 1], stages[i], status="won" if won else "open", version=i + 1),
            subject=str(deal.opportunity_id),
        )
        team = plan[i][1]
        model.close(previous["assignee_id"])

        async def routed(i=i, previous=previous, won=won):
            tasks = await deal_tasks(gateway, admin_headers, deal.opportunity_id)
            old = next(t for t in tasks if t["id"] == previous["id"])
            new = [t for t in tasks if t["stage_key"] == stages[i].key]
            if old["status"] != "done":
                return None
            if won:
                return tasks
            return new[0] if new else None

        result = await wait_until(routed, timeout=ROUTE_WITHIN_SECONDS, what=f"routing into {stages[i].key}")
        if won:
            assert len(result) == 8 and all(t["status"] == "done" for t in result), result
            assert not [t for t in result if t["stage_key"] == "completion"]
            break
        expected = model.choose([p.id for p in team.members])
        assert result["department_id"] == team.department_id, stages[i].key
        assert result["assignee_id"] == expected, (stages[i].key, result["assignment_reason"])
        assert team.name in result["assignment_reason"]
        assert parse_time(result["due_at"]) == DEFAULT_CALENDAR.add_working_hours(sent.time, plan[i][2])
        assert result["status"] == "open" and result["sla_state"] == "green"
        assert result["title"] == f"{stages[i].name}: Fleet cover for QA Shipping"  # from the event itself
        model.assign(expected)
        previous = result

    # Each routed task was announced with its reason; audit holds the created events.
    created = await wait_until(
        lambda: audit_records(gateway, admin_headers, previous["id"], "tasks.task.created"),
        timeout=20,
        what="the created event in audit",
    )
    assert created[0]["data"]["assignment_reason"] == previous["assignment_reason"]
    assert created[0]["actor_type"] == "system" and created[0]["actor_id"] == "tasks.router"


async def test_a_move_back_cancels_the_stage_task_and_reopens_the_earlier_stage(gateway, admin_headers, publish_event):
    sales = await make_team(gateway, admin_headers, employees=1, manager=False, label="QA Back")
    deal = Deal(owner_id=uuid.UUID(sales.employees[0].id))
    gathering, technical = (
        stage("material_gathering", sales.department_id, 8),
        stage("technical_assignment", sales.department_id, 8),
    )
    await publish_event(
        deal.advanced(stage("needs_analysis", sales.department_id, 8), gathering), subject=str(deal.opportunity_id)
    )
    await publish_event(deal.advanced(gathering, technical), subject=str(deal.opportunity_id))
    await publish_event(
        deal.advanced(technical, gathering, direction="back", reason="missing documents"),
        subject=str(deal.opportunity_id),
    )

    async def settled():
        tasks = await deal_tasks(gateway, admin_headers, deal.opportunity_id)
        return tasks if len(tasks) == 3 and tasks[2]["status"] == "open" else None

    tasks = await wait_until(settled, timeout=10, what="three tasks")
    assert [(t["stage_key"], t["status"]) for t in tasks] == [
        ("material_gathering", "done"),
        ("technical_assignment", "cancelled"),
        ("material_gathering", "open"),
    ]


async def test_fifty_simultaneous_routings_into_one_department_even_out(gateway, admin_headers, publish_event):
    team = await make_team(gateway, admin_headers, employees=5, manager=False, label="QA Even")
    before, into = stage("needs_analysis", None, 8), stage("material_gathering", team.department_id, 8)
    deals = [Deal(owner_id=uuid.uuid4()) for _ in range(50)]
    await asyncio.gather(*(publish_event(d.advanced(before, into), subject=str(d.opportunity_id)) for d in deals))

    async def all_routed():
        r = await gateway.get(
            "/api/v1/tasks",
            params={"department_id": team.department_id, "limit": 200, "sort": "number"},
            headers=admin_headers,
        )
        body = r.json()
        return body["items"] if body["total"] == 50 else None

    tasks = await wait_until(all_routed, timeout=30, what="50 routed tasks")
    counts = {m: sum(1 for t in tasks if t["assignee_id"] == m) for m in team.member_ids_sorted}
    assert sorted(counts.values()) == [10] * 5, counts
    # The tie rule: with equal loads the least recently assigned goes next (never-assigned by user id),
    # so in routing order the assignments go round the members in user-id order.
    assert [t["assignee_id"] for t in tasks] == [team.member_ids_sorted[i % 5] for i in range(50)]
    assert "none of them assigned before" in tasks[0]["assignment_reason"]
    assert "least recently assigned" in tasks[5]["assignment_reason"]

    workload = (
        await gateway.get("/api/v1/workload", params={"department_id": team.department_id}, headers=admin_headers)
    ).json()
    assert {m["user_id"]: (m["open_tasks"], m["weighted_load"]) for m in workload["members"]} == {
        m: (10, 20) for m in team.member_ids_sorted
    }
    assert all(m["overloaded"] == (workload["overload_threshold"] < 20) for m in workload["members"])


async def test_a_department_without_active_members_gets_the_task_unassigned(gateway, admin_headers, publish_event):
    empty = await make_team(gateway, admin_headers, employees=0, manager=False, label="QA Empty")
    deal = Deal(owner_id=uuid.uuid4())
    await publish_event(
        deal.advanced(stage("needs_analysis", None, 8), stage("material_gathering", empty.department_id, 8)),
        subject=str(deal.opportunity_id),
    )
    tasks = await wait_until(
        lambda: deal_tasks(gateway, admin_headers, deal.opportunity_id), timeout=10, what="the task"
    )
    assert tasks[0]["assignee_id"] is None and tasks[0]["department_id"] == empty.department_id
    assert "no active member" in tasks[0]["assignment_reason"]


async def test_decline_cancels_every_open_task_of_the_deal(gateway, admin_headers, publish_event):
    sales = await make_team(gateway, admin_headers, employees=1, label="QA Decline")
    deal = Deal(owner_id=uuid.UUID(sales.employees[0].id))
    proposal, decision = (
        stage("proposal_sent", sales.department_id, 4),
        stage("client_decision", sales.department_id, 40),
    )
    await publish_event(deal.advanced(proposal, decision), subject=str(deal.opportunity_id))
    await wait_until(lambda: deal_tasks(gateway, admin_headers, deal.opportunity_id), timeout=10, what="the task")
    manual = await gateway.post(
        "/api/v1/tasks",
        json={
            "title": "Chase the signed proposal",
            "department_id": sales.department_id,
            # (no client link: the deal's client exists only in its events here, and tasks links known clients)
            "opportunity_id": str(deal.opportunity_id),
        },
        headers=admin_headers,
    )
    assert manual.status_code == 201, manual.text

    await publish_event(deal.declined(decision), subject=str(deal.opportunity_id))

    async def all_cancelled():
        tasks = await deal_tasks(gateway, admin_headers, deal.opportunity_id)
        return tasks if all(t["status"] == "cancelled" for t in tasks) else None

    tasks = await wait_until(all_cancelled, timeout=10, what="the deal's tasks cancelled")
    assert {t["origin"] for t in tasks} == {"auto", "manual"} and all(t["closed_at"] for t in tasks)


async def test_a_redelivered_event_has_one_effect(gateway, admin_headers, publish_event):
    team = await make_team(gateway, admin_headers, employees=2, manager=False, label="QA Redelivery")
    deal = Deal(owner_id=uuid.UUID(team.employees[0].id))
    first = stage("first_contact", team.department_id, 4)
    needs = stage("needs_analysis", team.department_id, 8)
    await publish_event(deal.opened(first), subject=str(deal.opportunity_id))
    move = deal.advanced(first, needs)
    event = await publish_event(move, subject=str(deal.opportunity_id))
    await publish_event(move, subject=str(deal.opportunity_id), event_id=event.id)  # Kafka redelivers it
    await publish_event(move, subject=str(deal.opportunity_id))  # pipeline publishes the same move again
    marker = Deal(owner_id=uuid.UUID(team.employees[1].id))
    await publish_event(marker.opened(first), subject=str(deal.opportunity_id))  # same key: after the copies

    await wait_until(
        lambda: deal_tasks(gateway, admin_headers, marker.opportunity_id), timeout=15, what="the marker deal's task"
    )
    tasks = await deal_tasks(gateway, admin_headers, deal.opportunity_id)
    assert [(t["stage_key"], t["status"]) for t in tasks] == [("first_contact", "done"), ("needs_analysis", "open")]
    workload = (
        await gateway.get("/api/v1/workload", params={"department_id": team.department_id}, headers=admin_headers)
    ).json()
    assert sum(m["open_tasks"] for m in workload["members"]) == 2  # the needs-analysis task and the marker's
    closes = await wait_until(
        lambda: audit_records(gateway, admin_headers, tasks[0]["id"], "tasks.task.updated"),
        timeout=20,
        what="the close in audit",
    )
    assert len(closes) == 1 and closes[0]["changes"] == [{"field": "status", "before": "open", "after": "done"}]


async def test_the_department_lock_serialises_routings_in_concurrent_transactions(stack, gateway, admin_headers):
    """Two replicas route in parallel transactions: the advisory lock per department keeps the load rule.

    Here 40 transactions on the tasks database (as the service's own role) each route one task into the
    same department at the same time and commit; without the lock most would read the same loads."""
    from services.tasks import assignment as assignments
    from services.tasks import service
    from services.tasks.settings import TasksSettings
    from shared import clock, context
    from shared.context import Actor
    from shared.db import create_engine, create_sessionmaker

    team = await make_team(gateway, admin_headers, employees=4, manager=False, label="QA Lock")
    settings = TasksSettings()
    engine = create_engine(stack.database_url("tasks"), pool_size=20)
    sessions = create_sessionmaker(engine)
    token = context.bind(actor=Actor("system", "tests"))
    try:

        async def route_one(i: int) -> None:
            async with sessions() as session, session.begin():
                assignment = await assignments.route_to_least_loaded_member(
                    session, uuid.UUID(team.department_id), settings
                )
                await service.open_task(
                    session,
                    settings,
                    title=f"Lock probe {i}",
                    description=None,
                    origin="manual",
                    opportunity_id=None,
                    client_id=None,
                    stage_key=None,
                    department_id=uuid.UUID(team.department_id),
                    assignment=assignment,
                    priority="normal",
                    sla_started_at=clock.now(),
                )

        await asyncio.gather(*(route_one(i) for i in range(40)))
    finally:
        context.reset(token)
        await engine.dispose()
    workload = (
        await gateway.get("/api/v1/workload", params={"department_id": team.department_id}, headers=admin_headers)
    ).json()
    assert sorted(m["open_tasks"] for m in workload["members"]) == [10] * 4, workload
