"""Routing: pipeline's deal events become tasks (consumer `tasks.router`, acting as `system:tasks.router`).

- `opened`: the First Contact task, for the deal's owner (the line's specialist).
- `stage_advanced`: the deal's open automatic tasks of other stages close — `done` on a forward move,
  `cancelled` on a move back (the work of a stage sent back was not finished; its new task says so) —
  and, while the deal is still open, the entered stage's task opens in the stage's department for
  the least-loaded active member, due after the stage's SLA in working hours from the move.
  Reaching Completion (`won`) only closes.
- `declined`: every open task of the deal, automatic or manual, is cancelled.

Tasks are titled from the event itself (pipeline's events carry the deal's title and line).

An event is applied only if the deal is where the event says it was (`routing_guard`: the stage it
leaves, pipeline's version of the deal): a late or replayed event, under a new event id, is skipped
(logged, counted in `tasks_routing_events_skipped_total`) and has no effect. Where each deal stands is
kept in the `deals` table.

The consumer hands over a whole batch of events (one transaction, claimed in the inbox so a
redelivered event is a no-op). The batch reads what it needs once — the deals' positions and open tasks,
locked — then handles the events one by one, in order, against that state, and writes its changes
(tasks, outbox rows, assignments, positions) in a few statements at the end. An open automatic task per
deal and stage is also unique in the database.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import assignment as assignments
from services.tasks import repository as repo
from services.tasks import service
from services.tasks.models import ACTIVE_STATUSES, Task
from services.tasks.routing_guard import DealPosition, missed_moves, refusal
from services.tasks.settings import TasksSettings
from shared import context
from shared.context import Actor
from shared.contracts import model_for
from shared.contracts.pipeline import (
    FIRST_CONTACT,
    OpportunityDeclined,
    OpportunityOpened,
    StageAdvanced,
    StageRef,
)
from shared.messaging.envelope import Envelope

CONSUMER = "tasks.router"

# The deal events routing applies; the pipeline's other events pass by.
DealEvent = OpportunityOpened | StageAdvanced | OpportunityDeclined

log = logging.getLogger("insureops.tasks.routing")
SKIPPED = Counter(
    "tasks_routing_events_skipped_total",
    "Pipeline events routing did not apply: the deal was not where the event says it was",
    ["type", "reason"],
)


class RoutingBatch:
    """One consumed batch of pipeline events, handled in one transaction."""

    def __init__(self, session: AsyncSession, settings: TasksSettings):
        self.session = session
        self.settings = settings
        self.open_tasks: dict[uuid.UUID, list[Task]] = defaultdict(list)  # per deal, in opening order
        self.positions: dict[uuid.UUID, DealPosition] = {}  # per deal known, as the batch's events move it
        self.moved: set[uuid.UUID] = set()  # the deals whose position is written at the end

    async def prefetch(self, opportunity_ids: list[uuid.UUID]) -> None:
        """The batch's deals: where they stand and their open tasks (both locked)."""
        ids = list(dict.fromkeys(opportunity_ids))
        self.positions.update(await repo.deal_positions(self.session, ids))
        for task in await repo.active_tasks_of_deals(self.session, ids):
            assert task.opportunity_id is not None  # the tasks of these deals
            self.open_tasks[task.opportunity_id].append(task)

    async def finish(self) -> None:
        await repo.save_deal_positions(self.session, {k: self.positions[k] for k in self.moved})
        await assignments.write_pending(self.session)

    # Events -------------------------------------------------------------------------------------
    async def apply(self, envelope: Envelope, data: DealEvent) -> None:
        match data:
            case OpportunityOpened():
                await self.opened(envelope, data)
            case StageAdvanced():
                await self.stage_advanced(envelope, data)
            case OpportunityDeclined():
                await self.declined(envelope, data)

    async def opened(self, envelope: Envelope, data: OpportunityOpened) -> None:
        if not self._applies(envelope, data.opportunity_id, from_stage=None, version=data.opportunity_version):
            return
        self._move(data.opportunity_id, DealPosition(data.stage.key, data.status, data.opportunity_version))
        if data.status != "open":
            return
        owner = await repo.get_user(self.session, data.owner_id)
        department_id = data.stage.department_id or data.department_id or (owner.department_id if owner else None)
        await self._open_stage_task(
            envelope,
            opportunity_id=data.opportunity_id,
            client_id=data.client_id,
            owner_id=data.owner_id,
            stage=data.stage,
            department_id=department_id,
            title=data.title,
            line_name=data.line_name,
        )

    async def stage_advanced(self, envelope: Envelope, data: StageAdvanced) -> None:
        if not self._applies(
            envelope, data.opportunity_id, from_stage=data.from_stage.key, version=data.opportunity_version
        ):
            return
        self._move(data.opportunity_id, DealPosition(data.to_stage.key, data.status, data.opportunity_version))
        if data.status == "lost":
            await self._cancel_everything(data.opportunity_id)
            return
        closing = "done" if data.direction == "forward" else "cancelled"
        for task in self._open_auto_tasks(data.opportunity_id):
            if task.stage_key != data.to_stage.key:
                await service.close_task(self.session, self.settings, task, closing)
        if data.status != "open":
            return  # won: the deal reached Completion; nothing more to do
        await self._open_stage_task(
            envelope,
            opportunity_id=data.opportunity_id,
            client_id=data.client_id,
            owner_id=data.owner_id,
            stage=data.to_stage,
            department_id=data.to_stage.department_id,
            title=data.title,
            line_name=data.line_name,
        )

    async def declined(self, envelope: Envelope, data: OpportunityDeclined) -> None:
        if not self._applies(
            envelope, data.opportunity_id, from_stage=data.stage.key, version=data.opportunity_version
        ):
            return
        self._move(data.opportunity_id, DealPosition(data.stage.key, "lost", data.opportunity_version))
        await self._cancel_everything(data.opportunity_id)

    # Helpers ------------------------------------------------------------------------------------
    def _applies(
        self, envelope: Envelope, opportunity_id: uuid.UUID, *, from_stage: str | None, version: int | None
    ) -> bool:
        """The guard: whether the deal is where the event says it was (see `routing_guard`)."""
        known = self.positions.get(opportunity_id)
        if known is None:
            return True  # a deal routing has not seen: nothing to guard against
        reason = refusal(known, from_stage=from_stage, version=version)
        if reason is not None:
            SKIPPED.labels(envelope.type, reason.value).inc()
            log.info(
                "skipped %s %s of deal %s (%s): the deal is at %s, version %s; the event leaves %s, version %s",
                envelope.type,
                envelope.id,
                opportunity_id,
                reason.value,
                known.stage_key,
                known.version,
                from_stage,
                version,
            )
            return False
        if missed_moves(known, from_stage=from_stage):
            log.warning(
                "deal %s: %s %s leaves %s (version %s) but routing knew it at %s (version %s); moves "
                "between were missed, applying the newer one",
                opportunity_id,
                envelope.type,
                envelope.id,
                from_stage,
                version,
                known.stage_key,
                known.version,
            )
        return True

    def _move(self, opportunity_id: uuid.UUID, position: DealPosition) -> None:
        self.positions[opportunity_id] = position
        self.moved.add(opportunity_id)

    def _open_auto_tasks(self, opportunity_id: uuid.UUID) -> list[Task]:
        return [t for t in self.open_tasks[opportunity_id] if t.origin == "auto" and t.status in ACTIVE_STATUSES]

    async def _cancel_everything(self, opportunity_id: uuid.UUID) -> None:
        """A lost deal: every open task of it, manual ones too."""
        for task in self.open_tasks[opportunity_id]:
            if task.status in ACTIVE_STATUSES:
                await service.close_task(self.session, self.settings, task, "cancelled")

    async def _open_stage_task(
        self,
        envelope: Envelope,
        *,
        opportunity_id: uuid.UUID,
        client_id: uuid.UUID,
        owner_id: uuid.UUID,
        stage: StageRef,
        department_id: uuid.UUID | None,
        title: str | None,
        line_name: str | None,
    ) -> None:
        if any(t.stage_key == stage.key for t in self._open_auto_tasks(opportunity_id)):
            return  # already open (the same move published again): nothing to do
        if stage.key == FIRST_CONTACT:
            assignment = await self._owner_assignment(owner_id, line_name)
        elif department_id is None:
            assignment = assignments.Assignment(
                None, f"stage {stage.name} has no responsible department: left unassigned"
            )
        else:
            assignment = await assignments.route_to_least_loaded_member(self.session, department_id, self.settings)
        # Events published before they carried the title have none, and nothing here knows it: the deal's id
        # (its start) names it instead.
        what = title or f"deal {str(opportunity_id)[:8]}"
        task = await service.open_task(
            self.session,
            self.settings,
            title=f"{stage.name}: {what}"[:300],
            description=f"Work of the {stage.name} stage (stage {stage.position} of the pipeline).",
            origin="auto",
            opportunity_id=opportunity_id,
            client_id=client_id,
            stage_key=stage.key,
            department_id=department_id,
            assignment=assignment,
            priority=self.settings.auto_task_priority,
            sla_started_at=envelope.time,
            sla_hours=stage.sla_hours,
        )
        self.open_tasks[opportunity_id].append(task)

    async def _owner_assignment(self, owner_id: uuid.UUID, line: str | None) -> assignments.Assignment:
        owner = await repo.get_user(self.session, owner_id)
        whose = f"the {line} line's primary specialist" if line else "the line's primary specialist"
        note = "" if owner is None or owner.active else " (note: this user is deactivated)"
        return assignments.Assignment(owner_id, f"the deal's owner, {whose}{note}")


def batch_handler(settings: TasksSettings):
    """The consumer's batch handler: every new event of a batch, in order, in one transaction."""

    async def route_batch(session: AsyncSession, envelopes: list[Envelope]) -> None:
        events: list[tuple[Envelope, DealEvent]] = []
        for envelope in envelopes:
            model = model_for(envelope.type, envelope.dataversion)
            if model is not None and issubclass(model, DealEvent):
                events.append((envelope, model.model_validate(envelope.data)))
        if not events:
            return
        batch = RoutingBatch(session, settings)
        # Replicas and this process's consumers route batches in parallel: every department this batch may
        # route into is locked up front, in one order, before anything is read.
        await assignments.lock_departments(
            session,
            [
                data.to_stage.department_id
                for _, data in events
                if isinstance(data, StageAdvanced) and data.status == "open" and data.to_stage.department_id
            ],
        )
        await batch.prefetch([data.opportunity_id for _, data in events])
        async with service.outbox.collect(session):
            for envelope, data in events:
                token = context.bind(
                    actor=Actor("system", CONSUMER),
                    correlation_id=envelope.correlation_id or envelope.id,
                    causation_id=envelope.id,
                )
                try:
                    await batch.apply(envelope, data)
                finally:
                    context.reset(token)
        await batch.finish()

    return route_batch
