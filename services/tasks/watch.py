"""The periodic watches (shared.jobs runs each round in one transaction, under its own advisory lock).

`sla_watch`: recomputes each open task's SLA state (green, yellow from the at-risk share of the
window, red past due), publishes `sla_changed` on every change, and on red escalates once to the
department's manager from the identity replica (`escalated`, and escalated_at/escalated_to on the task).

`stale_watch`: a task idle (no status change, comment or reassignment) for N working hours (per
stage) gets one `stale` reminder per period; the reminder table's key makes it once per period even
if two instances ran the same round.
"""

from __future__ import annotations

import math

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import repository as repo
from services.tasks.calendar import load_calendar
from services.tasks.models import outbox, people
from services.tasks.settings import TasksSettings
from shared import clock
from shared.contracts import FieldChange
from shared.contracts.tasks import TaskEscalated, TaskSlaChanged, TaskStale
from shared.jobs import PeriodicJob
from shared.projections.identity import department_manager


def sla_watch(settings: TasksSettings) -> PeriodicJob:
    async def run(session: AsyncSession) -> dict:
        now = clock.now()
        changed = escalated = 0
        for task, new_state in await repo.tasks_whose_sla_state_changed(session, now, settings.watch_max_per_round):
            before = task.sla_state
            task.sla_state = new_state
            task.updated_at = now
            await outbox.add(
                session,
                TaskSlaChanged(
                    task_id=task.id,
                    client_id=task.client_id,
                    opportunity_id=task.opportunity_id,
                    department_id=task.department_id,
                    assignee_id=task.assignee_id,
                    due_at=task.due_at,
                    changes={"sla_state": FieldChange(before=before, after=new_state)},
                    title=task.title,
                ),
                subject=str(task.id),
            )
            changed += 1
            if new_state == "red" and task.escalated_at is None:
                manager_id = (
                    await department_manager(session, people, task.department_id)
                    if task.department_id is not None
                    else None
                )
                task.escalated_at, task.escalated_to = now, manager_id
                await outbox.add(
                    session,
                    TaskEscalated(
                        task_id=task.id,
                        client_id=task.client_id,
                        opportunity_id=task.opportunity_id,
                        department_id=task.department_id,
                        assignee_id=task.assignee_id,
                        manager_id=manager_id,
                        due_at=task.due_at,
                        title=task.title,
                    ),
                    subject=str(task.id),
                )
                escalated += 1
        await session.flush()
        return {"sla_changed": changed, "escalated": escalated}

    return PeriodicJob("sla_watch", settings.sla_watch_interval_seconds, run)


def stale_watch(settings: TasksSettings) -> PeriodicJob:
    async def run(session: AsyncSession) -> dict:
        now = clock.now()
        calendar = await load_calendar(session)
        reminders = 0
        for task in await repo.tasks_gone_stale(session, now, settings.watch_max_per_round):
            every = settings.stale_hours_for(task.stage_key)
            idle = calendar.working_hours_between(task.last_activity_at, now)
            # A hair of tolerance: the watch may run exactly at next_stale_at, where float rounding of
            # the working hours could land a microsecond short of the period boundary.
            period = math.floor(idle / every + 1e-9)
            if period >= 1 and period > task.stale_period:
                if await repo.claim_stale_reminder(session, task.id, task.last_activity_at, period, idle, now):
                    await outbox.add(
                        session,
                        TaskStale(
                            task_id=task.id,
                            client_id=task.client_id,
                            opportunity_id=task.opportunity_id,
                            assignee_id=task.assignee_id,
                            idle_working_hours=round(idle, 3),
                            period=period,
                            title=task.title,
                        ),
                        subject=str(task.id),
                    )
                    reminders += 1
                task.stale_period = period
            task.next_stale_at = calendar.add_working_hours(task.last_activity_at, every * (max(period, 0) + 1))
            if task.next_stale_at <= now:  # never pick the same task twice in a round
                task.next_stale_at = calendar.add_working_hours(now, every)
        await session.flush()
        return {"stale_reminders": reminders}

    return PeriodicJob("stale_watch", settings.stale_watch_interval_seconds, run)
