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
