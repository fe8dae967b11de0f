"""Tasks and data-subject rights: `privacy.subject.erased` makes the client's tasks show "erased" as its name and
takes the name out of their titles, descriptions and comments, once; a kept task is left; the export part."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.tasks.models import Task, TaskComment, people
from services.tasks.privacy import collect
from services.tasks.schemas import TaskOut
from services.tasks.subscriptions import CLIENTS_CONSUMER
from shared.contracts.privacy import ERASED
from shared.privacy.rights import erased_email
from tests import events
from tests.bus import consumer_bus, consumer_of, handles


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("tasks", consumer_of("tasks", CLIENTS_CONSUMER), sessionmaker) as bus:
        yield bus


async def a_task(session, client_id: uuid.UUID) -> Task:
    now = datetime.now(UTC)
    task = Task(
        title="Call Eleni Papadopoulou about the quote",
        description="Eleni Papadopoulou prefers mornings",
        origin="manual",
        client_id=client_id,
        priority="normal",
        status="open",
        sla_started_at=now,
        last_activity_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    await session.flush()
    session.add(
        TaskComment(task_id=task.id, author_id=uuid.uuid4(), body="Spoke to ELENI PAPADOPOULOU", created_at=now)
    )
    await session.flush()
    return task


async def task_out(session, task_id) -> TaskOut:
    task = await session.scalar(select(Task).where(Task.id == task_id).execution_options(populate_existing=True))
    return TaskOut.model_validate(task)


async def comment_of(session, task_id) -> str:
    comment = await session.scalar(select(TaskComment).where(TaskComment.task_id == task_id))
    await session.refresh(comment)
    return comment.body


@handles(CLIENTS_CONSUMER, "privacy.subject.erased")
async def test_an_erased_client_reads_erased_on_their_tasks_once(bus, session):
    client = events.client_created(kind="individual", name="Eleni Papadopoulou")
    await bus.publish(client, subject=str(client.client_id))
    task, kept = await a_task(session, client.client_id), await a_task(session, client.client_id)
    assert (await task_out(session, task.id)).client_name == "Eleni Papadopoulou"

    erasure = events.subject_erased(client.client_id, kept=[events.kept("task", kept.id)])
    envelope = await bus.publish(erasure, subject=str(client.client_id))
    out = await task_out(session, task.id)
    assert (out.client_name, out.title, out.description) == (
        ERASED,
        "Call erased about the quote",
        "erased prefers mornings",
    )
    assert await comment_of(session, task.id) == "Spoke to erased"
    assert (await task_out(session, kept.id)).title == "Call Eleni Papadopoulou about the quote"

    await bus.redeliver(envelope)
    await bus.publish(events.subject_erased(client.client_id), subject=str(client.client_id))
    assert (await task_out(session, kept.id)).title == "Call Eleni Papadopoulou about the quote"
    assert await comment_of(session, kept.id) == "Spoke to ELENI PAPADOPOULOU"
    assert not await bus.dead_letters(session)


async def test_an_erased_user_is_pseudonymised_in_the_replica(bus, session):
    user_id = uuid.uuid4()
    await session.execute(
        people.users.insert().values(id=user_id, name="Nikos", email="n@example.com", role="Employee", active=True)
    )
    await bus.publish(events.subject_erased(user_id, "user"), subject=str(user_id))
    row = (await session.execute(select(people.users).where(people.users.c.id == user_id))).one()
    assert (row.name, row.email) == (ERASED, erased_email(user_id))


async def test_the_export_part_holds_the_tasks_and_comments(bus, session):
    client = events.client_created(kind="individual", name="Eleni Papadopoulou")
    await bus.publish(client, subject=str(client.client_id))
    task = await a_task(session, client.client_id)
    part = await collect(session, "client", client.client_id)
    assert [t["id"] for t in part["tasks"]] == [str(task.id)]
    assert part["comments"][0]["body"] == "Spoke to ELENI PAPADOPOULOU"


async def test_a_client_event_still_on_its_way_brings_no_name_back(bus, session):
    from services.tasks.models import KnownClient

    late = events.client_created(kind="individual", name="Eleni Papadopoulou")
    await bus.publish(events.subject_erased(late.client_id), subject=str(late.client_id))  # before its creation
    await bus.publish(late, subject=str(late.client_id))
    known = await session.get(KnownClient, late.client_id, populate_existing=True)
    assert (known.name, known.department_id) == (ERASED, late.department_id)
    renamed = events.client_updated(late.client_id, changes=events.changes(name=("Eleni Papadopoulou", "Eleni P.")))
    await bus.publish(renamed, subject=str(late.client_id))
    assert (await session.get(KnownClient, late.client_id, populate_existing=True)).name == ERASED
