"""Work on contracts (consumer `tasks.contracts`, acting as `system:tasks.contracts`): an endorsement requested
on a contract becomes a task in the department the event names (Policy Administration), for its least-loaded
active member by the usual rule (`assignment.route_to_least_loaded_member`), due after the configured SLA in
working hours; binding it closes the task done, withdrawing it cancels the task.

A contract has at most one open endorsement, so its task is found by contract and kind of work (`stage_key`
`endorsement`); a redelivered request finds the task already open and does nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import assignment as assignments
from services.tasks import service
from services.tasks.models import ACTIVE_STATUSES, Task
from services.tasks.settings import TasksSettings
from shared.contracts.contracts import ContractEndorsed, ContractEndorsementRequested, ContractEndorsementWithdrawn
from shared.messaging.envelope import Envelope
from shared.messaging.subscriptions import On, on

CONSUMER = "tasks.contracts"
ENDORSEMENT = "endorsement"


async def _open_endorsement_task(session: AsyncSession, contract_id) -> Task | None:
    stmt = (
        select(Task)
        .where(
            Task.contract_id == contract_id,
            Task.stage_key == ENDORSEMENT,
            Task.origin == "auto",
            Task.status.in_(ACTIVE_STATUSES),
        )
        .with_for_update()
    )
    return (await session.execute(stmt)).scalars().first()


def handlers(settings: TasksSettings) -> tuple[On, ...]:
    async def requested(session: AsyncSession, envelope: Envelope, data: ContractEndorsementRequested) -> None:
        if await _open_endorsement_task(session, data.contract_id) is not None:
            return  # already open (the request delivered again)
        department_id = data.route_department_id
        if department_id is None:
            assignment = assignments.Assignment(None, "no Policy Administration department known: left unassigned")
        else:
            assignment = await assignments.route_to_least_loaded_member(session, department_id, settings)
        policy = data.policy_number or f"contract {str(data.contract_id)[:8]}"
        line = f" ({data.line_name})" if data.line_name else ""
        await service.open_task(
            session,
            settings,
            title=f"Endorsement: {policy}{line} from {data.effective_date}"[:300],
            description=f"Bind or withdraw the endorsement requested on {policy}: {data.reason}\n"
            f"Premium delta if bound now: {data.delta} {data.currency}.",
            origin="auto",
            opportunity_id=None,
            client_id=data.client_id,
            contract_id=data.contract_id,
            stage_key=ENDORSEMENT,
            department_id=department_id,
            assignment=assignment,
            priority=settings.auto_task_priority,
            sla_started_at=envelope.time,
            sla_hours=settings.endorsement_sla_hours,
        )
        await assignments.write_pending(session)

    async def decided(
        session: AsyncSession, envelope: Envelope, data: ContractEndorsed | ContractEndorsementWithdrawn
    ) -> None:
        task = await _open_endorsement_task(session, data.contract_id)
        if task is None:
            return
        await service.close_task(session, settings, task, "done" if isinstance(data, ContractEndorsed) else "cancelled")
        await assignments.write_pending(session)

    return (
        on(ContractEndorsementRequested, requested),
        on(ContractEndorsed, decided),
        on(ContractEndorsementWithdrawn, decided),
    )
