"""The tasks service's rules: opening, routing, changing and closing tasks; the calendar; workload.

Functions flush but never commit (the request or the handled event owns the transaction) and every
change writes its event to the outbox in that same transaction.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import repository as repo
from services.tasks.models import ACTIVE_STATUSES, CLOSED_STATUSES, Task, TaskComment, messaging
from services.tasks.schemas import (
    CalendarIn,
    MemberLoad,
    Reassignment,
    TaskCreate,
    TaskUpdate,
    WorkloadOut,
)
from services.tasks.settings import TasksSettings
from shared import clock
from shared.auth import Principal
from shared.context import Actor
from shared.contracts import FieldChange
from shared.contracts.tasks import (
    CalendarUpdated,
    TaskCommented,
    TaskCreated,
    TaskReassigned,
    TaskUpdated,
)
from shared.errors import Conflict, Forbidden, InvalidInput, NotFound
from shared.messaging.outbox import Outbox
from shared.workcalendar import DEFAULT_CALENDAR, Calendar, CalendarError

outbox = Outbox("tasks", messaging.outbox)


def _json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def actor_of(user: Principal) -> Actor:
    return Actor("user", str(user.user_id))


# Calendar ---------------------------------------------------------------------------------------
_CALENDAR_CACHE_KEY = "tasks.calendar"


class _CalendarCache:
    """The calendar this process read last: routing needs it for every batch, and it rarely changes. A change
    made through this process is seen at once; one made through another replica within `max_age` seconds."""

    def __init__(self) -> None:
        self.max_age = 5.0
        self.calendar: Calendar | None = None
        self.read_at = 0.0

    def get(self) -> Calendar | None:
        fresh = self.calendar is not None and time.monotonic() - self.read_at < self.max_age
        return self.calendar if fresh else None

    def put(self, calendar: Calendar) -> None:
        self.calendar, self.read_at = calendar, time.monotonic()


calendar_cache = _CalendarCache()


async def load_calendar(session: AsyncSession, *, fresh: bool = False) -> Calendar:
    """The calendar in force (read at most once per transaction, and per `max_age` in this process)."""
    cached = session.info.get(_CALENDAR_CACHE_KEY)
    if cached is not None and not fresh:
        return cached
    calendar = None if fresh else calendar_cache.get()
    if calendar is None:
        row = await repo.get_calendar_row(session)
        calendar = Calendar.from_dict(row.definition) if row is not None else DEFAULT_CALENDAR
        calendar_cache.put(calendar)
    session.info[_CALENDAR_CACHE_KEY] = calendar
    return calendar


async def calendar_view(session: AsyncSession) -> dict:
    row = await repo.get_calendar_row(session)
    calendar = Calendar.from_dict(row.definition) if row is not None else DEFAULT_CALENDAR
    return {**calendar.to_dict(), "updated_at": row.updated_at if row else None,
            "updated_by": row.updated_by if row else None}


async def replace_calendar(session: AsyncSession, body: CalendarIn, actor: Actor) -> dict:
    try:
        calendar = Calendar.from_dict(body.model_dump(mode="json"))
    except CalendarError as exc:
        raise InvalidInput.for_field(f"body.{exc.field}", exc.message) from exc
    before = (await load_calendar(session, fresh=True)).to_dict()
    after = calendar.to_dict()
    changes = {k: FieldChange(before=before[k], after=after[k]) for k in after if before[k] != after[k]}
    await repo.save_calendar_row(session, after, clock.now(), str(actor))
    session.info[_CALENDAR_CACHE_KEY] = calendar
    calendar_cache.put(calendar)  # (if the transaction failed, the cache would be wrong for max_age at most)
    if changes:
        await outbox.add(session, CalendarUpdated(changes=changes), subject="calendar", actor=actor)
    return await calendar_view(session)


# SLA --------------------------------------------------------------------------------------------
def sla_state_at(now: datetime, yellow_at: datetime | None, due_at: datetime | None) -> str:
    """Red past due, yellow once the at-risk share of the window is used, else green (as the watch's SQL)."""
    if due_at is not None and now > due_at:
        return "red"
    if yellow_at is not None and now >= yellow_at:
        return "yellow"
    return "green"


def _set_sla_window(task: Task, calendar: Calendar, settings: TasksSettings, *, started_at: datetime,
                    hours: float | None, due_at: datetime | None) -> None:
    """Give the task an SLA window of `hours` working hours from `started_at` (or up to `due_at`)."""
    task.sla_started_at = started_at
    if hours is None and due_at is not None:
        # A deadline at or before the window's start leaves no working time (and nothing to count).
        try:
            hours = calendar.working_hours_between(started_at, due_at) if due_at > started_at else 0.0
        except CalendarError as exc:
            raise InvalidInput.for_field("body.due_at", f"no working time can be counted up to it: {exc}") from exc
    elif hours is not None:
        due_at = calendar.add_working_hours(started_at, hours)
    task.due_at = due_at
    task.sla_hours = hours
    task.yellow_at = (calendar.add_working_hours(started_at, hours * settings.sla_yellow_share)
                      if hours is not None else None)


def _touch(task: Task, now: datetime, calendar: Calendar, settings: TasksSettings) -> None:
    """Activity (status change, comment, reassignment) restarts the stale clock."""
    task.last_activity_at = now
    task.updated_at = now
    task.stale_period = 0
    task.next_stale_at = (calendar.add_working_hours(now, settings.stale_hours_for(task.stage_key))
                          if task.status in ACTIVE_STATUSES else None)


# Routing ----------------------------------------------------------------------------------------
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


def _note_assignment(session: AsyncSession, settings: TasksSettings, user_id: uuid.UUID, priority: str,
                     at: datetime) -> None:
    memory = _memory(session)
    memory.assigned.append((user_id, at))
    member = memory.members.get(user_id)
    if member is not None:
        member.open_tasks += 1
        member.load += settings.priority_weights[priority]
        member.last_assigned_at, member.order = at, _IN_THIS_TRANSACTION + len(memory.assigned)


def _count_load(session: AsyncSession, settings: TasksSettings, user_id: uuid.UUID | None, priority: str,
                sign: int) -> None:
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


async def route_to_least_loaded_member(session: AsyncSession, department_id: uuid.UUID,
                                       settings: TasksSettings) -> Assignment:
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
        return Assignment(chosen.user_id,
                          f"least loaded in {department}: load {chosen.load} vs next {runner_up.load}")
    tied = sum(1 for m in ranked if m.load == chosen.load) - 1
    if chosen.order == -1 and runner_up.order == -1:
        how = "none of them assigned before, so the lowest user id"
    else:
        how = f"tie broken by least recently assigned (last assigned {_describe(chosen)} vs {_describe(runner_up)})"
    return Assignment(chosen.user_id, f"least loaded in {department}: load {chosen.load}, tied with {tied} "
                                      f"other{'s' * (tied != 1)}; {how}")


async def open_task(session: AsyncSession, settings: TasksSettings, *, title: str, description: str | None,
                    origin: str, opportunity_id: uuid.UUID | None, client_id: uuid.UUID | None,
                    stage_key: str | None, department_id: uuid.UUID | None, assignment: Assignment,
                    priority: str, sla_started_at: datetime, sla_hours: float | None = None,
                    due_at: datetime | None = None, actor: Actor | None = None) -> Task:
    """Add a task, note the assignment, and publish `tasks.task.created` (written by `write_pending`)."""
    now = clock.now()
    calendar = await load_calendar(session)
    task = Task(id=uuid.uuid4(), title=title, description=description, origin=origin, opportunity_id=opportunity_id,
                client_id=client_id, stage_key=stage_key, department_id=department_id,
                assignee_id=assignment.assignee_id, assignment_reason=assignment.reason, priority=priority,
                status="open", created_by=str(actor) if actor else None, created_at=now, updated_at=now,
                stale_period=0, comments_count=0, escalated_at=None, escalated_to=None, closed_at=None)
    _set_sla_window(task, calendar, settings, started_at=sla_started_at, hours=sla_hours, due_at=due_at)
    task.sla_state = sla_state_at(now, task.yellow_at, task.due_at)
    _touch(task, now, calendar, settings)
    session.add(task)
    if assignment.assignee_id is not None:
        _note_assignment(session, settings, assignment.assignee_id, priority, now)
    await outbox.add(session, TaskCreated(
        task_id=task.id, title=task.title, description=task.description, origin=task.origin, client_id=task.client_id,
        opportunity_id=task.opportunity_id, stage_key=task.stage_key, department_id=task.department_id,
        assignee_id=task.assignee_id, assignment_reason=task.assignment_reason, priority=task.priority,
        status=task.status, due_at=task.due_at, sla_state=task.sla_state), subject=str(task.id), actor=actor)
    return task


async def close_task(session: AsyncSession, settings: TasksSettings, task: Task, status: str) -> None:
    """Mark an active task done or cancelled (routing, a decision, or a person)."""
    await _change(session, settings, task, {"status": status})


# Changes ----------------------------------------------------------------------------------------
async def _change(session: AsyncSession, settings: TasksSettings, task: Task, fields: dict[str, Any],
                  actor: Actor | None = None) -> dict[str, FieldChange]:
    now = clock.now()
    calendar = await load_calendar(session)
    changes = {k: FieldChange(before=_json(getattr(task, k)), after=_json(v))
               for k, v in fields.items() if getattr(task, k) != v}
    if not changes:
        return changes
    if task.status in ACTIVE_STATUSES:
        _count_load(session, settings, task.assignee_id, task.priority, -1)
    for key, value in fields.items():
        setattr(task, key, value)
    if task.status in ACTIVE_STATUSES:
        _count_load(session, settings, task.assignee_id, task.priority, +1)
    task.updated_at = now
    if "due_at" in changes:
        _set_sla_window(task, calendar, settings, started_at=task.sla_started_at, hours=None, due_at=task.due_at)
    if "status" in changes:
        task.closed_at = now if task.status in CLOSED_STATUSES else None
        _touch(task, now, calendar, settings)
    if task.status in ACTIVE_STATUSES and ("due_at" in changes or "status" in changes):
        # The SLA watch moves states on the clock; a changed deadline or a reopening is judged at once.
        new_state = sla_state_at(now, task.yellow_at, task.due_at)
        if new_state != task.sla_state:
            changes["sla_state"] = FieldChange(before=task.sla_state, after=new_state)
            task.sla_state = new_state
    await outbox.add(session, TaskUpdated(task_id=task.id, client_id=task.client_id,
                                          opportunity_id=task.opportunity_id, assignee_id=task.assignee_id,
                                          changes=changes), subject=str(task.id), actor=actor)
    return changes


async def _active_member(session: AsyncSession, user_id: uuid.UUID, department_id: uuid.UUID | None,
                         field: str):
    user = await repo.get_user(session, user_id)
    if user is None:
        raise InvalidInput.for_field(field, f"no user {user_id}")
    if not user.active:
        raise InvalidInput.for_field(field, "this user is deactivated")
    if department_id is not None and user.department_id != department_id:
        raise InvalidInput.for_field(field, "not a member of the task's department")
    return user


async def create_manual_task(session: AsyncSession, settings: TasksSettings, caller: Principal,
                             body: TaskCreate) -> Task:
    department_id = body.department_id or caller.department_id
    if department_id is None:
        raise InvalidInput.for_field("body.department_id", "required: you belong to no department")
    if caller.role == "Employee" and department_id != caller.department_id:
        raise Forbidden("Employees open tickets in their own department only")
    if await repo.get_department(session, department_id) is None:
        raise InvalidInput.for_field("body.department_id", f"no department {department_id}")
    if body.assignee_id is not None:
        user = await _active_member(session, body.assignee_id, department_id, "body.assignee_id")
        assignment = Assignment(user.id, f"chosen by {caller.name or caller.user_id} when opening the ticket")
    else:
        assignment = await route_to_least_loaded_member(session, department_id, settings)
    task = await open_task(session, settings, title=body.title, description=body.description, origin="manual",
                           opportunity_id=body.opportunity_id, client_id=body.client_id, stage_key=body.stage_key,
                           department_id=department_id, assignment=assignment, priority=body.priority,
                           sla_started_at=clock.now(), due_at=body.due_at, actor=actor_of(caller))
    await write_pending(session)
    return task


async def visible_task(session: AsyncSession, caller: Principal, task_id: uuid.UUID, *,
                       for_update: bool = False) -> Task:
    task = await repo.get_task(session, task_id, for_update=for_update)
    if task is None or not repo.can_see(caller, task):
        raise NotFound(f"no task {task_id}")
    return task


async def update_task(session: AsyncSession, settings: TasksSettings, caller: Principal, task_id: uuid.UUID,
                      body: TaskUpdate) -> Task:
    task = await visible_task(session, caller, task_id, for_update=True)
    fields = body.model_dump(exclude_unset=True)
    for required in ("title", "status", "priority"):
        if required in fields and fields[required] is None:
            raise InvalidInput.for_field(f"body.{required}", "may not be null")
    if "due_at" in fields and caller.role == "Employee":
        raise Forbidden("only Managers and Admins move deadlines")
    if task.status in CLOSED_STATUSES and fields != {"status": "open"}:
        raise Conflict(f"the task is {task.status}; reopen it (status open) before changing anything else")
    await _change(session, settings, task, fields, actor=actor_of(caller))
    await write_pending(session)
    return task


async def reassign_task(session: AsyncSession, settings: TasksSettings, caller: Principal, task_id: uuid.UUID,
                        body: Reassignment) -> Task:
    task = await visible_task(session, caller, task_id, for_update=True)
    if not (caller.is_admin or (caller.role == "Manager" and task.department_id is not None
                                and task.department_id == caller.department_id)):
        raise Forbidden("only the department's Manager or an Admin reassigns a task")
    if task.status in CLOSED_STATUSES:
        raise Conflict(f"the task is {task.status}")
    user = await _active_member(session, body.assignee_id, task.department_id, "body.assignee_id")
    if user.id == task.assignee_id:
        return task
    now = clock.now()
    calendar = await load_calendar(session)
    before = task.assignee_id
    reason = f"reassigned by {caller.name or caller.user_id}" + (f": {body.note}" if body.note else "")
    _count_load(session, settings, task.assignee_id, task.priority, -1)
    task.assignee_id, task.assignment_reason = user.id, reason
    _note_assignment(session, settings, user.id, task.priority, now)
    _touch(task, now, calendar, settings)
    await outbox.add(session, TaskReassigned(
        task_id=task.id, client_id=task.client_id, opportunity_id=task.opportunity_id, department_id=task.department_id,
        assignee_id=task.assignee_id, changes={"assignee_id": FieldChange(before=_json(before), after=str(user.id))},
        assignment_reason=reason), subject=str(task.id), actor=actor_of(caller))
    await write_pending(session)
    return task


async def add_comment(session: AsyncSession, settings: TasksSettings, caller: Principal, task_id: uuid.UUID,
                      body: str) -> TaskComment:
    task = await visible_task(session, caller, task_id, for_update=True)
    now = clock.now()
    comment = TaskComment(id=uuid.uuid4(), task_id=task.id, author_id=caller.user_id, body=body, created_at=now)
    session.add(comment)
    task.comments_count += 1
    _touch(task, now, await load_calendar(session), settings)
    await outbox.add(session, TaskCommented(task_id=task.id, client_id=task.client_id,
                                            opportunity_id=task.opportunity_id, comment_id=comment.id,
                                            author_id=caller.user_id, body=body),
                     subject=str(task.id), actor=actor_of(caller))
    return comment


# Workload ---------------------------------------------------------------------------------------
async def workload(session: AsyncSession, settings: TasksSettings, caller: Principal,
                   department_id: uuid.UUID | None) -> WorkloadOut:
    if caller.role == "Employee":
        raise Forbidden("the workload view is for Managers and Admins")
    department_id = department_id or caller.department_id
    if department_id is None:
        raise InvalidInput.for_field("query.department_id", "required")
    if not caller.is_admin and department_id != caller.department_id:
        raise Forbidden("Managers see the workload of their own department")
    department = await repo.get_department(session, department_id)
    if department is None:
        raise NotFound(f"no department {department_id}")
    members = await repo.member_loads(session, department_id, settings.priority_weights)
    members.sort(key=lambda m: (-m.load, m.name, m.user_id))
    return WorkloadOut(
        department_id=department.id, department_name=department.name, manager_id=department.manager_id,
        overload_threshold=settings.overload_threshold, priority_weights=dict(settings.priority_weights),
        unassigned_open=await repo.unassigned_open_count(session, department_id),
        members=[MemberLoad(user_id=m.user_id, name=m.name, role=m.role, open_tasks=m.open_tasks,
                            weighted_load=m.load, overloaded=m.load > settings.overload_threshold,
                            last_assigned_at=m.last_assigned_at) for m in members],
    )
