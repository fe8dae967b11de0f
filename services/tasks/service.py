"""The tasks service's task changes: opening (automatic and manual), changing, reassigning, commenting on and
closing tasks, and the workload view. The calendar lives in calendar.py, SLA arithmetic in sla.py, choosing
the assignee in assignment.py.

Functions flush but never commit (the request or the handled event owns the transaction) and every
change writes its event to the outbox in that same transaction.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import access
from services.tasks import repository as repo
from services.tasks.assignment import (
    Assignment,
    count_load,
    note_assignment,
    route_to_least_loaded_member,
    write_pending,
)
from services.tasks.calendar import load_calendar
from services.tasks.models import ACTIVE_STATUSES, CLOSED_STATUSES, KnownClient, Task, TaskComment, outbox
from services.tasks.schemas import (
    MemberLoad,
    Reassignment,
    TaskCreate,
    TaskUpdate,
    WorkloadOut,
)
from services.tasks.settings import TasksSettings
from services.tasks.sla import restart_stale_clock, set_sla_window, sla_state_at
from shared import clock, context
from shared.auth import Principal
from shared.contracts import FieldChange, json_value
from shared.contracts.clients import ClientCreated, ClientUpdated
from shared.contracts.tasks import (
    TaskCommented,
    TaskCreated,
    TaskReassigned,
    TaskUpdated,
)
from shared.errors import Conflict, Forbidden, InputErrors, InvalidInput, NotFound
from shared.messaging.envelope import Envelope

T = TypeVar("T")


async def open_task(
    session: AsyncSession,
    settings: TasksSettings,
    *,
    title: str,
    description: str | None,
    origin: str,
    opportunity_id: uuid.UUID | None,
    client_id: uuid.UUID | None,
    stage_key: str | None,
    department_id: uuid.UUID | None,
    assignment: Assignment,
    priority: str,
    sla_started_at: datetime,
    sla_hours: float | None = None,
    due_at: datetime | None = None,
    contract_id: uuid.UUID | None = None,
) -> Task:
    """Add a task, note the assignment, and publish `tasks.task.created` (written by `write_pending`). A task
    opened by hand records who opened it (the request's actor); one the platform routed has no creator."""
    now = clock.now()
    created_by = str(context.current_actor()) if origin == "manual" else None
    calendar = await load_calendar(session)
    task = Task(
        id=uuid.uuid4(),
        title=title,
        description=description,
        origin=origin,
        opportunity_id=opportunity_id,
        client_id=client_id,
        contract_id=contract_id,
        stage_key=stage_key,
        department_id=department_id,
        assignee_id=assignment.assignee_id,
        assignment_reason=assignment.reason,
        priority=priority,
        status="open",
        created_by=created_by,
        created_at=now,
        updated_at=now,
        stale_period=0,
        comments_count=0,
        escalated_at=None,
        escalated_to=None,
        closed_at=None,
    )
    set_sla_window(task, calendar, settings, started_at=sla_started_at, hours=sla_hours, due_at=due_at)
    task.sla_state = sla_state_at(now, task.yellow_at, task.due_at)
    restart_stale_clock(task, now, calendar, settings)
    session.add(task)
    if assignment.assignee_id is not None:
        note_assignment(session, settings, assignment.assignee_id, task.priority, now)
    await outbox.add(
        session,
        TaskCreated(
            task_id=task.id,
            title=task.title,
            description=task.description,
            origin=task.origin,
            client_id=task.client_id,
            opportunity_id=task.opportunity_id,
            stage_key=task.stage_key,
            department_id=task.department_id,
            assignee_id=task.assignee_id,
            assignment_reason=task.assignment_reason,
            priority=task.priority,
            status=task.status,
            due_at=task.due_at,
            sla_state=task.sla_state,
            contract_id=task.contract_id,
        ),
        subject=str(task.id),
    )
    return task


async def close_task(session: AsyncSession, settings: TasksSettings, task: Task, status: str) -> None:
    """Mark an active task done or cancelled (routing, a decision, or a person)."""
    await _change(session, settings, task, {"status": status})


# Changes ----------------------------------------------------------------------------------------
async def _change(
    session: AsyncSession, settings: TasksSettings, task: Task, fields: dict[str, Any]
) -> dict[str, FieldChange]:
    now = clock.now()
    calendar = await load_calendar(session)
    changes = {
        k: FieldChange(before=json_value(getattr(task, k)), after=json_value(v))
        for k, v in fields.items()
        if getattr(task, k) != v
    }
    if not changes:
        return changes
    if task.status in ACTIVE_STATUSES:
        count_load(session, settings, task.assignee_id, task.priority, -1)
    for key, value in fields.items():
        setattr(task, key, value)
    if task.status in ACTIVE_STATUSES:
        count_load(session, settings, task.assignee_id, task.priority, +1)
    task.updated_at = now
    if "due_at" in changes:
        set_sla_window(task, calendar, settings, started_at=task.sla_started_at, hours=None, due_at=task.due_at)
    if "status" in changes:
        task.closed_at = now if task.status in CLOSED_STATUSES else None
        restart_stale_clock(task, now, calendar, settings)
    if task.status in ACTIVE_STATUSES and ("due_at" in changes or "status" in changes):
        # The SLA watch moves states on the clock; a changed deadline or a reopening is judged at once.
        new_state = sla_state_at(now, task.yellow_at, task.due_at)
        if new_state != task.sla_state:
            changes["sla_state"] = FieldChange(before=task.sla_state, after=new_state)
            task.sla_state = new_state
    await outbox.add(
        session,
        TaskUpdated(
            task_id=task.id,
            client_id=task.client_id,
            opportunity_id=task.opportunity_id,
            assignee_id=task.assignee_id,
            changes=changes,
        ),
        subject=str(task.id),
    )
    return changes


async def _active_member(session: AsyncSession, user_id: uuid.UUID, department_id: uuid.UUID | None, field: str):
    user = await repo.get_user(session, user_id)
    if user is None:
        raise InvalidInput.for_field(field, f"no user {user_id}")
    if not user.active:
        raise InvalidInput.for_field(field, "this user is deactivated")
    if department_id is not None and user.department_id != department_id:
        raise InvalidInput.for_field(field, "not a member of the task's department")
    return user


# Links -------------------------------------------------------------------------------------------
def _sees_client(caller: Principal, client: KnownClient | None) -> bool:
    """The clients service's rule: the Admin every client, everyone else their department's."""
    return client is not None and (
        caller.is_admin or (caller.department_id is not None and client.department_id == caller.department_id)
    )


async def _waiting(lookup: Callable[[], Awaitable[T | None]], wait_seconds: float) -> T | None:
    """`lookup()`, tried again for a moment while it finds nothing: what was created a moment ago may still be on
    its way here."""
    deadline = time.monotonic() + wait_seconds
    while (found := await lookup()) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    return found


async def _check_links(session: AsyncSession, settings: TasksSettings, caller: Principal, body: TaskCreate) -> None:
    """A ticket links only records its opener may see, answered like unknown ones otherwise (422 naming the
    field): a client of their department (the Admin any), and a deal of such a client or one their department
    works or they were given a task of (what tasks knows of a deal: the automatic tasks routing opened for it);
    with both named, the deal must be the client's. Both links' problems are answered together."""
    problems = InputErrors()
    if body.client_id is not None:
        client_id = body.client_id
        client = await _waiting(lambda: repo.get_known_client(session, client_id), settings.link_wait_seconds)
        if not _sees_client(caller, client):
            problems.add("body.client_id", f"no client {client_id}")
    if body.opportunity_id is not None:
        deal_id = body.opportunity_id
        deal = await _waiting(lambda: repo.deal_links(session, deal_id, caller), settings.link_wait_seconds)
        visible = deal is not None and (
            caller.is_admin
            or deal.worked_by_caller
            or (
                deal.client_id is not None
                and _sees_client(caller, await repo.get_known_client(session, deal.client_id))
            )
        )
        if deal is None or not visible:
            problems.add("body.opportunity_id", f"no deal {deal_id}")
        elif body.client_id is not None and deal.client_id is not None and deal.client_id != body.client_id:
            problems.add("body.opportunity_id", f"not a deal of client {body.client_id}")
    problems.raise_if_any()


async def on_client_created(session: AsyncSession, envelope: Envelope, data: ClientCreated) -> None:
    await repo.upsert_known_client(session, data.client_id, data.department_id, name=data.name)


async def on_client_updated(session: AsyncSession, envelope: Envelope, data: ClientUpdated) -> None:
    change = data.changes.get("department_id")
    if change is not None:
        await repo.upsert_known_client(session, data.client_id, uuid.UUID(str(change.after)) if change.after else None)
    name = data.changes.get("name")
    if name is not None and name.after:
        await repo.rename_known_client(session, data.client_id, str(name.after))


async def create_manual_task(
    session: AsyncSession, settings: TasksSettings, caller: Principal, body: TaskCreate
) -> Task:
    department_id = body.department_id or caller.department_id
    if department_id is None:
        raise InvalidInput.for_field("body.department_id", "required: you belong to no department")
    if caller.role == "Employee" and department_id != caller.department_id:
        raise Forbidden("Employees open tickets in their own department only")
    problems = InputErrors()  # every field problem in one answer
    if await repo.get_department(session, department_id) is None:
        problems.add("body.department_id", f"no department {department_id}")
    with problems.gather():
        await _check_links(session, settings, caller, body)
    if body.assignee_id is not None:
        with problems.gather():
            user = await _active_member(session, body.assignee_id, department_id, "body.assignee_id")
    problems.raise_if_any()
    if body.assignee_id is not None:
        assignment = Assignment(user.id, f"chosen by {caller.name or caller.user_id} when opening the ticket")
    else:
        assignment = await route_to_least_loaded_member(session, department_id, settings)
    task = await open_task(
        session,
        settings,
        title=body.title,
        description=body.description,
        origin="manual",
        opportunity_id=body.opportunity_id,
        client_id=body.client_id,
        stage_key=body.stage_key,
        department_id=department_id,
        assignment=assignment,
        priority=body.priority,
        sla_started_at=clock.now(),
        due_at=body.due_at,
    )
    await write_pending(session)
    return task


async def visible_task(
    session: AsyncSession, caller: Principal, task_id: uuid.UUID, *, for_update: bool = False
) -> Task:
    task = await repo.get_task(session, task_id, for_update=for_update)
    if task is None or not access.can_see(caller, task):
        raise NotFound(f"no task {task_id}")
    return task


async def update_task(
    session: AsyncSession, settings: TasksSettings, caller: Principal, task_id: uuid.UUID, body: TaskUpdate
) -> Task:
    task = await visible_task(session, caller, task_id, for_update=True)
    fields = body.model_dump(exclude_unset=True)
    problems = InputErrors()
    problems.not_null(fields, "title", "status", "priority")
    problems.raise_if_any()
    if "due_at" in fields and caller.role == "Employee":
        raise Forbidden("only Managers and Admins move deadlines")
    if task.status in CLOSED_STATUSES and fields != {"status": "open"}:
        raise Conflict(f"the task is {task.status}; reopen it (status open) before changing anything else")
    await _change(session, settings, task, fields)
    await write_pending(session)
    return task


async def reassign_task(
    session: AsyncSession, settings: TasksSettings, caller: Principal, task_id: uuid.UUID, body: Reassignment
) -> Task:
    task = await visible_task(session, caller, task_id, for_update=True)
    if not (
        caller.is_admin
        or (caller.role == "Manager" and task.department_id is not None and task.department_id == caller.department_id)
    ):
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
    count_load(session, settings, task.assignee_id, task.priority, -1)
    task.assignee_id, task.assignment_reason = user.id, reason
    note_assignment(session, settings, user.id, task.priority, now)
    restart_stale_clock(task, now, calendar, settings)
    await outbox.add(
        session,
        TaskReassigned(
            task_id=task.id,
            client_id=task.client_id,
            opportunity_id=task.opportunity_id,
            department_id=task.department_id,
            assignee_id=task.assignee_id,
            changes={"assignee_id": FieldChange(before=json_value(before), after=str(user.id))},
            assignment_reason=reason,
            title=task.title,
        ),
        subject=str(task.id),
    )
    await write_pending(session)
    return task


async def add_comment(
    session: AsyncSession, settings: TasksSettings, caller: Principal, task_id: uuid.UUID, body: str
) -> TaskComment:
    task = await visible_task(session, caller, task_id, for_update=True)
    now = clock.now()
    comment = TaskComment(id=uuid.uuid4(), task_id=task.id, author_id=caller.user_id, body=body, created_at=now)
    session.add(comment)
    task.comments_count += 1
    restart_stale_clock(task, now, await load_calendar(session), settings)
    await outbox.add(
        session,
        TaskCommented(
            task_id=task.id,
            client_id=task.client_id,
            opportunity_id=task.opportunity_id,
            comment_id=comment.id,
            author_id=caller.user_id,
            body=body,
        ),
        subject=str(task.id),
    )
    return comment


# Workload ---------------------------------------------------------------------------------------
async def workload(
    session: AsyncSession, settings: TasksSettings, caller: Principal, department_id: uuid.UUID | None
) -> WorkloadOut:
    if caller.role == "Employee":
        raise Forbidden("the workload view is for Managers and Admins")
    department_id = department_id or caller.department_id
    if department_id is None:
        raise InvalidInput.for_field("query.department_id", "required")
    department = await repo.get_department(session, department_id)
    if department is None or not (caller.is_admin or department_id == caller.department_id):
        # Another department's workload is a record outside the Manager's scope: answered as an unknown one.
        raise NotFound(f"no department {department_id}")
    members = await repo.member_loads(session, department_id, settings.priority_weights)
    members.sort(key=lambda m: (-m.load, m.name, m.user_id))
    return WorkloadOut(
        department_id=department.id,
        department_name=department.name,
        manager_id=department.manager_id,
        overload_threshold=settings.overload_threshold,
        priority_weights=dict(settings.priority_weights),
        unassigned_open=await repo.unassigned_open_count(session, department_id),
        members=[
            MemberLoad(
                user_id=m.user_id,
                name=m.name,
                role=m.role,
                open_tasks=m.open_tasks,
                weighted_load=m.load,
                overloaded=m.load > settings.overload_threshold,
                last_assigned_at=m.last_assigned_at,
            )
            for m in members
        ],
    )
