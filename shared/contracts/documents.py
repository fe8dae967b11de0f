"""Events of the documents service. Topic `documents.document.events`; key: the document id (and
`documents.checklist.events` for the stage checklists; key: the stage key).

Each event is a snapshot of the document after the change (its owner record, type, current version and
that version's file facts), so a consumer needs no earlier event. `client_id` names the client the owning
record belongs to when the documents service knows it, so the audit service can assemble a client's history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from shared.contracts.base import EventData, FieldChange, event
from shared.contracts.pipeline import MATERIAL_GATHERING, POLICY_ISSUANCE

OwnerType = Literal["client", "deal", "task", "contract"]


class DocumentEvent(EventData):
    """The fields every document event carries."""

    document_id: UUID
    owner_type: OwnerType
    owner_id: UUID
    client_id: UUID | None  # the client the owning record belongs to, when known
    document_type: str
    filename: str  # sanitised
    document_version: int  # the current version after the change
    size: int  # bytes of that version
    sha256: str  # hex digest of that version's bytes
    content_type: str  # detected from the bytes, never the uploader's claim


@event("documents.document.uploaded")
class DocumentUploaded(DocumentEvent):
    """A new document was stored (version 1)."""

    uploaded_by: UUID


@event("documents.document.versioned")
class DocumentVersioned(DocumentEvent):
    """A new version of a document was stored; the earlier ones are kept."""

    uploaded_by: UUID
    previous_version: int


@event("documents.document.deleted")
class DocumentDeleted(DocumentEvent):
    """A document was deleted (soft: its versions are kept, it is no longer listed or served)."""

    deleted_by: UUID
    deleted_at: datetime
    reason: str | None


# Stage checklists ----------------------------------------------------------------------------------------------
# A checklist is a list of requirements; a requirement is met by a live document of any one of its types
# (`["proof_of_identity", "company_registration"]`: either will do).
Requirement = list[str]

# The checklists a new installation starts with (an Admin changes them: `PUT /api/v1/documents/checklists/{stage}`).
DEFAULT_CHECKLISTS: dict[str, list[Requirement]] = {
    MATERIAL_GATHERING: [["proof_of_identity", "company_registration"], ["previous_policy"], ["risk_questionnaire"]],
    POLICY_ISSUANCE: [["signed_proposal"]],
}


def missing_requirements(requirements: list[Requirement], present_types: set[str]) -> list[Requirement]:
    """The requirements no present document type meets, in their order."""
    return [requirement for requirement in requirements if not present_types.intersection(requirement)]


@event("documents.checklist.updated")
class ChecklistUpdated(EventData):
    """An Admin changed a stage's checklist (topic `documents.checklist.events`, key: the stage key): the
    document types a deal needs before it leaves the stage, and whether the deal advances by itself once they
    are all present. A snapshot: the whole checklist after the change, and `changes` before and after."""

    stage_key: str
    requirements: list[Requirement]
    auto_advance: bool
    changes: dict[str, FieldChange]
