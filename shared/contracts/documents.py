"""Events of the documents service. Topic `documents.document.events`; key: the document id.

Each event is a snapshot of the document after the change (its owner record, type, current version and
that version's file facts), so a consumer needs no earlier event. `client_id` names the client the owning
record belongs to when the documents service knows it, so the audit service can assemble a client's history.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from shared.contracts.base import EventData, event

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
