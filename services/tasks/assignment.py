"""Who gets a task: the least-loaded active member of a department (the rule, `choose_least_loaded`), and
the routing state one transaction keeps in `session.info` (department locks taken, members' loads, the
assignments it made, recorded by `write_pending`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import repository as repo
from services.tasks.schemas import Priority
from services.tasks.settings import TasksSettings


@dataclass(frozen=True)
class Assignment:
    assignee_id: uuid.UUID | None
    reason: str


@dataclass
class MemberState:
    user_id: uuid.UUID
    open_tasks: int
    load: int
    last_assigned_at: datetime | None
    order: int  # assignment order: -1 never, then the sequence number; assignments of this transaction sort last


class _RoutingMemory:
    """What one transaction knows for routing, read once under each department's lock and then kept current
    by the transaction's own openings and closings (nobody else routes into a locked department until it
    commits); and the assignments it made, written to `assignee_stats` when it ends (`write_pending`)."""

    def __init__(self) -> None:
        self.locked: set[uuid.UUID] = set()  # departments whose routing lock this transaction holds
        self.departments: dict[uuid.UUID, tuple[str, list[uuid.UUID]]] = {}  # name, active member ids
        self.members: dict[uuid.UUID, MemberState] = {}
        self.assigned: list[tuple[uuid.UUID, datetime]] = []


_IN_THIS_TRANSACTION = 1 << 62


def _memory(session: AsyncSession) -> _RoutingMemory:
    return session.info.setdefault("tasks.routing", _RoutingMemory())


def note_assignment(
    session: AsyncSession, settings: TasksSettings, user_id: uuid.UUID, priority: Priority, at: datetime
) -> None:
    memory = _memory(session)
    memory.assigned.append((user_id, at))
    member = memory.members.get(user_id)
    if member is not None:
        member.open_tasks += 1
        member.load += settings.priority_weights[priority]
        member.last_assigned_at, member.order = at, _IN_THIS_TRANSACTION + len(memory.assigned)


def count_load(
    session: AsyncSession, settings: TasksSettings, user_id: uuid.UUID | None, priority: Priority, sign: int
) -> None:
    """A task of `user_id` left (-1) or re-entered (+1) the open work: keep routing's view of loads exact."""
    member = _memory(session).members.get(user_id) if user_id is not None else None
    if member is not None:
        member.open_tasks += sign
        member.load += sign * settings.priority_weights[priority]


async def write_pending(session: AsyncSession) -> None:
    """Flush the transaction's changes and record its assignments; call once, at the end of the unit of work."""
    await session.flush()
    memory = _memory(session)
    await repo.record_assignments(session, memory.assigned)
    memory.assigned.clear()


async def lock_departments(session: AsyncSession, department_ids) -> None:
    """Take the routing locks of these departments (held to the end of the transaction), in one global order,
    so two transactions that each route into several departments cannot deadlock."""
    memory = _memory(session)
    for department_id in sorted(set(department_ids) - memory.locked):
        await repo.lock_department_for_routing(session, department_id)
        memory.locked.add(department_id)


def _describe(member: MemberState) -> str:
    return member.last_assigned_at.isoformat(timespec="seconds") if member.last_assigned_at else "never"


async def route_to_least_loaded_member(
    session: AsyncSession, department_id: uuid.UUID, settings: TasksSettings
) -> Assignment:
    """The active member of the department with the lowest weighted open load; ties go to whoever was
    assigned least recently (never first), then the lowest user id.

    The first routing into a department in a transaction takes the department's advisory lock and only
    then reads the loads, so concurrent routings (other replicas, other batches) see each other's work."""
    memory = _memory(session)
    if department_id not in memory.departments:
        await lock_departments(session, [department_id])
        await session.flush()  # the loads must include this transaction's own changes so far
        name, rows = await repo.department_members(session, department_id, settings.priority_weights)
        pending = {user_id: i + 1 for i, (user_id, _) in enumerate(memory.assigned)}
        for row in rows:
            order = -1 if row.last_assignment_seq is None else row.last_assignment_seq
            last_at = row.last_assigned_at
            if row.user_id in pending:
                order = _IN_THIS_TRANSACTION + pending[row.user_id]
                last_at = max(at for u, at in memory.assigned if u == row.user_id)
            memory.members[row.user_id] = MemberState(row.user_id, row.open_tasks, row.load, last_at, order)
        memory.departments[department_id] = (name, [row.user_id for row in rows])
    name, member_ids = memory.departments[department_id]
    return choose_least_loaded(name, [memory.members[u] for u in member_ids])


def choose_least_loaded(department: str, members: list[MemberState]) -> Assignment:
    """The routing rule: lowest weighted load; ties to the least recently assigned (never first), then the
    lowest user id. The reason says which part of the rule decided."""
    if not members:
        return Assignment(None, f"no active member in {department}: left unassigned in the department")
    ranked = sorted(members, key=lambda m: (m.load, m.order, m.user_id))
    chosen = ranked[0]
    if len(ranked) == 1:
        return Assignment(chosen.user_id, f"the only active member of {department} (load {chosen.load})")
    runner_up = ranked[1]
    if runner_up.load > chosen.load:
        return Assignment(chosen.user_id, f"least loaded in {department}: load {chosen.load} vs next {runner_up.load}")
    tied = sum(1 for m in ranked if m.load == chosen.load) - 1
    if chosen.order == -1 and runner_up.order == -1:
        how = "none of them assigned before, so the lowest user id"
    else:
        how = f"tie broken by least recently assigned (last assigned {_describe(chosen)} vs {_describe(runner_up)})"
    return Assignment(
        chosen.user_id,
        f"least loaded in {department}: load {chosen.load}, tied with {tied} other{'s' * (tied != 1)}; {how}",
    )
