"""Every query of the tasks service."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Select, and_, bindparam, case, func, select, text, update
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks.access import visible_where
from services.tasks.models import (
    ACTIVE_STATUSES,
    AssigneeStats,
    Deal,
    KnownClient,
    StaleReminder,
    Task,
    TaskComment,
    WorkCalendarRow,
    assignment_sequence,
    people,
)
from services.tasks.routing_guard import DealPosition
from services.tasks.schemas import Priority
from shared.auth import Principal
from shared.errors import InvalidInput
from shared.pagination import PageParams, page_total
from shared.privacy.rights import unless_erased

users, departments = people.users, people.departments


# Tasks ------------------------------------------------------------------------------------------
async def get_task(session: AsyncSession, task_id: uuid.UUID, *, for_update: bool = False) -> Task | None:
    stmt = select(Task).where(Task.id == task_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


# At-risk work first: active red, yellow, green, then closed work; then the nearest deadline.
RISK_RANK = case(
    (Task.status.notin_(ACTIVE_STATUSES), 3),
    (Task.sla_state == "red", 0),
    (Task.sla_state == "yellow", 1),
    else_=2,
)
PRIORITY_RANK = case({"urgent": 4, "high": 3, "normal": 2, "low": 1}, value=Task.priority, else_=0)
SORTS = {
    "risk": (RISK_RANK, Task.due_at),
    "due_at": (Task.due_at,),
    "created_at": (Task.created_at,),
    "updated_at": (Task.updated_at,),
    "priority": (PRIORITY_RANK,),
    "number": (Task.number,),
}


def _order(stmt: Select, sort: str | None) -> Select:
    sort = sort or "risk"
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name not in SORTS:
        raise InvalidInput.for_field("query.sort", f"cannot sort by {name!r}; choose one of {', '.join(sorted(SORTS))}")
    columns = [_ordered(c, descending) for c in SORTS[name]]
    return stmt.order_by(*columns, Task.number.desc() if descending else Task.number.asc())


def _ordered(column: Any, descending: bool) -> Any:
    """`column` ascending or descending, NULLs last. A column that is never NULL is ordered without saying so: the
    order is the same, and an index on it can then give it (a btree read backwards gives DESC NULLS FIRST, so
    `number DESC NULLS LAST` was sorted from the whole department's tasks for each page)."""
    if not getattr(getattr(column, "expression", column), "nullable", True):
        return column.desc() if descending else column.asc()
    return column.desc().nulls_last() if descending else column.asc().nulls_last()


@dataclass
class TaskFilters:
    assignee: uuid.UUID | None = None
    unassigned: bool = False
    department_id: uuid.UUID | None = None
    statuses: Sequence[str] | None = None
    priorities: Sequence[str] | None = None
    stage_key: str | None = None
    sla_states: Sequence[str] | None = None
    opportunity_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    contract_id: uuid.UUID | None = None
    escalated: bool | None = None
    active: bool | None = None


async def list_tasks(
    session: AsyncSession, caller: Principal, filters: TaskFilters, page: PageParams
) -> tuple[list[Task], int]:
    stmt = select(Task)
    # Everything in the caller's own department is visible to them: asked for that department, the rule (an OR
    # with "assigned to me") is implied, and left in it kept the planner from reading a page off the department's
    # index (it sorted all the department's tasks for each page).
    if filters.department_id is None or filters.department_id != caller.department_id:
        stmt = stmt.where(visible_where(caller))
    if filters.unassigned:
        stmt = stmt.where(Task.assignee_id.is_(None))
    elif filters.assignee is not None:
        stmt = stmt.where(Task.assignee_id == filters.assignee)
    if filters.department_id is not None:
        stmt = stmt.where(Task.department_id == filters.department_id)
    if filters.statuses:
        stmt = stmt.where(Task.status.in_(filters.statuses))
    if filters.active is not None:
        stmt = stmt.where(Task.status.in_(ACTIVE_STATUSES) if filters.active else Task.status.notin_(ACTIVE_STATUSES))
    if filters.priorities:
        stmt = stmt.where(Task.priority.in_(filters.priorities))
    if filters.stage_key:
        stmt = stmt.where(Task.stage_key == filters.stage_key)
    if filters.sla_states:
        stmt = stmt.where(Task.sla_state.in_(filters.sla_states))
    if filters.opportunity_id is not None:
        stmt = stmt.where(Task.opportunity_id == filters.opportunity_id)
    if filters.contract_id is not None:
        stmt = stmt.where(Task.contract_id == filters.contract_id)
    if filters.client_id is not None:
        stmt = stmt.where(Task.client_id == filters.client_id)
    if filters.escalated is not None:
        stmt = stmt.where(Task.escalated_at.isnot(None) if filters.escalated else Task.escalated_at.is_(None))
    paged = _order(stmt, page.sort).limit(page.limit).offset(page.offset)
    rows = list((await session.execute(paged)).scalars())
    return rows, await page_total(session, stmt, found=len(rows), limit=page.limit, offset=page.offset)


# Routing reads these for every batch of events: built once, with parameters (saves CPU per batch).
_OPEN_TASKS_OF_DEALS = (
    select(Task)
    .where(Task.opportunity_id.in_(bindparam("deals", expanding=True)), Task.status.in_(ACTIVE_STATUSES))
    .order_by(Task.number)
    .with_for_update()
)


async def active_tasks_of_deals(session: AsyncSession, opportunity_ids: list[uuid.UUID]) -> list[Task]:
    """The open tasks (automatic and manual) of these deals, locked for the transaction."""
    return list((await session.execute(_OPEN_TASKS_OF_DEALS, {"deals": opportunity_ids})).scalars())


# Comments ---------------------------------------------------------------------------------------
async def list_comments(session: AsyncSession, task_id: uuid.UUID, page: PageParams) -> tuple[list[TaskComment], int]:
    order = TaskComment.created_at.desc() if page.sort == "-created_at" else TaskComment.created_at.asc()
    if page.sort not in (None, "created_at", "-created_at"):
        raise InvalidInput.for_field("query.sort", "comments sort by created_at or -created_at")
    stmt = select(TaskComment).where(TaskComment.task_id == task_id)
    paged = stmt.order_by(order, TaskComment.id).limit(page.limit).offset(page.offset)
    rows = list((await session.execute(paged)).scalars())
    return rows, await page_total(session, stmt, found=len(rows), limit=page.limit, offset=page.offset)


# Routing ----------------------------------------------------------------------------------------
def department_lock_key(department_id: uuid.UUID) -> int:
    digest = hashlib.sha256(f"tasks:route:{department_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


_LOCK = select(func.pg_advisory_xact_lock(bindparam("key", type_=BigInteger)))


async def lock_department_for_routing(session: AsyncSession, department_id: uuid.UUID) -> None:
    """Serialise routings into one department until the transaction ends: loads are read under it."""
    await session.execute(_LOCK, {"key": department_lock_key(department_id)})


@dataclass
class Member:
    user_id: uuid.UUID
    name: str
    role: str
    open_tasks: int
    load: int
    last_assigned_at: datetime | None
    last_assignment_seq: int | None


def _weight(weights: Mapping[Priority, int]):
    return case(weights, value=Task.priority, else_=0)


async def member_loads(
    session: AsyncSession, department_id: uuid.UUID, weights: Mapping[Priority, int]
) -> list[Member]:
    """Each active member of the department with their open tasks, weighted load and last assignment."""
    return (await _members(session, department_id, weights))[1]


async def department_members(
    session: AsyncSession, department_id: uuid.UUID, weights: Mapping[Priority, int]
) -> tuple[str, list[Member]]:
    """The department's name and its active members' loads (one round trip when it has members)."""
    name, members = await _members(session, department_id, weights)
    return (name if members else await department_name(session, department_id)), members


def _members_statement(weights: Mapping[Priority, int]) -> Select:
    department_id = bindparam("department_id", type_=PgUUID(as_uuid=True))
    loads = (
        select(
            Task.assignee_id.label("user_id"),
            func.count().label("open_tasks"),
            func.sum(_weight(weights)).label("load"),
        )
        .where(
            Task.status.in_(ACTIVE_STATUSES),
            Task.assignee_id.in_(
                select(users.c.id).where(users.c.department_id == department_id, users.c.active.is_(True))
            ),
        )
        .group_by(Task.assignee_id)
        .subquery()
    )
    department = select(departments.c.name).where(departments.c.id == department_id).scalar_subquery()
    return (
        select(
            users.c.id,
            users.c.name,
            users.c.role,
            func.coalesce(loads.c.open_tasks, 0),
            func.coalesce(loads.c.load, 0),
            AssigneeStats.last_assigned_at,
            AssigneeStats.last_assignment_seq,
            department,
        )
        .select_from(
            users.outerjoin(loads, loads.c.user_id == users.c.id).outerjoin(
                AssigneeStats, AssigneeStats.user_id == users.c.id
            )
        )
        .where(users.c.department_id == department_id, users.c.active.is_(True))
    )


_MEMBERS_STATEMENTS: dict[tuple, Select] = {}


async def _members(session: AsyncSession, department_id: uuid.UUID, weights: Mapping[Priority, int]):
    key = tuple(sorted(weights.items()))
    if key not in _MEMBERS_STATEMENTS:
        _MEMBERS_STATEMENTS[key] = _members_statement(weights)
    rows = (await session.execute(_MEMBERS_STATEMENTS[key], {"department_id": department_id})).all()
    name = (rows[0][7] if rows else None) or f"department {department_id}"
    return name, [Member(r[0], r[1], r[2], int(r[3]), int(r[4]), r[5], r[6]) for r in rows]


# Fixed text with the rows as arrays: one statement whatever their number, compiled once (a multi-row VALUES
# upsert is compiled anew on every call: SQLAlchemy cannot cache it). `WITH ORDINALITY` and the ORDER BY in the
# subquery make each row take its number of the sequence in assignment order.
_RECORD_ASSIGNMENTS = text(
    f"INSERT INTO {AssigneeStats.__tablename__} (user_id, last_assigned_at, last_assignment_seq) "
    f"SELECT user_id, at, nextval('{assignment_sequence.name}') FROM ("
    "SELECT user_id, at FROM unnest(CAST(:users AS uuid[]), CAST(:ats AS timestamptz[])) "
    "WITH ORDINALITY AS a(user_id, at, n) ORDER BY n) AS ordered "
    "ON CONFLICT (user_id) DO UPDATE SET last_assigned_at = excluded.last_assigned_at, "
    "last_assignment_seq = excluded.last_assignment_seq"
)


async def record_assignments(session: AsyncSession, assignments: list[tuple[uuid.UUID, datetime]]) -> None:
    """Note who was assigned when, oldest first: each takes the next number of the assignment sequence."""
    latest: dict[uuid.UUID, datetime] = {}
    for user_id, at in assignments:  # one row per person: their last assignment, in assignment order
        latest.pop(user_id, None)
        latest[user_id] = at
    if not latest:
        return
    await session.execute(_RECORD_ASSIGNMENTS, {"users": list(latest), "ats": list(latest.values())})


async def unassigned_open_count(session: AsyncSession, department_id: uuid.UUID) -> int:
    return (
        await session.execute(
            select(func.count()).where(
                Task.department_id == department_id, Task.assignee_id.is_(None), Task.status.in_(ACTIVE_STATUSES)
            )
        )
    ).scalar_one()


# People (the identity replica) ------------------------------------------------------------------
async def get_department(session: AsyncSession, department_id: uuid.UUID):
    return (await session.execute(select(departments).where(departments.c.id == department_id))).first()


async def get_known_client(session: AsyncSession, client_id: uuid.UUID) -> KnownClient | None:
    return await session.get(KnownClient, client_id, populate_existing=True)


async def upsert_known_client(
    session: AsyncSession, client_id: uuid.UUID, department_id: uuid.UUID | None, *, name: str | None = None
) -> None:
    values: dict[str, Any] = {"department_id": department_id, "updated_at": func.now()}
    if name is not None:
        values["name"] = name
    insert = pg_insert(KnownClient).values(id=client_id, **values)
    changes = dict(values)
    if "name" in changes:  # an erased client's name stays "erased"
        changes["name"] = unless_erased(KnownClient.name, insert.excluded.name)
    await session.execute(insert.on_conflict_do_update(index_elements=["id"], set_=changes))


async def rename_known_client(session: AsyncSession, client_id: uuid.UUID, name: str) -> None:
    await session.execute(
        update(KnownClient)
        .where(KnownClient.id == client_id)
        .values(name=unless_erased(KnownClient.name, name), updated_at=func.now())
    )


@dataclass(frozen=True)
class DealLinks:
    """What tasks knows of a deal from the automatic tasks routing opened for it: its client, and whether one of
    them was the caller's department's or the caller's own."""

    client_id: uuid.UUID | None
    worked_by_caller: bool


async def deal_links(session: AsyncSession, opportunity_id: uuid.UUID, caller: Principal) -> DealLinks | None:
    """None for a deal no automatic task names (routing opens one as the deal opens)."""
    rows = (
        await session.execute(
            select(Task.client_id, visible_where(caller)).where(
                Task.opportunity_id == opportunity_id, Task.origin == "auto"
            )
        )
    ).all()
    if not rows:
        return None
    client_id = next((row[0] for row in rows if row[0] is not None), None)
    return DealLinks(client_id, any(bool(row[1]) for row in rows))


async def get_user(session: AsyncSession, user_id: uuid.UUID):
    return (await session.execute(select(users).where(users.c.id == user_id))).first()


async def department_name(session: AsyncSession, department_id: uuid.UUID) -> str:
    department = await get_department(session, department_id)
    return department.name if department is not None else f"department {department_id}"


# Deals ------------------------------------------------------------------------------------------
_DEAL_POSITIONS = (
    select(Deal.opportunity_id, Deal.stage_key, Deal.status, Deal.version)
    .where(Deal.opportunity_id.in_(bindparam("deals", expanding=True)))
    .order_by(Deal.opportunity_id)
    .with_for_update()
)


async def deal_positions(session: AsyncSession, opportunity_ids: list[uuid.UUID]) -> dict[uuid.UUID, DealPosition]:
    """Where routing knows these deals to be (the ones it has heard of), locked for the transaction."""
    rows = await session.execute(_DEAL_POSITIONS, {"deals": opportunity_ids})
    return {r.opportunity_id: DealPosition(r.stage_key, r.status, r.version) for r in rows}


_SAVE_DEAL_POSITIONS = text(
    f"INSERT INTO {Deal.__tablename__} (opportunity_id, stage_key, status, version) "
    "SELECT * FROM unnest(CAST(:deals AS uuid[]), CAST(:stages AS varchar[]), CAST(:statuses AS varchar[]), "
    "CAST(:versions AS bigint[])) "
    "ON CONFLICT (opportunity_id) DO UPDATE SET stage_key = excluded.stage_key, status = excluded.status, "
    "version = excluded.version, updated_at = now()"
)


async def save_deal_positions(session: AsyncSession, positions: dict[uuid.UUID, DealPosition]) -> None:
    """Insert or replace the positions of these deals, in one statement (fixed text, rows as arrays)."""
    if not positions:
        return
    ordered = sorted(positions.items())
    await session.execute(
        _SAVE_DEAL_POSITIONS,
        {
            "deals": [k for k, _ in ordered],
            "stages": [p.stage_key for _, p in ordered],
            "statuses": [p.status for _, p in ordered],
            "versions": [p.version for _, p in ordered],
        },
    )


# Watches ----------------------------------------------------------------------------------------
def sla_state_sql(now: datetime):
    return case(
        (and_(Task.due_at.isnot(None), Task.due_at < now), "red"),
        (and_(Task.yellow_at.isnot(None), Task.yellow_at <= now), "yellow"),
        else_="green",
    )


async def tasks_whose_sla_state_changed(session: AsyncSession, now: datetime, limit: int) -> list[tuple[Task, str]]:
    state = sla_state_sql(now).label("new_state")
    stmt = (
        select(Task, state)
        .where(Task.status.in_(ACTIVE_STATUSES), state != Task.sla_state)
        .order_by(Task.due_at.asc().nulls_last(), Task.number)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def tasks_gone_stale(session: AsyncSession, now: datetime, limit: int) -> list[Task]:
    stmt = (
        select(Task)
        .where(Task.status.in_(ACTIVE_STATUSES), Task.next_stale_at <= now)
        .order_by(Task.next_stale_at, Task.number)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list((await session.execute(stmt)).scalars())


async def claim_stale_reminder(
    session: AsyncSession, task_id: uuid.UUID, idle_since: datetime, period: int, idle_hours: float, now: datetime
) -> bool:
    """True if this (task, idle spell, period) had no reminder yet; the key makes it once even across replicas."""
    inserted = await session.execute(
        pg_insert(StaleReminder)
        .values(task_id=task_id, idle_since=idle_since, period=period, idle_working_hours=idle_hours, created_at=now)
        .on_conflict_do_nothing()
        .returning(StaleReminder.period)
    )
    return inserted.first() is not None


# Calendar ---------------------------------------------------------------------------------------
async def get_calendar_row(session: AsyncSession) -> WorkCalendarRow | None:
    return await session.get(WorkCalendarRow, 1)


async def save_calendar_row(session: AsyncSession, definition: dict, at: datetime, by: str | None) -> None:
    values = {"definition": definition, "updated_at": at, "updated_by": by}
    await session.execute(
        pg_insert(WorkCalendarRow).values(id=1, **values).on_conflict_do_update(index_elements=["id"], set_=values)
    )
