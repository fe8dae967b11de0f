"""Routing's least-loaded choice (`assignment.route_to_least_loaded_member`) on the rolled-back tasks database:
loads come from the open tasks in the database, weighted by priority, plus this transaction's own
assignments; inactive members and closed tasks do not count. The pure tie-breaking rule: test_rules.py."""

from __future__ import annotations

import uuid

import pytest

from services.tasks import assignment, service
from services.tasks.models import people
from services.tasks.settings import TasksSettings
from shared import clock
from tests.tasks.support import a_department

SETTINGS = TasksSettings()
pytestmark = pytest.mark.usefixtures("acting")


async def a_task(session, department_id: uuid.UUID, assignee: uuid.UUID, priority: str = "normal"):
    return await service.open_task(
        session,
        SETTINGS,
        title="Call the client",
        description=None,
        origin="manual",
        opportunity_id=None,
        client_id=None,
        stage_key=None,
        department_id=department_id,
        assignment=assignment.Assignment(assignee, "by hand"),
        priority=priority,
        sla_started_at=clock.now(),
    )


async def route(session, department_id: uuid.UUID) -> assignment.Assignment:
    # Each routing starts from the database (a new transaction's memory), as a new batch would.
    session.info.clear()
    await session.flush()
    return await assignment.route_to_least_loaded_member(session, department_id, SETTINGS)


async def test_the_member_with_the_lowest_weighted_load_is_chosen(session):
    department, (ann, bob) = await a_department(session, "Ann", "Bob")
    await a_task(session, department, ann, "low")  # 1
    await a_task(session, department, ann, "low")  # 2
    await a_task(session, department, bob, "urgent")  # 5: fewer tasks, more load
    chosen = await route(session, department)
    assert chosen.assignee_id == ann and "load 2 vs next 5" in chosen.reason


async def test_closed_tasks_and_inactive_members_do_not_count(session):
    department, (ann, bob, cid) = await a_department(session, "Ann", "Bob", "Cid")
    for _ in range(3):
        task = await a_task(session, department, ann, "high")
        await service.close_task(session, SETTINGS, task, "done")
    await a_task(session, department, bob)
    await session.execute(people.users.update().where(people.users.c.id == cid).values(active=False))
    chosen = await route(session, department)
    assert chosen.assignee_id == ann


async def test_assignments_of_the_same_transaction_count_before_they_are_written(session):
    department, (ann, bob) = await a_department(session, "Ann", "Bob")
    session.info.clear()
    first = await assignment.route_to_least_loaded_member(session, department, SETTINGS)
    await a_task(session, department, first.assignee_id)
    second = await assignment.route_to_least_loaded_member(session, department, SETTINGS)
    assert {first.assignee_id, second.assignee_id} == {ann, bob}


async def test_a_department_without_active_members_leaves_the_task_unassigned(session):
    department, _ = await a_department(session)
    chosen = await route(session, department)
    assert chosen.assignee_id is None and "no active member" in chosen.reason
