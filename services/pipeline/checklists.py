"""A deal's stage checklist, from the documents service's events: which documents the stage needs (its
checklist) and which the deal has. What an Employee's advance and the automatic advance ask of it:

- An Employee may advance a deal only when its stage's required documents are all present (409 naming the
  missing ones otherwise). A Manager or the Admin may advance without them: the move records their `reason`
  (asked for, not required, so moves made by tools and older clients still go through) and the event names
  the missing documents, so the override is in the audit trail.
- When a document completes the checklist of the deal's current stage and that stage's `auto_advance` is on,
  the deal advances by itself (actor `system:documents`), and the usual routing follows. A stage the deal
  cannot be advanced from by hand (Client Decision, Policy Issuance) is not advanced automatically either.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from services.pipeline import repository as repo
from shared.contracts.documents import Requirement, missing_requirements


@dataclass(frozen=True)
class ChecklistState:
    stage_key: str
    requirements: list[Requirement]
    present: dict[str, list[uuid.UUID]]  # document type -> the deal's documents of it
    missing: list[Requirement]
    auto_advance: bool

    @property
    def complete(self) -> bool:
        return not self.missing


async def state(session: AsyncSession, opportunity_id: uuid.UUID, stage_key: str) -> ChecklistState:
    checklist = await repo.get_checklist(session, stage_key)
    requirements = checklist.requirements if checklist is not None else []
    present: dict[str, list[uuid.UUID]] = {}
    for document in await repo.deal_documents(session, opportunity_id):
        present.setdefault(document.document_type, []).append(document.document_id)
    return ChecklistState(
        stage_key=stage_key,
        requirements=requirements,
        present=present,
        missing=missing_requirements(requirements, set(present)),
        auto_advance=bool(checklist and checklist.auto_advance),
    )


def describe(missing: list[Requirement]) -> str:
    return "; ".join(" or ".join(types) for types in missing)
