"""The people replica (`shared.projections.identity`) in every consumer group that keeps one, on TestKafkaBroker:
identity's user and department events published as identity publishes them, applied once to the service's
`known_users` and `known_departments`."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from tests import events
from tests.bus import consumer_bus, consumer_of, handles

PEOPLE_TYPES = (
    "identity.user.created",
    "identity.user.updated",
    "identity.user.deactivated",
    "identity.department.created",
    "identity.department.updated",
    "identity.department.deleted",
)


# (service, consumer group): every group that keeps the replica.
GROUPS = [
    pytest.param(("clients", "clients"), marks=handles("clients", *PEOPLE_TYPES), id="clients"),
    pytest.param(("pipeline", "pipeline"), marks=handles("pipeline", *PEOPLE_TYPES), id="pipeline"),
    pytest.param(("tasks", "tasks.people"), marks=handles("tasks.people", *PEOPLE_TYPES), id="tasks.people"),
    pytest.param(("contracts", "contracts"), marks=handles("contracts", *PEOPLE_TYPES), id="contracts"),
    pytest.param(("notifications", "notifications"), marks=handles("notifications", *PEOPLE_TYPES), id="notifications"),
]


@pytest.fixture(params=GROUPS)
def group(request):
    return request.param


@pytest.fixture
def service_name(group) -> str:
    return group[0]


@pytest.fixture
async def bus(group, sessionmaker):
    service, name = group
    async with consumer_bus(service, consumer_of(service, name), sessionmaker) as bus:
        yield bus


def tables(service: str):
    import importlib

    return importlib.import_module(f"services.{service}.models").people


async def user(session, people, user_id: uuid.UUID):
    return (await session.execute(select(people.users).where(people.users.c.id == user_id))).mappings().first()


async def department(session, people, department_id: uuid.UUID):
    return (
        (await session.execute(select(people.departments).where(people.departments.c.id == department_id)))
        .mappings()
        .first()
    )


async def test_users_are_created_updated_and_deactivated_once_each(group, bus, session):
    people = tables(group[0])
    created = events.user_created(role="Manager", department_id=uuid.uuid4())
    first = await bus.publish(created, subject=str(created.user_id))
    row = await user(session, people, created.user_id)
    assert (row["name"], row["email"], row["role"], row["department_id"], row["active"]) == (
        created.name,
        created.email,
        "Manager",
        created.department_id,
        True,
    )

    moved_to = uuid.uuid4()
    updated = events.user_updated(
        created.user_id,
        changes=events.changes(
            name=(created.name, "Ada Lovelace"),
            department_id=(str(created.department_id), str(moved_to)),
            password=("x", "y"),
        ),
    )
    await bus.publish(updated, subject=str(created.user_id))
    row = await user(session, people, created.user_id)
    assert (row["name"], row["department_id"]) == ("Ada Lovelace", moved_to)

    await bus.publish(events.user_deactivated(created.user_id), subject=str(created.user_id))
    assert (await user(session, people, created.user_id))["active"] is False

    await bus.redeliver(first)  # the creation again: recognised, the user stays as they are now
    row = await user(session, people, created.user_id)
    assert (row["name"], row["active"]) == ("Ada Lovelace", False)
    assert not await bus.dead_letters(session)


async def test_departments_are_created_updated_and_deleted(group, bus, session):
    people = tables(group[0])
    created = events.department_created(manager_id=uuid.uuid4())
    first = await bus.publish(created, subject=str(created.department_id))
    row = await department(session, people, created.department_id)
    assert (row["name"], row["manager_id"]) == (created.name, created.manager_id)

    manager = uuid.uuid4()
    await bus.publish(
        events.department_updated(
            created.department_id,
            changes=events.changes(name=(created.name, "Motor"), manager_id=(str(created.manager_id), str(manager))),
        ),
        subject=str(created.department_id),
    )
    row = await department(session, people, created.department_id)
    assert (row["name"], row["manager_id"]) == ("Motor", manager)

    deleted = events.department_deleted(created.department_id)
    await bus.publish(deleted, subject=str(created.department_id))
    assert await department(session, people, created.department_id) is None
    await bus.redeliver(first)  # a redelivered creation does not bring it back
    assert await department(session, people, created.department_id) is None


async def test_an_update_of_someone_never_seen_changes_nothing_and_fails_nothing(group, bus, session):
    people = tables(group[0])
    stranger = uuid.uuid4()
    await bus.publish(events.user_updated(stranger), subject=str(stranger))
    await bus.publish(events.department_updated(stranger), subject=str(stranger))
    assert await user(session, people, stranger) is None and not await bus.dead_letters(session)
