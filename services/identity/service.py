"""Identity's business rules. Functions flush but never commit; every change writes its event to the outbox."""

from __future__ import annotations

import asyncio
import uuid

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import repository as repo
from services.identity import sessions
from services.identity.models import Department, User, messaging
from services.identity.passwords import PasswordPolicy
from services.identity.schemas import DepartmentCreate, DepartmentUpdate, UserCreate, UserUpdate
from services.identity.throttle import LoginThrottle
from shared import clock, context
from shared.context import Actor
from shared.contracts import field_changes
from shared.contracts.identity import (
    DepartmentCreated,
    DepartmentDeleted,
    DepartmentUpdated,
    UserCreated,
    UserDeactivated,
    UserUpdated,
)
from shared.errors import Conflict, InputErrors, InvalidInput, NotFound, Unauthorized
from shared.messaging.outbox import Outbox

outbox = Outbox("identity", messaging.outbox)
# argon2id at OWASP's recommended floor (19 MiB, 2 passes, 1 lane): a login costs 19 MiB for a
# moment instead of argon2-cffi's default 64 MiB, which kept identity's peak memory over its budget.
# Hashes carry their parameters, so older hashes still verify.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verifying against this keeps a login for an unknown email as slow as one with a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _password_matches(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


# Authentication ---------------------------------------------------------------------------------
# One answer for every refused login: an unknown email, a wrong password and a deactivated account (whatever
# the password) are alike, so the answer confirms neither an account nor its password.
LOGIN_REFUSED = "incorrect email or password, or the account is deactivated"


async def authenticate(session: AsyncSession, email: str, password: str, throttle: LoginThrottle) -> User:
    """The active user with this email and password; else 401, or 429 while the account is closed after
    failed logins (`throttle`: the password is then not checked at all)."""
    throttle.check(email)
    # FOR SHARE: a login waits for a change of the user being committed (`update_user` holds the row), so a
    # token is never issued with the old role after the change revoked the older ones (`shared.revocation`).
    user = await repo.get_user_by_email(session, email, for_share=True)
    # The hash is checked in every case (a dummy one for an unknown email), so all refusals take as long.
    matches = await _password_matches(user.password_hash if user is not None else _DUMMY_HASH, password)
    if user is None or not matches or not user.active:
        throttle.failed(email)
        raise Unauthorized(LOGIN_REFUSED)
    throttle.succeeded(email)
    return user


# Departments ------------------------------------------------------------------------------------
async def _check_manager(session: AsyncSession, manager_id: uuid.UUID | None, field: str) -> None:
    if manager_id is None:
        return
    manager = await repo.get_user(session, manager_id)
    if manager is None:
        raise InvalidInput.for_field(field, f"no user {manager_id}")
    if not manager.active or manager.role not in ("Manager", "Admin"):
        raise InvalidInput.for_field(field, "the manager must be an active Manager or Admin")


async def create_department(session: AsyncSession, data: DepartmentCreate) -> Department:
    if await repo.get_department_by_name(session, data.name):
        raise Conflict(
            f"a department named {data.name!r} exists", errors=[{"field": "body.name", "message": "already taken"}]
        )
    await _check_manager(session, data.manager_id, "body.manager_id")
    now = clock.now()
    dept = Department(id=uuid.uuid4(), name=data.name, manager_id=data.manager_id, created_at=now, updated_at=now)
    session.add(dept)
    await session.flush()
    await outbox.add(
        session,
        DepartmentCreated(department_id=dept.id, name=dept.name, manager_id=dept.manager_id),
        subject=str(dept.id),
    )
    return dept


async def update_department(session: AsyncSession, department_id: uuid.UUID, data: DepartmentUpdate) -> Department:
    dept = await repo.get_department(session, department_id, for_update=True)
    if dept is None:
        raise NotFound(f"no department {department_id}")
    fields = data.model_dump(exclude_unset=True)
    if fields.get("name") is None:
        fields.pop("name", None)
    if "name" in fields and fields["name"].lower() != dept.name.lower():
        if await repo.get_department_by_name(session, fields["name"]):
            raise Conflict(
                f"a department named {fields['name']!r} exists",
                errors=[{"field": "body.name", "message": "already taken"}],
            )
    if "manager_id" in fields:
        await _check_manager(session, fields["manager_id"], "body.manager_id")
    before = {k: getattr(dept, k) for k in fields}
    for key, value in fields.items():
        setattr(dept, key, value)
    changes = field_changes(before, fields)
    if changes:
        dept.updated_at = clock.now()
        await session.flush()
        await outbox.add(session, DepartmentUpdated(department_id=dept.id, changes=changes), subject=str(dept.id))
    return dept


async def delete_department(session: AsyncSession, department_id: uuid.UUID) -> None:
    dept = await repo.get_department(session, department_id, for_update=True)
    if dept is None:
        raise NotFound(f"no department {department_id}")
    if await repo.count_users_in_department(session, department_id):
        raise Conflict("the department still has users; move them first")
    await session.delete(dept)
    await session.flush()
    await outbox.add(session, DepartmentDeleted(department_id=dept.id, name=dept.name), subject=str(dept.id))


# Users ------------------------------------------------------------------------------------------
async def _check_department(session: AsyncSession, department_id: uuid.UUID | None, field: str) -> None:
    if department_id is not None and await repo.get_department(session, department_id) is None:
        raise InvalidInput.for_field(field, f"no department {department_id}")


async def create_user(session: AsyncSession, data: UserCreate, *, passwords: PasswordPolicy) -> User:
    problems = InputErrors()  # every field problem in one answer
    with problems.gather():
        await passwords.check(data.password, user_inputs=[data.name, data.email])
    with problems.gather():
        await _check_department(session, data.department_id, "body.department_id")
    problems.raise_if_any()
    if await repo.get_user_by_email(session, data.email):
        raise Conflict(
            f"a user with email {data.email} exists", errors=[{"field": "body.email", "message": "already taken"}]
        )
    now = clock.now()
    user = User(
        id=uuid.uuid4(),
        name=data.name,
        email=data.email,
        password_hash=await hash_password(data.password),
        role=data.role,
        department_id=data.department_id,
        active=data.active,
        created_at=now,
        updated_at=now,
    )
    session.add(user)
    await session.flush()
    await outbox.add(
        session,
        UserCreated(
            user_id=user.id,
            name=user.name,
            email=user.email,
            role=user.role,
            department_id=user.department_id,
            active=user.active,
        ),
        subject=str(user.id),
    )
    return user


async def update_user(
    session: AsyncSession, user_id: uuid.UUID, data: UserUpdate, *, passwords: PasswordPolicy
) -> User:
    user = await repo.get_user(session, user_id, for_update=True)
    if user is None:
        raise NotFound(f"no user {user_id}")
    fields = data.model_dump(exclude_unset=True)
    problems = InputErrors()  # every field problem in one answer
    problems.not_null(fields, "name", "email", "role", "active")
    password = fields.pop("password", None)
    if password is not None:
        with problems.gather():
            name, email = fields.get("name") or user.name, fields.get("email") or user.email
            await passwords.check(password, user_inputs=[name, email])
    if "department_id" in fields:
        with problems.gather():
            await _check_department(session, fields["department_id"], "body.department_id")
    problems.raise_if_any()
    if "email" in fields and fields["email"] != user.email and await repo.get_user_by_email(session, fields["email"]):
        raise Conflict(
            f"a user with email {fields['email']} exists", errors=[{"field": "body.email", "message": "already taken"}]
        )
    if context.current_actor() == Actor("user", str(user.id)):
        if fields.get("active") is False or fields.get("role", user.role) != user.role:
            raise Conflict("you cannot deactivate yourself or change your own role")
    before = {k: getattr(user, k) for k in fields}
    for key, value in fields.items():
        setattr(user, key, value)
    changes = field_changes(before, fields)
    if password is not None:
        user.password_hash = await hash_password(password)
    if not changes and password is None:
        return user
    user.updated_at = clock.now()
    if password is not None or changes.keys() & {"active", "role", "department_id"}:
        # Access rights or credentials changed: the user's login sessions end (they log in again).
        await sessions.end_sessions_of(session, user.id)
    await session.flush()
    event: UserDeactivated | UserUpdated
    if "active" in changes and changes["active"].after is False:
        event = UserDeactivated(user_id=user.id, changes=changes)
    else:
        event = UserUpdated(user_id=user.id, changes=changes, password_changed=password is not None)
    await outbox.add(session, event, subject=str(user.id))
    return user
