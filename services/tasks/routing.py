"""Routing: pipeline's deal events become tasks (consumer `tasks.router`, acting as `system:tasks.router`).

- `opened`: the First Contact task, for the deal's owner (the line's specialist).
- `stage_advanced`: the deal's open automatic tasks of other stages close — `done` on a forward move,
  `cancelled` on a move back (the work of a stage sent back was not finished; its new task says so) —
  and, while the deal is still open, the entered stage's task opens in the stage's department for
  the least-loaded active member, due after the stage's SLA in working hours from the move.
  Reaching Completion (`won`) only closes.
- `declined`: every open task of the deal, automatic or manual, is cancelled.
- `updated`: the deal's title and owner are kept for titling later tasks.

Every write goes through the handler's session, so the consumer's inbox makes a redelivered event a
no-op; an open automatic task per deal and stage is also unique in the database.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import repository as repo
from services.tasks import service
from services.tasks.models import Deal, Task
from services.tasks.settings import TasksSettings
from shared.contracts.pipeline import (
    OpportunityDeclined,
    OpportunityOpened,
    OpportunityUpdated,
    StageAdvanced,
    StageRef,
)
from shared.messaging.envelope import Envelope

FIRST_STAGE_KEY = "first_contact"


def _title(stage: StageRef, deal: Deal | None, opportunity_id: uuid.UUID) -> str:
    what = deal.title if deal is not None else f"deal {str(opportunity_id)[:8]}"
    return f"{stage.name}: {what}"[:300]


async def _owner_assignment(session: AsyncSession, owner_id: uuid.UUID, line: str | None) -> service.Assignment:
    owner = await repo.get_user(session, owner_id)
    whose = f"the {line} line's primary specialist" if line else "the line's primary specialist"
    note = "" if owner is None or owner.active else " (note: this user is deactivated)"
    return service.Assignment(owner_id, f"the deal's owner, {whose}{note}")


async def _open_stage_task(session: AsyncSession, settings: TasksSettings, envelope: Envelope, *,
                           opportunity_id: uuid.UUID, client_id: uuid.UUID, owner_id: uuid.UUID,
                           stage: StageRef, department_id: uuid.UUID | None) -> Task | None:
    if any(t.stage_key == stage.key for t in await repo.active_auto_tasks_of_deal(session, opportunity_id)):
        return None  # already open (a replayed move under a new event id): nothing more to do
    deal = await repo.get_deal(session, opportunity_id)
    if stage.key == FIRST_STAGE_KEY:
        assignment = await _owner_assignment(session, owner_id, deal.line_name if deal else None)
    elif department_id is None:
        assignment = service.Assignment(None, f"stage {stage.name} has no responsible department: left unassigned")
    else:
        assignment = await service.route_to_least_loaded_member(session, department_id, settings)
    return await service.open_task(
        session, settings, title=_title(stage, deal, opportunity_id),
        description=f"Work of the {stage.name} stage (stage {stage.position} of the pipeline).", origin="auto",
        opportunity_id=opportunity_id, client_id=client_id, stage_key=stage.key, department_id=department_id,
        assignment=assignment, priority=settings.auto_task_priority, sla_started_at=envelope.time,
        sla_hours=stage.sla_hours)


def handlers(settings: TasksSettings) -> dict:
    async def opened(session: AsyncSession, envelope: Envelope, data: OpportunityOpened) -> None:
        await repo.upsert_deal(session, opportunity_id=data.opportunity_id, client_id=data.client_id,
                               title=data.title[:300], line_name=data.line_name, owner_id=data.owner_id,
                               status=data.status)
        if data.status != "open":
            return
        owner = await repo.get_user(session, data.owner_id)
        department_id = data.stage.department_id or data.department_id or (owner.department_id if owner else None)
        await _open_stage_task(session, settings, envelope, opportunity_id=data.opportunity_id,
                               client_id=data.client_id, owner_id=data.owner_id, stage=data.stage,
                               department_id=department_id)

    async def stage_advanced(session: AsyncSession, envelope: Envelope, data: StageAdvanced) -> None:
        await repo.set_deal_fields(session, data.opportunity_id, status=data.status, owner_id=data.owner_id)
        if data.status == "lost":
            for task in await repo.active_tasks_of_deal(session, data.opportunity_id):
                await service.close_task(session, settings, task, "cancelled")
            return
        closing = "done" if data.direction == "forward" else "cancelled"
        for task in await repo.active_auto_tasks_of_deal(session, data.opportunity_id):
            if task.stage_key != data.to_stage.key:
                await service.close_task(session, settings, task, closing)
        if data.status != "open":
            return  # won: the deal reached Completion; nothing more to do
        await _open_stage_task(session, settings, envelope, opportunity_id=data.opportunity_id,
                               client_id=data.client_id, owner_id=data.owner_id, stage=data.to_stage,
                               department_id=data.to_stage.department_id)

    async def declined(session: AsyncSession, envelope: Envelope, data: OpportunityDeclined) -> None:
        await repo.set_deal_fields(session, data.opportunity_id, status="lost")
        for task in await repo.active_tasks_of_deal(session, data.opportunity_id):
            await service.close_task(session, settings, task, "cancelled")

    async def updated(session: AsyncSession, envelope: Envelope, data: OpportunityUpdated) -> None:
        values = {}
        if "title" in data.changes and data.changes["title"].after:
            values["title"] = str(data.changes["title"].after)[:300]
        if "owner_id" in data.changes and data.changes["owner_id"].after:
            values["owner_id"] = uuid.UUID(str(data.changes["owner_id"].after))
        if values:
            await repo.set_deal_fields(session, data.opportunity_id, **values)

    return {
        "pipeline.opportunity.opened": opened,
        "pipeline.opportunity.stage_advanced": stage_advanced,
        "pipeline.opportunity.declined": declined,
        "pipeline.opportunity.updated": updated,
    }
