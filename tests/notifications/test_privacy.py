"""Notifications and data-subject rights: `privacy.subject.erased` rewrites the notifications (and their emails)
made from events about an erased client, once; an erased employee's inbox goes; the export part."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from services.notifications.models import EmailDelivery, Notification, NotificationPreference, people
from services.notifications.privacy import collect
from shared.contracts.privacy import ERASED
from shared.privacy.rights import erased_email
from tests import events
from tests.bus import consumer_bus, consumer_of, handles


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("notifications", consumer_of("notifications", "notifications"), sessionmaker) as bus:
        yield bus


async def inbox(session, recipient_id) -> list[Notification]:
    rows = await session.scalars(
        select(Notification)
        .where(Notification.recipient_id == recipient_id)
        .order_by(Notification.seq)
        .execution_options(populate_existing=True)
    )
    return list(rows)


@handles("notifications", "privacy.subject.erased")
async def test_the_notifications_about_an_erased_client_read_erased_once(bus, session):
    person, client_id, other_client = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await session.execute(
        people.users.insert().values(id=person, name="Ana", email="ana@example.com", role="Employee", active=True)
    )
    session.add(NotificationPreference(user_id=person, kind="deal_opened", channels=["in_app", "email"]))
    await session.flush()
    await bus.publish(
        events.opportunity_opened(owner_id=person, client_id=client_id, title="Home cover for Eleni"), subject="d1"
    )
    await bus.publish(events.opportunity_opened(owner_id=person, client_id=other_client), subject="d2")
    about, other = await inbox(session, person)
    assert about.client_id == client_id and about.title == "New deal: Home cover for Eleni"

    envelope = await bus.publish(events.subject_erased(client_id), subject=str(client_id))
    about, other = await inbox(session, person)
    assert (about.title, about.body) == ("New deal: erased", ERASED)
    assert other.title == "New deal: Fleet cover"
    email = await session.scalar(select(EmailDelivery).where(EmailDelivery.notification_id == about.id))
    await session.refresh(email)
    assert (email.subject, email.body) == ("New deal: erased", ERASED)

    await bus.redeliver(envelope)
    await bus.publish(events.subject_erased(client_id), subject=str(client_id))
    assert [n.title for n in await inbox(session, person)] == ["New deal: erased", "New deal: Fleet cover"]
    assert not await bus.dead_letters(session)


async def test_an_erased_employees_inbox_goes_and_the_replica_is_pseudonymised(bus, session):
    person, colleague = uuid.uuid4(), uuid.uuid4()
    await session.execute(
        people.users.insert().values(id=person, name="Nikos", email="n@example.com", role="Employee", active=True)
    )
    await bus.publish(events.task_created(assignee_id=person), subject="t1")
    await bus.publish(events.task_created(assignee_id=colleague), subject="t2")
    assert len(await collect(session, "user", person)) == 3
    await bus.publish(events.subject_erased(person, "user"), subject=str(person))
    assert await inbox(session, person) == [] and len(await inbox(session, colleague)) == 1
    row = (await session.execute(select(people.users).where(people.users.c.id == person))).one()
    assert (row.name, row.email) == (ERASED, erased_email(person))
    count = await session.scalar(select(func.count()).select_from(Notification))
    assert count == 1


async def test_the_export_part_holds_the_notifications_about_the_client(bus, session):
    client_id = uuid.uuid4()
    await bus.publish(events.opportunity_opened(owner_id=uuid.uuid4(), client_id=client_id), subject="d1")
    part = await collect(session, "client", client_id)
    assert [n["title"] for n in part["notifications"]] == ["New deal: Fleet cover"]


async def test_an_event_about_an_erased_client_still_on_its_way_makes_an_erased_notification(bus, session):
    person, client_id = uuid.uuid4(), uuid.uuid4()
    await bus.publish(events.subject_erased(client_id), subject=str(client_id))
    await bus.publish(
        events.opportunity_opened(owner_id=person, client_id=client_id, title="Home cover for Eleni"), subject="d1"
    )
    [late] = await inbox(session, person)
    assert (late.title, late.body, late.client_id) == ("New deal: erased", ERASED, client_id)
