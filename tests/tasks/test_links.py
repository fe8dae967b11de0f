"""What a ticket may link (issue 12: a task could link another department's client and deal): a client its
opener may see, and a deal of such a client or one their department works; anything else answered like an
unknown record, a 422 naming the field. Clients' departments come from `clients.client.events` (consumer
`tasks.clients`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from services.tasks import service
from services.tasks.models import KnownClient, Task
from services.tasks.schemas import TaskCreate
from services.tasks.settings import TasksSettings
from services.tasks.subscriptions import CLIENTS_CONSUMER
from shared.auth import Principal
from shared.contracts import FieldChange
from shared.contracts.clients import ClientUpdated
from shared.errors import InvalidInput
from tests import events
from tests.bus import consumer_bus, consumer_of, handles

SALES, TECH = uuid.uuid4(), uuid.uuid4()
SETTINGS = TasksSettings(link_wait_seconds=0)


def person(role: str = "Manager", department_id: uuid.UUID | None = SALES) -> Principal:
    return Principal(user_id=uuid.uuid4(), role=role, department_id=department_id, name=role, email="x@example.com")


async def a_client(session, department_id: uuid.UUID) -> uuid.UUID:
    client_id = uuid.uuid4()
    session.add(KnownClient(id=client_id, department_id=department_id))
    await session.flush()
    return client_id


async def a_deal(session, client_id: uuid.UUID, *, department_id: uuid.UUID, assignee_id=None) -> uuid.UUID:
    """A deal as tasks knows it: the automatic task routing opened for it."""
    deal_id, now = uuid.uuid4(), datetime.now(UTC)
    session.add(
        Task(
            title="First Contact",
            origin="auto",
            opportunity_id=deal_id,
            client_id=client_id,
            stage_key="first_contact",
            department_id=department_id,
            assignee_id=assignee_id,
            priority="normal",
            status="done",
            sla_started_at=now,
            last_activity_at=now,
            created_at=now,
            updated_at=now,
        )
    )
    await session.flush()
    return deal_id


async def check(session, caller: Principal, **links) -> None:
    await service._check_links(session, SETTINGS, caller, TaskCreate(title="Call the client", **links))


async def refused(session, caller: Principal, field: str, message: str, **links) -> None:
    with pytest.raises(InvalidInput) as answer:
        await check(session, caller, **links)
    [error] = answer.value.errors
    assert error["field"] == field and message in error["message"], error


async def test_a_client_and_deal_of_the_callers_department_may_be_linked(session):
    client = await a_client(session, SALES)
    deal = await a_deal(session, client, department_id=SALES)
    for caller in (person("Manager"), person("Employee"), person("Admin", None)):
        await check(session, caller, client_id=client, opportunity_id=deal)


async def test_another_departments_client_or_deal_is_answered_as_unknown(session):
    theirs = await a_client(session, TECH)
    their_deal = await a_deal(session, theirs, department_id=TECH)
    for caller in (person("Manager"), person("Employee"), person("Manager", None)):
        await refused(session, caller, "body.client_id", f"no client {theirs}", client_id=theirs)
        await refused(session, caller, "body.opportunity_id", f"no deal {their_deal}", opportunity_id=their_deal)
    unknown = uuid.uuid4()
    await refused(session, person(), "body.client_id", f"no client {unknown}", client_id=unknown)
    await refused(session, person(), "body.opportunity_id", f"no deal {unknown}", opportunity_id=unknown)
    await check(session, person("Admin", None), client_id=theirs, opportunity_id=their_deal)


async def test_a_deal_the_callers_department_works_or_they_were_given_may_be_linked(session):
    theirs = await a_client(session, TECH)
    worked_here = await a_deal(session, theirs, department_id=SALES)  # a stage Sales works
    await check(session, person("Employee"), opportunity_id=worked_here)
    me = person("Employee", TECH)
    given_to_me = await a_deal(session, await a_client(session, SALES), department_id=SALES, assignee_id=me.user_id)
    await check(session, me, opportunity_id=given_to_me)


async def test_a_deal_of_another_client_than_the_one_linked_is_refused(session):
    ours, other = await a_client(session, SALES), await a_client(session, SALES)
    deal = await a_deal(session, other, department_id=SALES)
    await refused(
        session, person(), "body.opportunity_id", f"not a deal of client {ours}", client_id=ours, opportunity_id=deal
    )


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("tasks", consumer_of("tasks", CLIENTS_CONSUMER), sessionmaker) as bus:
        yield bus


@handles(CLIENTS_CONSUMER, "clients.client.created", "clients.client.updated")
async def test_clients_departments_are_known_from_their_events(bus, session):
    created = events.client_created(department_id=SALES)
    envelope = await bus.publish(created, subject=str(created.client_id))
    await bus.redeliver(envelope)
    known = await session.get(KnownClient, created.client_id, populate_existing=True)
    assert (known.department_id, known.name) == (SALES, created.name)
    renamed = ClientUpdated(client_id=created.client_id, changes={"name": FieldChange(before="A", after="B")})
    await bus.publish(renamed, subject=str(created.client_id))
    known = await session.get(KnownClient, created.client_id, populate_existing=True)
    assert (known.department_id, known.name) == (SALES, "B")
    moved = ClientUpdated(
        client_id=created.client_id, changes={"department_id": FieldChange(before=str(SALES), after=str(TECH))}
    )
    await bus.publish(moved, subject=str(created.client_id))
    assert (await session.get(KnownClient, created.client_id, populate_existing=True)).department_id == TECH
    await refused(session, person(), "body.client_id", "no client", client_id=created.client_id)
    assert not await bus.dead_letters(session)
