"""The documents consumer group on TestKafkaBroker: the replica of the records documents belong to (clients,
deals, tasks, contracts) follows their owners' events, and so does who may see their documents."""

from __future__ import annotations

import uuid

import pytest

from services.documents import access
from services.documents import repository as repo
from shared.auth import Principal
from shared.contracts.pipeline import OpportunityUpdated
from tests import events
from tests.bus import consumer_bus, consumer_of, handles


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("documents", consumer_of("documents", "documents"), sessionmaker) as bus:
        yield bus


def employee(department: uuid.UUID | None, user: uuid.UUID | None = None) -> Principal:
    return Principal(user_id=user or uuid.uuid4(), role="Employee", department_id=department, name="E", email="e@x.io")


@handles("documents", "clients.client.created", "clients.client.updated")
async def test_a_client_is_seen_by_its_department_and_follows_a_move(bus, session):
    sales, claims = uuid.uuid4(), uuid.uuid4()
    created = events.client_created(department_id=sales)
    await bus.publish(created, subject=str(created.client_id))
    record = await repo.get_record(session, "client", created.client_id)
    assert record is not None and record.client_id == created.client_id
    assert access.can_see(employee(sales), record)
    assert not access.can_see(employee(claims), record)

    moved = events.client_updated(created.client_id, changes=events.changes(department_id=(str(sales), str(claims))))
    await bus.publish(moved, subject=str(created.client_id))
    record = await repo.get_record(session, "client", created.client_id)
    assert record is not None and record.department_id == claims
    assert access.can_see(employee(claims), record) and not access.can_see(employee(sales), record)


@handles(
    "documents",
    "pipeline.opportunity.opened",
    "pipeline.opportunity.updated",
    "pipeline.opportunity.stage_advanced",
)
async def test_a_deal_is_seen_by_its_owner_its_line_and_the_department_working_its_stage(bus, session):
    line, works_stage, next_stage, other = (uuid.uuid4() for _ in range(4))
    owner = uuid.uuid4()
    opened = events.opportunity_opened(
        owner_id=owner, department_id=line, stage=events.stage(department_id=works_stage)
    )
    await bus.publish(opened, subject=str(opened.opportunity_id))
    record = await repo.get_record(session, "deal", opened.opportunity_id)
    assert record is not None
    assert (record.client_id, record.stage_key) == (opened.client_id, "first_contact")
    for department in (line, works_stage):
        assert access.can_see(employee(department), record)
    assert access.can_see(employee(other, owner), record)  # the owner, from any department
    assert not access.can_see(employee(other), record)

    advanced = events.stage_advanced(
        opportunity_id=opened.opportunity_id,
        client_id=opened.client_id,
        owner_id=owner,
        to_stage=events.stage("needs_analysis", position=2, department_id=next_stage),
    )
    await bus.publish(advanced, subject=str(opened.opportunity_id))
    record = await repo.get_record(session, "deal", opened.opportunity_id)
    assert record is not None and record.stage_key == "needs_analysis"
    assert access.can_see(employee(next_stage), record) and not access.can_see(employee(works_stage), record)

    new_owner = uuid.uuid4()
    handed_over = OpportunityUpdated(
        opportunity_id=opened.opportunity_id,
        client_id=opened.client_id,
        changes=events.changes(owner_id=(str(owner), str(new_owner))),
    )
    await bus.publish(handed_over, subject=str(opened.opportunity_id))
    record = await repo.get_record(session, "deal", opened.opportunity_id)
    assert record is not None and record.person_id == new_owner
    assert access.can_see(employee(other, new_owner), record) and not access.can_see(employee(other, owner), record)


@handles("documents", "tasks.task.created", "tasks.task.reassigned")
async def test_a_task_is_seen_by_its_department_and_its_assignee(bus, session):
    department, other = uuid.uuid4(), uuid.uuid4()
    created = events.task_created(department_id=department)
    await bus.publish(created, subject=str(created.task_id))
    record = await repo.get_record(session, "task", created.task_id)
    assert record is not None
    assert access.can_see(employee(department), record)
    assert access.can_see(employee(other, created.assignee_id), record)

    someone = uuid.uuid4()
    reassigned = events.task_reassigned(task_id=created.task_id, department_id=department, assignee_id=someone)
    await bus.publish(reassigned, subject=str(created.task_id))
    record = await repo.get_record(session, "task", created.task_id)
    assert record is not None
    assert access.can_see(employee(other, someone), record)
    assert not access.can_see(employee(other, created.assignee_id), record)


@handles("documents", "contracts.contract.created")
async def test_a_contract_is_seen_by_its_clients_department_and_its_specialist(bus, session):
    clients_department, recorded, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    client = events.client_created(department_id=clients_department)
    await bus.publish(client, subject=str(client.client_id))
    created = events.contract_created(client_id=client.client_id, department_id=recorded, specialist_id=uuid.uuid4())
    await bus.publish(created, subject=str(created.contract_id))
    record = await repo.get_record(session, "contract", created.contract_id)
    client_record = await repo.get_record(session, "client", client.client_id)
    assert record is not None and record.client_id == client.client_id
    assert access.can_see(employee(clients_department), record, client_record)
    assert not access.can_see(employee(recorded), record, client_record)  # the client's department wins
    assert access.can_see(employee(recorded), record, None)  # the recorded one while the client is unknown
    assert access.can_see(employee(other, created.specialist_id), record, client_record)
    assert not access.can_see(employee(other), record, client_record)
