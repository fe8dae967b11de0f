"""Folding identity's user events into the set of deactivated users, and hearing them from the people replica."""

import asyncio

import pytest

from shared.revocation import apply_user_event


def test_deactivation_and_reactivation_follow_the_latest_event():
    inactive: set[str] = set()
    apply_user_event(inactive, "identity.user.created", {"user_id": "u1", "active": True})
    assert inactive == set()
    apply_user_event(
        inactive,
        "identity.user.deactivated",
        {"user_id": "u1", "changes": {"active": {"before": True, "after": False}}},
    )
    assert inactive == {"u1"}
    apply_user_event(
        inactive, "identity.user.updated", {"user_id": "u1", "changes": {"name": {"before": "a", "after": "b"}}}
    )
    assert inactive == {"u1"}
    apply_user_event(
        inactive, "identity.user.updated", {"user_id": "u1", "changes": {"active": {"before": False, "after": True}}}
    )
    assert inactive == set()


def test_created_inactive_and_deactivated_without_changes():
    inactive: set[str] = set()
    apply_user_event(inactive, "identity.user.created", {"user_id": "u2", "active": False})
    apply_user_event(inactive, "identity.user.deactivated", {"user_id": "u3"})
    apply_user_event(inactive, "identity.user.updated", {"changes": {"active": {"after": False}}})
    assert inactive == {"u2", "u3"}


# The people replica's channel, on the fast tests' PostgreSQL (committed: NOTIFY is delivered on commit only) ------


@pytest.mark.service("clients")
async def test_a_service_keeping_the_people_replica_hears_each_committed_change_of_active(pg, pg_engines):
    """`ProjectedDeactivations` reads the inactive users when its listener connects, then follows what the
    replica's handlers announce as their transactions commit; a rolled-back change is never heard."""
    from sqlalchemy import delete
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from services.clients.models import people
    from services.clients.settings import ClientsSettings
    from shared.contracts.identity import UserCreated, UserDeactivated, UserUpdated
    from shared.projections.identity import people_handlers
    from shared.revocation import ProjectedDeactivations
    from tests.events import user_created

    engine = pg_engines("clients")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    handlers = people_handlers(people)
    already_inactive, leaver = user_created(active=False), user_created(active=True)

    async def apply(event_type: str, data, *, commit: bool = True) -> None:
        async with sessions() as session:
            await handlers[event_type](session, None, data)
            await (session.commit() if commit else session.rollback())

    await apply(UserCreated.event_type, already_inactive)
    await apply(UserCreated.event_type, leaver)
    settings = ClientsSettings(database_url=pg.database_url("clients"))
    deactivations = ProjectedDeactivations(settings, sessions, people, "clients.people")
    listening = asyncio.create_task(deactivations._listener.run())
    try:
        await asyncio.wait_for(deactivations.loaded.wait(), 10)
        assert deactivations.is_deactivated(already_inactive.user_id)
        assert not deactivations.is_deactivated(leaver.user_id)

        deactivated = UserDeactivated(user_id=leaver.user_id, changes={"active": {"before": True, "after": False}})
        await apply(UserDeactivated.event_type, deactivated, commit=False)
        await asyncio.sleep(0.3)
        assert not deactivations.is_deactivated(leaver.user_id)  # rolled back: nothing was said
        await apply(UserDeactivated.event_type, deactivated)
        await until(lambda: deactivations.is_deactivated(leaver.user_id))

        back = UserUpdated(user_id=leaver.user_id, changes={"active": {"before": False, "after": True}})
        await apply(UserUpdated.event_type, back)
        await until(lambda: not deactivations.is_deactivated(leaver.user_id))
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        async with sessions() as session, session.begin():
            await session.execute(
                delete(people.users).where(people.users.c.id.in_([already_inactive.user_id, leaver.user_id]))
            )


async def until(check, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "not heard in time"
        await asyncio.sleep(0.02)


# Revocations: a role, department or password change ends the tokens issued before it ------------------------


def test_role_department_and_password_changes_revoke_the_tokens_issued_before():
    from shared.revocation import apply_revocation

    revoked: dict[str, float] = {}
    apply_revocation(revoked, "identity.user.updated", {"user_id": "u1", "changes": {"name": {"after": "N"}}}, 10.0)
    assert revoked == {}  # a new name keeps the tokens
    apply_revocation(revoked, "identity.user.updated", {"user_id": "u1", "changes": {"role": {"after": "Admin"}}}, 10)
    apply_revocation(revoked, "identity.user.updated", {"user_id": "u2", "changes": {}, "password_changed": True}, 20)
    apply_revocation(
        revoked, "identity.user.updated", {"user_id": "u3", "changes": {"department_id": {"after": None}}}, 30
    )
    apply_revocation(revoked, "identity.user.updated", {"user_id": "u1", "changes": {"role": {}}}, 5)  # older
    assert revoked == {"u1": 10, "u2": 20, "u3": 30}


async def test_the_verifier_refuses_a_token_issued_before_its_users_revocation():
    import time as wall
    import uuid

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    from services.identity.keys import KeyRing, _kid
    from shared.auth import TokenVerifier
    from shared.errors import Unauthorized

    private = ec.generate_private_key(ec.SECP256R1())
    ring = KeyRing(_kid(private.public_key()), private, {_kid(private.public_key()): private.public_key()})
    revoked: dict[str, float] = {}
    verifier = TokenVerifier(
        issuer="i", audience="a", keys=ring, revoked_before=lambda user_id: revoked.get(str(user_id))
    )
    user_id = str(uuid.uuid4())
    now = wall.time()

    def token(iat: float) -> str:
        claims = {"iss": "i", "aud": "a", "sub": user_id, "iat": iat, "exp": now + 300, "role": "Employee"}
        return jwt.encode(claims, private, algorithm="ES256", headers={"kid": ring.kid})

    old, new = token(round(now - 0.4, 3)), token(round(now + 0.2, 3))
    await verifier.verify(old)  # cached as verified from here on
    revoked[user_id] = now  # the change, within the same second as both tokens
    with pytest.raises(Unauthorized, match="revoked"):
        await verifier.verify(old)
    assert str((await verifier.verify(new)).user_id) == user_id


@pytest.mark.service("clients")
async def test_a_replica_keeps_and_announces_when_a_users_tokens_were_revoked(pg, pg_engines):
    from datetime import UTC, datetime
    from types import SimpleNamespace

    from sqlalchemy import delete
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from services.clients.models import people
    from services.clients.settings import ClientsSettings
    from shared.contracts.identity import UserCreated, UserUpdated
    from shared.projections.identity import people_handlers
    from shared.revocation import ProjectedDeactivations
    from tests.events import user_created

    engine = pg_engines("clients")
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    handlers = people_handlers(people)
    mover = user_created(active=True)

    async def apply(event_type: str, data, at: datetime | None = None) -> None:
        async with sessions() as session:
            await handlers[event_type](session, SimpleNamespace(time=at), data)
            await session.commit()

    await apply(UserCreated.event_type, mover)
    settings = ClientsSettings(database_url=pg.database_url("clients"))
    first = ProjectedDeactivations(settings, sessions, people, "clients.people")
    listening = asyncio.create_task(first._listener.run())
    try:
        await asyncio.wait_for(first.loaded.wait(), 10)
        assert first.revoked_before(mover.user_id) is None
        at = datetime(2026, 12, 7, 3, 0, 0, 250000, tzinfo=UTC)
        promoted = UserUpdated(user_id=mover.user_id, changes={"role": {"before": "Employee", "after": "Manager"}})
        await apply(UserUpdated.event_type, promoted, at)
        await until(lambda: first.revoked_before(mover.user_id) == at.timestamp())
        # A process started later reads it from the replica.
        later = ProjectedDeactivations(settings, sessions, people, "clients.people")
        await later._load()
        assert later.revoked_before(mover.user_id) == at.timestamp()
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
        async with sessions() as session, session.begin():
            await session.execute(delete(people.users).where(people.users.c.id == mover.user_id))
