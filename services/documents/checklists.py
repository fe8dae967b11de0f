"""Stage checklists: which documents a deal needs before it leaves a stage, and whether it then advances by itself.

The Admin changes them here; each change is published (`documents.checklist.updated`), and the pipeline service,
which owns the deals and their moves, keeps a copy: it advances a deal whose checklist an upload completes
(when the stage's `auto_advance` is on) and refuses an Employee's advance while documents are missing.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.documents import repository as repo
from services.documents.models import StageChecklist, messaging
from services.documents.schemas import ChecklistUpdate
from shared import clock
from shared.auth import Principal
from shared.contracts import field_changes
from shared.contracts.documents import ChecklistUpdated
from shared.contracts.pipeline import STAGE_KEYS
from shared.errors import InvalidInput
from shared.messaging.outbox import Outbox

outbox = Outbox("documents", messaging.outbox)


async def update_checklist(
    session: AsyncSession, stage_key: str, data: ChecklistUpdate, caller: Principal
) -> StageChecklist:
    if stage_key not in STAGE_KEYS:
        raise InvalidInput.for_field("path.stage_key", f"no stage {stage_key!r}; the stages: {', '.join(STAGE_KEYS)}")
    requirements = [list(dict.fromkeys(types)) for types in data.requirements]
    checklist = await repo.get_checklist(session, stage_key, for_update=True)
    before = {"requirements": [], "auto_advance": False}
    if checklist is None:
        checklist = StageChecklist(stage_key=stage_key, requirements=[], auto_advance=False)
        session.add(checklist)
    else:
        before = {"requirements": checklist.requirements, "auto_advance": checklist.auto_advance}
    after = {"requirements": requirements, "auto_advance": data.auto_advance}
    changes = field_changes(before, after)
    checklist.requirements, checklist.auto_advance = requirements, data.auto_advance
    checklist.updated_by, checklist.updated_at = caller.user_id, clock.now()
    await session.flush()
    if changes:
        await outbox.add(
            session,
            ChecklistUpdated(
                stage_key=stage_key, requirements=requirements, auto_advance=data.auto_advance, changes=changes
            ),
            subject=stage_key,
        )
    return checklist
