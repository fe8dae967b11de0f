"""The tasks service's HTTP shapes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.clock import Instant

Priority = Literal["low", "normal", "high", "urgent"]
TaskStatus = Literal["open", "in_progress", "waiting", "done", "cancelled"]
SlaState = Literal["green", "yellow", "red"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class TaskCreate(BaseModel):
    """A manual ticket. Without an assignee it is routed like an automatic task (least-loaded member)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    description: str | None = Field(None, max_length=10_000)
    department_id: uuid.UUID | None = Field(
        None, description="Defaults to the caller's department; Employees may only use their own."
    )
    assignee_id: uuid.UUID | None = Field(None, description="An active member of the department; empty: routed.")
    priority: Priority = "normal"
    due_at: Instant | None = Field(None, description="Deadline; the SLA window runs from now to it.")
    opportunity_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    stage_key: str | None = Field(None, min_length=1, max_length=64)


class TaskUpdate(BaseModel):
    """Fields a person may change. Reassignment has its own action."""

    model_config = ConfigDict(extra="forbid")

    title: str | None = Field(None, min_length=1, max_length=300)
    description: str | None = Field(None, max_length=10_000)
    status: TaskStatus | None = None
    priority: Priority | None = None
    due_at: Instant | None = Field(None, description="Managers and Admins only.")


class Reassignment(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee_id: uuid.UUID = Field(description="An active member of the task's department.")
    note: str | None = Field(None, max_length=1000, description="Why; kept as the assignment reason.")


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=5000)


class CommentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    task_id: uuid.UUID
    author_id: uuid.UUID
    body: str
    created_at: datetime


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: int
    title: str
    description: str | None
    origin: Literal["auto", "manual"]
    opportunity_id: uuid.UUID | None
    client_id: uuid.UUID | None
    client_name: str | None = Field(
        None, description='The client\'s name as last known ("erased" once their personal data was erased)'
    )
    contract_id: uuid.UUID | None = Field(None, description="The contract the work is about (an endorsement).")
    stage_key: str | None
    department_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    assignment_reason: str | None
    priority: Priority
    status: TaskStatus
    due_at: datetime | None
    sla_state: SlaState
    sla_started_at: datetime
    sla_hours: float | None = Field(description="The SLA window in working hours.")
    at_risk_at: datetime | None = Field(validation_alias="yellow_at", description="When it turns yellow.")
    escalated_at: datetime | None
    escalated_to: uuid.UUID | None
    last_activity_at: datetime
    stale_period: int
    comments_count: int
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    closed_at: datetime | None


class MemberLoad(BaseModel):
    user_id: uuid.UUID
    name: str
    role: str
    open_tasks: int
    weighted_load: int
    overloaded: bool
    last_assigned_at: datetime | None


class WorkloadOut(BaseModel):
    department_id: uuid.UUID
    department_name: str
    manager_id: uuid.UUID | None
    overload_threshold: int
    priority_weights: dict[str, int]
    unassigned_open: int = Field(description="Open tasks of the department nobody holds.")
    members: list[MemberLoad]


class CalendarIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    timezone: str = Field("Europe/Athens", max_length=64, description="IANA timezone name.")
    working_days: list[Weekday] = Field(["mon", "tue", "wed", "thu", "fri"], max_length=7)
    start: str = Field("09:00", max_length=5, description="Start of the working day, HH:MM local time.")
    end: str = Field("17:00", max_length=5, description="End of the working day, HH:MM (24:00 allowed).")
    holidays: list[date] = Field([], max_length=1000)
    always_open: bool = Field(False, description="24/7: every hour is working time; the fields above are ignored.")
    public_holidays: str | None = Field(
        "GR",
        min_length=2,
        max_length=2,
        description="A country (ISO 3166-1 alpha-2) whose public holidays are days off too, every year, from the "
        "`holidays` package (movable feasts included); null for none. Greece's unless said otherwise.",
    )


class CalendarOut(CalendarIn):
    updated_at: datetime | None
    updated_by: str | None
