"""The clients service and data-subject rights: `privacy.subject.erased` pseudonymises a client person (and the
user replica), once; an erased client refuses its personal fields; its part of a subject's export."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import insert, select

from services.clients import service
from services.clients.models import ImportJob, ImportRow, people
from services.clients.privacy import collect
from services.clients.schemas import ClientUpdate
from shared.auth import Principal
from shared.contracts.privacy import ERASED
from shared.errors import Conflict, NotFound
from shared.privacy.rights import erased_email
from tests import events
from tests.bus import consumer_bus, consumer_of, handles
from tests.clients.support import a_client

ADMIN = Principal(uuid.uuid4(), "Admin", None, "A", "a@example.com")


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("clients", consumer_of("clients", "clients"), sessionmaker) as bus:
        yield bus


async def a_person(session):
    return await a_client(
        session,
        kind="individual",
        name="Eleni Papadopoulou",
        tax_id="123456789",
        country="GR",
        email="eleni@example.com",
        phone="+30 210 123 4567",
        phone_digits="302101234567",
        address="Odos 1, Athens",
    )


@handles("clients", "privacy.subject.erased")
async def test_an_erased_client_person_reads_erased_once_and_refuses_personal_fields(bus, session):
    client = await a_person(session)
    job = ImportJob(kind="clients", filename="x.csv", created_by=uuid.uuid4())
    session.add(job)
    await session.flush()
    session.add(
        ImportRow(
            job_id=job.id,
            row_number=1,
            external_id="e1",
            action="create",
            values={"name": "Eleni"},
            record_id=client.id,
        )
    )
    await session.flush()

    envelope = await bus.publish(events.subject_erased(client.id), subject=str(client.id))
    await session.refresh(client)
    assert (client.name, client.tax_id, client.email, client.phone, client.phone_digits, client.address) == (
        ERASED,
        None,
        None,
        None,
        None,
        None,
    )
    erased_at = client.erased_at
    assert erased_at is not None
    row = await session.scalar(select(ImportRow).where(ImportRow.record_id == client.id))
    await session.refresh(row)
    assert row.values == {}
    # Nothing published: the privacy event is the one fact every consumer reads.
    assert not (await session.execute(select(bus.tables.outbox))).all()

    await bus.redeliver(envelope)
    await bus.publish(events.subject_erased(client.id), subject=str(client.id))  # a second erasure
    await session.refresh(client)
    assert client.erased_at == erased_at

    with pytest.raises(Conflict) as refused:
        await service.update_client(session, client.id, ClientUpdate(name="Eleni P.", email="e@example.com"), ADMIN)
    assert {e["field"] for e in refused.value.errors} == {"body.name", "body.email"}
    # What is not personal may still change.
    await service.update_client(session, client.id, ClientUpdate(country="CY"), ADMIN)


async def test_a_client_kept_by_law_is_left_and_other_clients_untouched(bus, session):
    client, other = await a_person(session), await a_client(session)
    await bus.publish(events.subject_erased(client.id, kept=[events.kept("client", client.id)]), subject=str(client.id))
    await bus.publish(events.subject_erased(uuid.uuid4()), subject="unknown")
    for row in (client, other):
        await session.refresh(row)
        assert row.erased_at is None and row.name != ERASED
    assert not await bus.dead_letters(session)


async def test_an_erased_user_is_pseudonymised_in_the_replica(bus, session):
    user = events.user_created(name="Nikos Employee")
    await bus.publish(user, subject=str(user.user_id))
    await bus.publish(events.subject_erased(user.user_id, "user"), subject=str(user.user_id))
    row = (await session.execute(select(people.users).where(people.users.c.id == user.user_id))).one()
    assert (row.name, row.email) == (ERASED, erased_email(user.user_id))


async def test_the_export_part_holds_the_profile_hierarchy_and_contracts(session):
    parent = await a_client(session, name="Holding SA")
    client = await a_person(session)
    client.parent_id = parent.id
    await session.flush()
    part = await collect(session, "client", client.id)
    assert part["profile"][0]["tax_id"] == "123456789" and part["profile"][0]["name"] == "Eleni Papadopoulou"
    assert part["hierarchy"] == [{"relation": "parent", "id": str(parent.id), "name": "Holding SA"}]
    assert part["contracts"] == [] and part["import_rows"] == []
    with pytest.raises(NotFound):
        await collect(session, "client", uuid.uuid4())
    await session.execute(
        insert(people.users).values(id=ADMIN.user_id, name="A", email="a@example.com", role="Admin", active=True)
    )
    assert (await collect(session, "user", ADMIN.user_id))["known_users"][0]["name"] == "A"


async def test_a_user_event_still_on_its_way_brings_no_name_or_email_back(bus, session):
    user = events.user_created(name="Nikos Employee")
    await bus.publish(events.subject_erased(user.user_id, "user"), subject=str(user.user_id))
    await bus.publish(user, subject=str(user.user_id))  # its creation, late
    renamed = events.user_updated(user.user_id, changes=events.changes(name=("Nikos Employee", "Nikos E.")))
    await bus.publish(renamed, subject=str(user.user_id))
    row = (await session.execute(select(people.users).where(people.users.c.id == user.user_id))).one()
    assert (row.name, row.email, row.role) == (ERASED, erased_email(user.user_id), user.role)
