"""SLA arithmetic on a task: its window in working hours of the calendar, its state (green, yellow, red),
and the stale clock that activity restarts. Pure: no queries, no events."""

from __future__ import annotations

from datetime import datetime

from services.tasks.models import ACTIVE_STATUSES, Task
from services.tasks.settings import TasksSettings
from shared.errors import InvalidInput
from shared.workcalendar import Calendar, CalendarError


def sla_state_at(now: datetime, yellow_at: datetime | None, due_at: datetime | None) -> str:
    """Red past due, yellow once the at-risk share of the window is used, else green (as the watch's SQL)."""
    if due_at is not None and now > due_at:
        return "red"
    if yellow_at is not None and now >= yellow_at:
        return "yellow"
    return "green"


def set_sla_window(
    task: Task,
    calendar: Calendar,
    settings: TasksSettings,
    *,
    started_at: datetime,
    hours: float | None,
    due_at: datetime | None,
) -> None:
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
    task.yellow_at = (
        calendar.add_working_hours(started_at, hours * settings.sla_yellow_share) if hours is not None else None
    )


def restart_stale_clock(task: Task, now: datetime, calendar: Calendar, settings: TasksSettings) -> None:
    """Activity (status change, comment, reassignment) restarts the stale clock."""
    task.last_activity_at = now
    task.updated_at = now
    task.stale_period = 0
    task.next_stale_at = (
        calendar.add_working_hours(now, settings.stale_hours_for(task.stage_key))
        if task.status in ACTIVE_STATUSES
        else None
    )
