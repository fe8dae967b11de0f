"""The clients consumer group on TestKafkaBroker: contract events kept in the client's contract projection,
from which the client's status follows (and is announced when it moves). People events: tests/shared."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from services.clients.models import Client, ClientContract
from tests import events
from tests.bus import consumer_bus, consumer_of, handles
from tests.clients.support import a_client


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("clients", consumer_of("clients", "clients"), sessionmaker) as bus:
        yield bus


@pytest.fixture
async def client(session) -> Client:
    return await a_client(session)


async def state(session, client: Client) -> tuple[str, int]:
    await session.refresh(client)
    return client.status, client.active_contracts


async def projected(session, contract_id: uuid.UUID) -> ClientContract | None:
    return await session.scalar(
        select(ClientContract)
        .where(ClientContract.contract_id == contract_id)
        .execution_options(populate_existing=True)
    )


async def status_announcements(bus, session, client: Client) -> list[tuple[str, str]]:
    outbox = bus.tables.outbox
    rows = (
        await session.execute(
            select(outbox.c.payload)
            .where(outbox.c.key == str(client.id), outbox.c.event_type == "clients.client.status_changed")
            .order_by(outbox.c.id)
        )
    ).scalars()
    return [(p["changes"]["status"]["before"], p["changes"]["status"]["after"]) for p in map(json.loads, rows)]


@handles("clients", "contracts.contract.created", "contracts.contract.issued")
async def test_a_contract_not_yet_in_force_is_projected_and_leaves_a_prospect(bus, session, client):
    created = events.contract_created(client_id=client.id)
    envelope = await bus.publish(created, subject=str(created.contract_id))
    assert (await projected(session, created.contract_id)).status == "pending_issuance"
    issued = events.contract_issued(client_id=client.id, contract_id=created.contract_id)
    await bus.publish(issued, subject=str(created.contract_id))
    row = await projected(session, created.contract_id)
    assert (row.status, row.held) == ("issued", False)
    await bus.redeliver(envelope)  # no step back to pending
    assert (await projected(session, created.contract_id)).status == "issued"
    assert await state(session, client) == ("prospect", 0)
    assert await status_announcements(bus, session, client) == []


@handles("clients", "contracts.contract.activated")
async def test_an_activated_contract_makes_the_client_active_once(bus, session, client):
    activated = events.contract_activated(client_id=client.id)
    envelope = await bus.publish(activated, subject=str(activated.contract_id))
    assert await state(session, client) == ("active", 1)
    assert (await projected(session, activated.contract_id)).held
    await bus.redeliver(envelope)
    assert await state(session, client) == ("active", 1)
    assert await status_announcements(bus, session, client) == [("prospect", "active")]


@handles("clients", "contracts.contract.expired")
async def test_the_last_active_contract_expiring_makes_the_client_inactive(bus, session, client):
    activated = events.contract_activated(client_id=client.id)
    await bus.publish(activated, subject=str(activated.contract_id))
    expired = events.contract_expired(client_id=client.id, contract_id=activated.contract_id)
    envelope = await bus.publish(expired, subject=str(activated.contract_id))
    assert await state(session, client) == ("inactive", 0)
    await bus.redeliver(envelope)
    assert await status_announcements(bus, session, client) == [("prospect", "active"), ("active", "inactive")]


@handles("clients", "contracts.contract.cancelled")
async def test_a_cancelled_contract_leaves_a_prospect_if_never_in_force_else_an_inactive_client(bus, session, client):
    never_held = events.contract_cancelled(client_id=client.id, changes=events.changes(status=("issued", "cancelled")))
    envelope = await bus.publish(never_held, subject=str(never_held.contract_id))
    assert await state(session, client) == ("prospect", 0)
    await bus.redeliver(envelope)

    activated = events.contract_activated(client_id=client.id)
    await bus.publish(activated, subject=str(activated.contract_id))
    await bus.publish(
        events.contract_cancelled(client_id=client.id, contract_id=activated.contract_id),
        subject=str(activated.contract_id),
    )
    assert await state(session, client) == ("inactive", 0)
    assert (await projected(session, activated.contract_id)).status == "cancelled"


async def test_a_contract_event_of_an_unknown_client_is_kept_and_changes_no_client(bus, session):
    created = events.contract_created()
    await bus.publish(created, subject=str(created.contract_id))
    assert (await projected(session, created.contract_id)).client_id == created.client_id
    assert not await bus.dead_letters(session)


@handles("clients", "contracts.contract.endorsed")
async def test_an_endorsement_changes_the_premium_the_roll_ups_count(bus, session, client):
    activated = events.contract_activated(client_id=client.id)
    await bus.publish(activated, subject=str(activated.contract_id))
    endorsed = events.contract_endorsed(client_id=client.id, contract_id=activated.contract_id)
    await bus.publish(endorsed, subject=str(activated.contract_id))
    row = await projected(session, activated.contract_id)
    assert (row.status, str(row.premium)) == ("active", "1500.00")
    assert await state(session, client) == ("active", 1)


@handles("clients", "contracts.contract.reinstated")
async def test_a_reinstated_contract_is_held_again_and_the_client_active(bus, session, client):
    activated = events.contract_activated(client_id=client.id)
    await bus.publish(activated, subject=str(activated.contract_id))
    cancelled = events.contract_cancelled(client_id=client.id, contract_id=activated.contract_id)
    await bus.publish(cancelled, subject=str(activated.contract_id))
    assert await state(session, client) == ("inactive", 0)
    reinstated = events.contract_reinstated(client_id=client.id, contract_id=activated.contract_id)
    await bus.publish(reinstated, subject=str(activated.contract_id))
    assert (await projected(session, activated.contract_id)).status == "active"
    assert await state(session, client) == ("active", 1)
    assert await status_announcements(bus, session, client) == [
        ("prospect", "active"),
        ("active", "inactive"),
        ("inactive", "active"),
    ]
