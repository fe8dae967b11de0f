"""Identity and data-subject rights: `privacy.subject.erased` of a user pseudonymises and deactivates the account
(announced as a deactivation, with no personal field), once; a login is refused; the export part."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from services.identity import service
from services.identity.models import User
from services.identity.passwords import PasswordPolicy
from services.identity.privacy import collect
from services.identity.schemas import UserCreate
from services.identity.throttle import LoginThrottle
from shared.contracts.privacy import ERASED
from shared.errors import NotFound, Unauthorized
from shared.privacy.rights import erased_email
from tests import events
from tests.bus import consumer_bus, consumer_of, handles

pytestmark = pytest.mark.usefixtures("acting")
POLICY = PasswordPolicy(min_length=10, min_strength=3)
PASSWORD = "plum-orchard-lantern"


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("identity", consumer_of("identity", "identity"), sessionmaker) as bus:
        yield bus


async def a_user(session) -> User:
    return await service.create_user(
        session,
        UserCreate(
            name="Nikos Employee", email=f"n-{uuid.uuid4().hex[:8]}@example.com", password=PASSWORD, role="Employee"
        ),
        passwords=POLICY,
    )


async def announced(bus, session, user: User) -> list[dict]:
    outbox = bus.tables.outbox
    rows = await session.execute(
        select(outbox.c.event_type, outbox.c.payload).where(outbox.c.key == str(user.id)).order_by(outbox.c.id)
    )
    return [(t, json.loads(p)) for t, p in rows]


@handles("identity", "privacy.subject.erased")
async def test_an_erased_user_is_pseudonymised_deactivated_and_announced_once(bus, session):
    user = await a_user(session)
    email = user.email
    envelope = await bus.publish(events.subject_erased(user.id, "user"), subject=str(user.id))
    await session.refresh(user)
    assert (user.name, user.email, user.active) == (ERASED, erased_email(user.id), False)
    with pytest.raises(Unauthorized):
        await service.authenticate(session, email, PASSWORD, LoginThrottle(free=100, base=1, ceiling=1))
    deactivated = [(t, p) for t, p in await announced(bus, session, user) if t == "identity.user.deactivated"]
    assert [p["changes"] for _, p in deactivated] == [{"active": {"before": True, "after": False}}]

    await bus.redeliver(envelope)
    await bus.publish(events.subject_erased(user.id, "user"), subject=str(user.id))
    assert len([t for t, _ in await announced(bus, session, user) if t == "identity.user.deactivated"]) == 1
    # A client subject is nothing to identity.
    await bus.publish(events.subject_erased(uuid.uuid4()), subject="c")
    assert not await bus.dead_letters(session)


async def test_the_export_part_holds_the_account_without_secrets(session):
    user = await a_user(session)
    part = await collect(session, "user", user.id)
    assert part["account"][0]["name"] == "Nikos Employee" and "password_hash" not in part["account"][0]
    with pytest.raises(NotFound):
        await collect(session, "user", uuid.uuid4())
    assert await collect(session, "client", uuid.uuid4()) == {}
