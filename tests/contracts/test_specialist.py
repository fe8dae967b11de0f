"""Who may be named a contract's specialist (issue 12: any id was accepted, and a deactivated user then got the
contract's notifications and write access): an active Employee or Manager from the identity replica, of the
caller's department unless the Admin names them; anything else a 422 naming `body.specialist_id`."""

from __future__ import annotations

import uuid

import pytest

from services.contracts.models import people
from services.contracts.service import _specialist
from shared.auth import Principal
from shared.errors import InvalidInput

SALES, TECH = uuid.uuid4(), uuid.uuid4()


def caller(role: str, department_id: uuid.UUID | None) -> Principal:
    return Principal(user_id=uuid.uuid4(), role=role, department_id=department_id, name=role, email="x@example.com")


async def a_user(session, *, role: str = "Employee", department_id: uuid.UUID | None = SALES, active: bool = True):
    user_id = uuid.uuid4()
    await session.execute(
        people.users.insert().values(
            id=user_id,
            name="Eleni",
            email=f"{user_id.hex}@example.com",
            role=role,
            department_id=department_id,
            active=active,
        )
    )
    return user_id


@pytest.mark.parametrize("role", ["Employee", "Manager"])
async def test_an_active_colleague_may_be_named(session, role):
    await _specialist(session, await a_user(session, role=role), caller("Manager", SALES), 0)
    await _specialist(session, await a_user(session, role=role, department_id=TECH), caller("Admin", None), 0)


@pytest.mark.parametrize(
    ("user", "by", "message"),
    [
        (None, ("Manager", SALES), "no user"),
        (dict(active=False), ("Manager", SALES), "this user is deactivated"),
        (dict(active=False), ("Admin", None), "this user is deactivated"),
        (dict(role="Admin", department_id=None), ("Admin", None), "not an Admin"),
        (dict(department_id=TECH), ("Manager", SALES), "not a member of your department"),
        (dict(department_id=None), ("Manager", SALES), "not a member of your department"),
    ],
)
async def test_anyone_else_is_refused_naming_the_field(session, user, by, message):
    user_id = uuid.uuid4() if user is None else await a_user(session, **user)
    with pytest.raises(InvalidInput) as refused:
        await _specialist(session, user_id, caller(*by), 0)
    [error] = refused.value.errors
    assert error["field"] == "body.specialist_id" and message in error["message"], error
