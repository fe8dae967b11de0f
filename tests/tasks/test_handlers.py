"""The tasks router (consumer `tasks.router`, a batch handler of pipeline's deal events) on TestKafkaBroker:
a deal's events open, close and cancel its automatic tasks, routed to the least-loaded member. The people
replica (`tasks.people`): tests/shared. The state guard in detail: tests/tasks/test_routing_guard.py."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from services.tasks import routing
from tests import events
from tests.bus import consumer_bus, consumer_of, handles
from tests.tasks.support import a_department, tasks_of_deal


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("tasks", consumer_of("tasks", routing.CONSUMER), sessionmaker) as bus:
        yield bus


async def announced(bus, session, event_type: str) -> list[dict]:
    outbox = bus.tables.outbox
    return [
        json.loads(p)
        for p in (
            await session.execute(
                select(outbox.c.payload).where(outbox.c.event_type == event_type).order_by(outbox.c.id)
            )
        ).scalars()
    ]


@handles("tasks.router", "pipeline.opportunity.opened")
async def test_an_opened_deal_gives_its_owner_the_first_contact_task_once(bus, session):
    opened = events.opportunity_opened()
    envelope = await bus.publish(opened, subject=str(opened.opportunity_id))
    [task] = await tasks_of_deal(session, opened.opportunity_id)
    assert (task.stage_key, task.status, task.origin, task.assignee_id) == (
        "first_contact",
        "open",
        "auto",
        opened.owner_id,
    )
    assert task.title == "First Contact: Fleet cover"
    assert task.due_at is not None and task.sla_hours == 8
    [created] = await announced(bus, session, "tasks.task.created")
    assert created["task_id"] == str(task.id)

    await bus.redeliver(envelope)
    assert len(await tasks_of_deal(session, opened.opportunity_id)) == 1


@handles("tasks.router", "pipeline.opportunity.stage_advanced")
async def test_a_forward_move_closes_the_stage_task_and_routes_the_next_to_the_least_loaded(bus, session):
    department, (ann, bob) = await a_department(session, "Ann", "Bob")
    opened = events.opportunity_opened()
    await bus.publish(opened, subject=str(opened.opportunity_id))
    to_stage = events.stage("needs_analysis", position=2, department_id=department, sla_hours=16)
    moved = events.stage_advanced(
        opportunity_id=opened.opportunity_id, client_id=opened.client_id, owner_id=opened.owner_id, to_stage=to_stage
    )
    envelope = await bus.publish(moved, subject=str(opened.opportunity_id))
    first, second = await tasks_of_deal(session, opened.opportunity_id)
    assert (first.stage_key, first.status) == ("first_contact", "done")
    assert (second.stage_key, second.status, second.department_id) == ("needs_analysis", "open", department)
    # Neither had work: the lowest user id; the reason says so.
    assert second.assignee_id == min(ann, bob) and "lowest user id" in second.assignment_reason

    # A second deal's move into the same department goes to the other member, now less loaded.
    other = events.opportunity_opened()
    await bus.publish(other, subject=str(other.opportunity_id))
    await bus.publish(
        events.stage_advanced(opportunity_id=other.opportunity_id, owner_id=other.owner_id, to_stage=to_stage),
        subject=str(other.opportunity_id),
    )
    assert (await tasks_of_deal(session, other.opportunity_id))[1].assignee_id == max(ann, bob)

    await bus.redeliver(envelope)
    assert len(await tasks_of_deal(session, opened.opportunity_id)) == 2


@handles("tasks.router", "pipeline.opportunity.declined")
async def test_a_declined_deal_cancels_its_open_tasks(bus, session):
    opened = events.opportunity_opened()
    await bus.publish(opened, subject=str(opened.opportunity_id))
    declined = events.opportunity_declined(
        opportunity_id=opened.opportunity_id,
        client_id=opened.client_id,
        owner_id=opened.owner_id,
        stage=events.stage(),
        opportunity_version=2,
    )
    envelope = await bus.publish(declined, subject=str(opened.opportunity_id))
    [task] = await tasks_of_deal(session, opened.opportunity_id)
    assert task.status == "cancelled"
    await bus.redeliver(envelope)
    assert [t.status for t in await tasks_of_deal(session, opened.opportunity_id)] == ["cancelled"]


async def test_events_of_the_topic_the_router_does_not_route_are_claimed_and_ignored(bus, session):
    updated = events.changes(title=("a", "b"))
    from shared.contracts.pipeline import OpportunityUpdated

    data = OpportunityUpdated(opportunity_id=events.new_id(), client_id=events.new_id(), changes=updated)
    envelope = await bus.publish(data, subject=str(data.opportunity_id))
    assert await bus.claimed(session, envelope)
    assert not await tasks_of_deal(session, data.opportunity_id) and not await bus.dead_letters(session)
