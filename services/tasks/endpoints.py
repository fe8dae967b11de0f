"""The tasks service's HTTP API: tasks and their comments, workload, the working-time calendar. Thin: the
rules live in service.py, the queries in repository.py."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from services.tasks import calendar, service
from services.tasks import repository as repo
from services.tasks.schemas import (
    CalendarIn,
    CalendarOut,
    CommentCreate,
    CommentOut,
    Priority,
    Reassignment,
    SlaState,
    TaskCreate,
    TaskOut,
    TaskStatus,
    TaskUpdate,
    WorkloadOut,
)
from services.tasks.settings import TasksSettings
from shared.db import TransactionalRoute
from shared.endpoints import Admin, Caller, Session, problems
from shared.errors import InvalidInput
from shared.pagination import Page, PageParams, page_params

Paging = Annotated[PageParams, Depends(page_params)]

PROBLEMS = problems(s409="Conflicts with the task's state (problem+json)")

router = APIRouter(route_class=TransactionalRoute, responses={401: PROBLEMS[401], 422: PROBLEMS[422]})


async def settings_of(request: Request) -> TasksSettings:
    return request.app.state.settings


Settings = Annotated[TasksSettings, Depends(settings_of)]


# Tasks ------------------------------------------------------------------------------------------
@router.get(
    "/api/v1/tasks",
    response_model=Page[TaskOut],
    tags=["tasks"],
    summary="List tasks: at-risk first (red, yellow, green, then due time) unless sorted otherwise",
)
async def list_tasks(
    session: Session,
    caller: Caller,
    page: Paging,
    assignee: Annotated[str | None, Query(max_length=36, description="A user id, `me`, or `none` (unassigned)")] = None,
    department_id: uuid.UUID | None = None,
    status_: Annotated[list[TaskStatus] | None, Query(alias="status", description="Repeat for several")] = None,
    active: Annotated[bool | None, Query(description="true: open, in progress or waiting; false: closed")] = None,
    priority: Annotated[list[Priority] | None, Query(description="Repeat for several")] = None,
    stage: Annotated[str | None, Query(max_length=64, description="Stage key, e.g. `needs_analysis`")] = None,
    sla_state: Annotated[list[SlaState] | None, Query(description="Repeat for several")] = None,
    opportunity_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    contract_id: uuid.UUID | None = None,
    escalated: Annotated[bool | None, Query(description="true: escalated to a manager")] = None,
):
    filters = repo.TaskFilters(
        department_id=department_id,
        statuses=status_,
        priorities=priority,
        stage_key=stage,
        sla_states=sla_state,
        opportunity_id=opportunity_id,
        contract_id=contract_id,
        client_id=client_id,
        escalated=escalated,
        active=active,
    )
    if assignee == "me":
        filters.assignee = caller.user_id
    elif assignee == "none":
        filters.unassigned = True
    elif assignee is not None:
        try:
            filters.assignee = uuid.UUID(assignee)
        except ValueError:
            raise InvalidInput.for_field("query.assignee", "a user id, `me` or `none`") from None
    items, total = await repo.list_tasks(session, caller, filters, page)
    return Page(items=[TaskOut.model_validate(t) for t in items], total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/api/v1/tasks",
    response_model=TaskOut,
    status_code=status.HTTP_201_CREATED,
    tags=["tasks"],
    summary="Open a manual ticket (in your department; Managers and Admins in any)",
    responses={403: PROBLEMS[403]},
)
async def create_task(body: TaskCreate, session: Session, caller: Caller, settings: Settings):
    task = await service.create_manual_task(session, settings, caller, body)
    await session.refresh(task, ["client_name"])  # read with the row, not written with it
    return TaskOut.model_validate(task)


@router.get(
    "/api/v1/tasks/{task_id}",
    response_model=TaskOut,
    tags=["tasks"],
    summary="One task, with its assignment reason and comment count",
    responses={404: PROBLEMS[404]},
)
async def get_task(task_id: uuid.UUID, session: Session, caller: Caller):
    return TaskOut.model_validate(await service.visible_task(session, caller, task_id))


@router.patch(
    "/api/v1/tasks/{task_id}",
    response_model=TaskOut,
    tags=["tasks"],
    summary="Change status, priority, title, description or (Managers, Admins) the due time",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def update_task(task_id: uuid.UUID, body: TaskUpdate, session: Session, caller: Caller, settings: Settings):
    return TaskOut.model_validate(await service.update_task(session, settings, caller, task_id, body))


@router.post(
    "/api/v1/tasks/{task_id}/reassign",
    response_model=TaskOut,
    tags=["tasks"],
    summary="Give the task to another active member of its department (its Manager, or an Admin)",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def reassign_task(task_id: uuid.UUID, body: Reassignment, session: Session, caller: Caller, settings: Settings):
    return TaskOut.model_validate(await service.reassign_task(session, settings, caller, task_id, body))


@router.get(
    "/api/v1/tasks/{task_id}/comments",
    response_model=Page[CommentOut],
    tags=["tasks"],
    summary="The task's comment thread, oldest first",
    responses={404: PROBLEMS[404]},
)
async def list_comments(task_id: uuid.UUID, session: Session, caller: Caller, page: Paging):
    await service.visible_task(session, caller, task_id)
    items, total = await repo.list_comments(session, task_id, page)
    return Page(items=[CommentOut.model_validate(c) for c in items], total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/api/v1/tasks/{task_id}/comments",
    response_model=CommentOut,
    status_code=status.HTTP_201_CREATED,
    tags=["tasks"],
    summary="Add to the task's comment thread",
    responses={404: PROBLEMS[404]},
)
async def add_comment(task_id: uuid.UUID, body: CommentCreate, session: Session, caller: Caller, settings: Settings):
    return CommentOut.model_validate(await service.add_comment(session, settings, caller, task_id, body.body))


# Workload ---------------------------------------------------------------------------------------
@router.get(
    "/api/v1/workload",
    response_model=WorkloadOut,
    tags=["workload"],
    summary="Each active member's open tasks and weighted load, the overloaded flagged "
    "(Manager: own department; Admin: any)",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404]},
)
async def workload(session: Session, caller: Caller, settings: Settings, department_id: uuid.UUID | None = None):
    return await service.workload(session, settings, caller, department_id)


# Calendar ---------------------------------------------------------------------------------------
@router.get(
    "/api/v1/calendar",
    response_model=CalendarOut,
    tags=["calendar"],
    summary="The working-time calendar SLA deadlines are counted in",
)
async def get_calendar(session: Session, _: Caller):
    return CalendarOut(**await calendar.calendar_view(session))


@router.put(
    "/api/v1/calendar",
    response_model=CalendarOut,
    tags=["calendar"],
    summary="Replace the working-time calendar (Admin); deadlines already set are kept",
    responses={403: PROBLEMS[403]},
)
async def put_calendar(body: CalendarIn, session: Session, admin: Admin):
    return CalendarOut(**await calendar.replace_calendar(session, body))
