"""Work on contracts (consumer `tasks.contracts`) on TestKafkaBroker: an endorsement request becomes a task in the
department it names for the least-loaded member (once, however often delivered); binding closes it done,
withdrawing cancels it."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from services.tasks import contract_work
from services.tasks.models import Task
from tests import events
from tests.bus import consumer_bus, consumer_of, handles
from tests.tasks.support import a_department


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("tasks", consumer_of("tasks", contract_work.CONSUMER), sessionmaker) as bus:
        yield bus


async def tasks_of_contract(session, contract_id) -> list[Task]:
    stmt = select(Task).where(Task.contract_id == contract_id).execution_options(populate_existing=True)
    return list((await session.execute(stmt)).scalars())


@handles("tasks.contracts", "contracts.contract.endorsement_requested")
async def test_a_requested_endorsement_is_routed_to_the_least_loaded_member_once(bus, session):
    department, (ann, bob) = await a_department(session, "Ann", "Bob", name="Policy Administration")
    # Two requests, two members with nothing open: the second goes to whoever the first did not load.
    first = events.endorsement_requested(route_department_id=department)
    await bus.publish(first, subject=str(first.contract_id))
    second = events.endorsement_requested(route_department_id=department)
    envelope = await bus.publish(second, subject=str(second.contract_id))
    [task_1] = await tasks_of_contract(session, first.contract_id)
    [task_2] = await tasks_of_contract(session, second.contract_id)
    assert {task_1.assignee_id, task_2.assignee_id} == {ann, bob}
    assert (task_2.stage_key, task_2.origin, task_2.department_id, task_2.status) == (
        "endorsement",
        "auto",
        department,
        "open",
    )
    assert task_2.title.startswith(f"Endorsement: {second.policy_number} (Motor) from 2030-07-01")
    assert task_2.sla_hours == 16 and task_2.due_at is not None
    assert "least loaded" in (task_2.assignment_reason or "")
    outbox = bus.tables.outbox
    created = [
        json.loads(p)
        for p in (
            await session.execute(select(outbox.c.payload).where(outbox.c.event_type == "tasks.task.created"))
        ).scalars()
    ]
    assert {c["contract_id"] for c in created} == {str(first.contract_id), str(second.contract_id)}

    await bus.redeliver(envelope)
    await bus.publish(events.endorsement_requested(contract_id=second.contract_id, route_department_id=department))
    assert len(await tasks_of_contract(session, second.contract_id)) == 1


@handles("tasks.contracts", "contracts.contract.endorsed", "contracts.contract.endorsement_withdrawn")
async def test_binding_closes_the_task_done_and_withdrawing_cancels_it(bus, session):
    department, _ = await a_department(session, "Ann", name="Policy Administration")
    bound, withdrawn = (events.endorsement_requested(route_department_id=department) for _ in range(2))
    for requested in (bound, withdrawn):
        await bus.publish(requested, subject=str(requested.contract_id))
    await bus.publish(events.contract_endorsed(contract_id=bound.contract_id), subject=str(bound.contract_id))
    await bus.publish(
        events.endorsement_withdrawn(contract_id=withdrawn.contract_id), subject=str(withdrawn.contract_id)
    )
    [done] = await tasks_of_contract(session, bound.contract_id)
    [cancelled] = await tasks_of_contract(session, withdrawn.contract_id)
    assert (done.status, cancelled.status) == ("done", "cancelled")
    # A decision about a contract with no open task changes nothing.
    await bus.publish(events.contract_endorsed())


async def test_with_no_department_known_the_task_is_left_unassigned(bus, session):
    requested = events.endorsement_requested(route_department_id=None)
    await bus.publish(requested, subject=str(requested.contract_id))
    [task] = await tasks_of_contract(session, requested.contract_id)
    assert task.assignee_id is None and "left unassigned" in (task.assignment_reason or "")
