"""Events of the tasks service. Topic `tasks.task.events`; key: the task id.

Every event names the task's `client_id` and `opportunity_id` when it has them (manual tickets may
have neither), so the audit service can assemble a client's history. Every event a notification is
made from carries the task's `title` (on `reassigned` and `sla_changed` an optional field added later:
None in events published before it), so no consumer keeps a copy of task titles.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from shared.contracts.base import EventData, FieldChange, event
from shared.contracts.personal import Personal, Subject

Priority = Literal["low", "normal", "high", "urgent"]
TaskStatus = Literal["open", "in_progress", "waiting", "done", "cancelled"]
SlaState = Literal["green", "yellow", "red"]


@event("tasks.task.created")
class TaskCreated(EventData):
    """A task was opened: by routing on a stage move (`origin: auto`) or by a person (`manual`)."""

    task_id: UUID
    title: str
    description: str | None
    origin: Literal["auto", "manual"]
    client_id: UUID | None
    opportunity_id: UUID | None
    stage_key: str | None
    department_id: UUID | None
    assignee_id: UUID | None
    assignment_reason: str | None  # why this person was chosen
    priority: Priority
    status: TaskStatus
    due_at: datetime | None
    sla_state: SlaState
    contract_id: UUID | None = None  # work on a contract (an endorsement to bind); added later, so optional


@event("tasks.task.reassigned")
class TaskReassigned(EventData):
    """The task changed hands (a manager's reassignment)."""

    task_id: UUID
    client_id: UUID | None
    opportunity_id: UUID | None
    department_id: UUID | None
    assignee_id: UUID | None  # the new assignee
    changes: dict[str, FieldChange]  # at least `assignee_id`
    assignment_reason: str | None
    title: str | None = None  # added later: None in events published before


@event("tasks.task.updated")
class TaskUpdated(EventData):
    """Fields of the task changed: status, priority, title, description, due time."""

    task_id: UUID
    client_id: UUID | None
    opportunity_id: UUID | None
    assignee_id: UUID | None
    changes: dict[str, FieldChange]


@event("tasks.task.commented")
class TaskCommented(EventData):
    """Someone added to the task's comment thread. Its text is personal data: of the task's client (what a comment
    usually speaks of), or of its author when the task has no client."""

    task_id: UUID
    client_id: Annotated[UUID | None, Subject("client")]
    opportunity_id: UUID | None
    comment_id: UUID
    author_id: Annotated[UUID, Subject("user")]
    body: Annotated[str, Personal()]


@event("tasks.task.sla_changed")
class TaskSlaChanged(EventData):
    """The SLA state moved: green → yellow is "at risk", → red is overdue."""

    task_id: UUID
    client_id: UUID | None
    opportunity_id: UUID | None
    department_id: UUID | None
    assignee_id: UUID | None
    due_at: datetime | None
    changes: dict[str, FieldChange]  # `sla_state` before and after
    title: str | None = None  # added later: None in events published before


@event("tasks.task.escalated")
class TaskEscalated(EventData):
    """An overdue task was escalated, once, to its department's manager."""

    task_id: UUID
    client_id: UUID | None
    opportunity_id: UUID | None
    department_id: UUID | None
    assignee_id: UUID | None
    manager_id: UUID | None  # None when the department has no manager
    due_at: datetime | None
    title: str


@event("tasks.task.stale")
class TaskStale(EventData):
    """A reminder: the task saw no activity for the stage's stale period (one event per period)."""

    task_id: UUID
    client_id: UUID | None
    opportunity_id: UUID | None
    assignee_id: UUID | None
    idle_working_hours: float
    period: int  # 1 for the first reminder, 2 for the second, ...
    title: str


@event("tasks.calendar.updated")
class CalendarUpdated(EventData):
    """An Admin changed the working-time calendar (topic `tasks.calendar.events`, key `calendar`).

    `changes` holds each changed field (timezone, working_days, start, end, holidays, always_open)
    before and after. Deadlines already set are kept; new ones follow the new calendar.
    """

    changes: dict[str, FieldChange]
