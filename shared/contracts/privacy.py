"""Events of the privacy service (data-subject rights: GDPR Art. 15 access and Art. 17 erasure).

Topic `privacy.subject.events`; key: the data subject's id. `privacy.request.events`; key: the request id.

A data subject is a client that is a person (`client`) or an employee (`user`). When a subject is erased, the
privacy service destroys the subject's key (so every personal field stored encrypted with it, in events and
in the audit trail, can no longer be read) and publishes `privacy.subject.erased`; every service that holds
rows about the subject erases or pseudonymises them when it reads the event ("erased" where the person was).
What the brokerage must keep (a contract within its retention period) is not erased: it is listed in `kept`,
with the reason, and its processing is restricted instead.
"""

from __future__ import annotations

from datetime import date
from typing import Literal
from uuid import UUID

from pydantic import BaseModel

from shared.contracts.base import EventData, event

SubjectKind = Literal["client", "user"]
RequestKind = Literal["export", "erasure"]
RequestOutcome = Literal["completed", "restricted", "already_erased"]

# What an erased person's name reads as everywhere (360, lists, history, export).
ERASED = "erased"


class KeptPart(BaseModel):
    """A part of the subject's data kept because the law requires it (never erased while `until` is ahead)."""

    what: str  # e.g. "contract"
    record_id: UUID | None
    reason: str  # why it is kept, for the answer and the report
    until: date | None  # when the obligation to keep it ends


@event("privacy.subject.erased")
class SubjectErased(EventData):
    """The subject's key was destroyed: every service erases or pseudonymises what it holds about them, except
    the parts listed in `kept` (restricted instead)."""

    subject_kind: SubjectKind
    subject_id: UUID
    request_id: UUID
    kept: list[KeptPart]


@event("privacy.request.recorded")
class RequestRecorded(EventData):
    """A data-subject request was received and handled (an export was delivered, an erasure carried out)."""

    request_id: UUID
    kind: RequestKind
    subject_kind: SubjectKind
    subject_id: UUID
    outcome: RequestOutcome
    requested_by: UUID | None
    kept: list[KeptPart]
