"""A replica of identity's users and departments: who exists, their role and department, whether they
are active, and who manages each department. Fed by `identity.user.events` and
`identity.department.events`.

Use: `people = define_people_tables(Base.metadata)` beside the service's models, create the two tables
in the service's migration (`people_tables_migration_ops`), and add `*people_subscriptions(people)` to a
consumer's handlers in the service's `subscriptions.py`.
Handlers are upserts driven by the event's data, so applying one twice changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Boolean, Column, DateTime, MetaData, String, Table, case, delete, func, select, text
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.identity import (
    DepartmentCreated,
    DepartmentDeleted,
    DepartmentUpdated,
    UserCreated,
    UserDeactivated,
    UserUpdated,
)
from shared.contracts.privacy import ERASED
from shared.messaging.envelope import Envelope
from shared.messaging.subscriptions import On, on


@dataclass(frozen=True)
class PeopleTables:
    users: Table
    departments: Table


# Where the handlers announce a user's `active` (payload `<user id>:<1|0>`) and a revocation of their tokens
# (`<user id>:r:<epoch seconds>`), delivered when their transaction commits: the service's token check listens
# (`shared.revocation.ProjectedDeactivations`), so a process reads identity's events once, and every replica of
# the service hears what its own consumer did not handle.
PEOPLE_CHANNEL = "insureops_people"
# The changes of a user that end their tokens (besides deactivation): what the token says, and the password.
REVOKING_FIELDS = frozenset({"role", "department_id"})


def define_people_tables(metadata: MetaData) -> PeopleTables:
    users = Table(
        "known_users",
        metadata,
        Column("id", PgUUID(as_uuid=True), primary_key=True),
        Column("name", String(200), nullable=False),
        Column("email", String(320), nullable=False),
        Column("role", String(20), nullable=False),
        Column("department_id", PgUUID(as_uuid=True), nullable=True, index=True),
        Column("active", Boolean, nullable=False),
        # When the user's tokens were last revoked (a role, department or password change): older ones are refused.
        Column("tokens_revoked_at", DateTime(timezone=True), nullable=True),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    departments = Table(
        "known_departments",
        metadata,
        Column("id", PgUUID(as_uuid=True), primary_key=True),
        Column("name", String(200), nullable=False),
        Column("manager_id", PgUUID(as_uuid=True), nullable=True),
        Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return PeopleTables(users, departments)


_USER_FIELDS = {"name", "email", "role", "department_id", "active"}
_DEPARTMENT_FIELDS = {"name", "manager_id"}


def _after(changes: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    return {name: change.after for name, change in changes.items() if name in allowed}


def people_handlers(tables: PeopleTables) -> dict[str, Callable[..., Awaitable[None]]]:
    """Handlers keyed by event type, in the `(session, envelope, data)` form the consumer calls."""
    users, departments = tables.users, tables.departments

    def _keep_erased(values: dict[str, Any], new: Any) -> dict[str, Any]:
        """An erased user's name and email (`privacy.subject.erased`, `shared.privacy`) stay as erasure left them: a
        user event still on its way then (another topic, so in no order with it) brings no personal data back."""
        return {
            field: case((users.c.name == ERASED, users.c[field]), else_=new[field])
            for field in ("name", "email")
            if field in values
        }

    async def announce_active(session: AsyncSession, user_id: object, active: bool) -> None:
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": PEOPLE_CHANNEL, "payload": f"{user_id}:{int(active)}"},
        )

    async def user_created(session: AsyncSession, envelope: Envelope, data: UserCreated) -> None:
        values = {
            "name": data.name,
            "email": data.email,
            "role": data.role,
            "department_id": data.department_id,
            "active": data.active,
        }
        insert = pg_insert(users).values(id=data.user_id, **values)
        changes = {**values, **_keep_erased(values, insert.excluded), "updated_at": func.now()}
        await session.execute(insert.on_conflict_do_update(index_elements=["id"], set_=changes))
        await announce_active(session, data.user_id, data.active)

    async def user_changed(session: AsyncSession, envelope: Envelope, data: UserUpdated | UserDeactivated) -> None:
        values = _after(data.changes, _USER_FIELDS)
        if isinstance(data, UserDeactivated):
            values["active"] = False
        if values:
            changes = {**values, **_keep_erased(values, values)}
            await session.execute(
                users.update().where(users.c.id == data.user_id).values(**changes, updated_at=func.now())
            )
        if "active" in values:
            await announce_active(session, data.user_id, bool(values["active"]))
        if isinstance(data, UserUpdated) and (data.password_changed or REVOKING_FIELDS & data.changes.keys()):
            # Tokens issued before the change are refused; the latest revocation wins (a redelivery changes nothing).
            revoked_at = func.greatest(func.coalesce(users.c.tokens_revoked_at, envelope.time), envelope.time)
            await session.execute(users.update().where(users.c.id == data.user_id).values(tokens_revoked_at=revoked_at))
            await session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": PEOPLE_CHANNEL, "payload": f"{data.user_id}:r:{envelope.time.timestamp()}"},
            )

    async def department_created(session: AsyncSession, envelope: Envelope, data: DepartmentCreated) -> None:
        values = {"name": data.name, "manager_id": data.manager_id}
        await session.execute(
            pg_insert(departments)
            .values(id=data.department_id, **values)
            .on_conflict_do_update(index_elements=["id"], set_={**values, "updated_at": func.now()})
        )

    async def department_updated(session: AsyncSession, envelope: Envelope, data: DepartmentUpdated) -> None:
        values = _after(data.changes, _DEPARTMENT_FIELDS)
        if values:
            await session.execute(
                departments.update()
                .where(departments.c.id == data.department_id)
                .values(**values, updated_at=func.now())
            )

    async def department_deleted(session: AsyncSession, envelope: Envelope, data: DepartmentDeleted) -> None:
        await session.execute(delete(departments).where(departments.c.id == data.department_id))

    return {
        sub.event_type: sub.handler
        for sub in (
            on(UserCreated, user_created),
            on(UserUpdated, user_changed),
            on(UserDeactivated, user_changed),
            on(DepartmentCreated, department_created),
            on(DepartmentUpdated, department_updated),
            on(DepartmentDeleted, department_deleted),
        )
    }


def people_subscriptions(tables: PeopleTables) -> tuple[On, ...]:
    """The projection's subscriptions, for a consumer's `handlers` in a service's `subscriptions.py`."""
    handlers = people_handlers(tables)
    return tuple(
        on(contract, handlers[contract.event_type])
        for contract in (
            UserCreated,
            UserUpdated,
            UserDeactivated,
            DepartmentCreated,
            DepartmentUpdated,
            DepartmentDeleted,
        )
    )


async def department_manager(session: AsyncSession, tables: PeopleTables, department_id: uuid.UUID) -> Any | None:
    """The department's manager id, or None."""
    return await session.scalar(select(tables.departments.c.manager_id).where(tables.departments.c.id == department_id))


async def token_revocations(session: AsyncSession, tables: PeopleTables) -> dict[str, float]:
    """When each user's tokens were last revoked (epoch seconds), for the users whose tokens ever were."""
    users = tables.users
    rows = await session.execute(
        select(users.c.id, users.c.tokens_revoked_at).where(users.c.tokens_revoked_at.isnot(None))
    )
    return {str(user_id): revoked_at.timestamp() for user_id, revoked_at in rows}


async def inactive_user_ids(session: AsyncSession, tables: PeopleTables) -> list[Any]:
    """The ids of the users the replica knows inactive."""
    return list(await session.scalars(select(tables.users.c.id).where(tables.users.c.active.is_(False))))
