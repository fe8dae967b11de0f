"""Data-subject rights in audit (see `shared.privacy`): its part of a subject's export — the trail records about the
subject, with what audit declares about its processing.

Audit changes no record on an erasure: the trail is append-only and hash-chained. The subject's personal fields in
it are stored encrypted with the subject's key, which the privacy service destroys (crypto-shredding), so the chain
still verifies and nothing personal can be read any more.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.models import AuditRecord
from shared.contracts.privacy import SubjectKind
from shared.privacy.fields import reveal
from shared.privacy.rights import Processing, privacy_router, record

_TRAIL = Processing(
    purposes=["Accountability and security: an append-only, tamper-evident record of every change on the platform"],
    categories=[
        "every event about the subject as it was published (personal fields encrypted with the "
        "subject's key), who made each change and when"
    ],
    recipients=["Admins; a Manager for their department's records; auditors, through the compliance report"],
    retention="Kept for the audit retention period; an erased subject's personal fields cannot be read once "
    "their key is destroyed",
    source="The events of every service of the platform",
)
PROCESSING = {"client": _TRAIL, "user": _TRAIL}


async def collect(session: AsyncSession, kind: SubjectKind, subject_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    sid = str(subject_id)
    if kind == "client":
        about = select(AuditRecord).where(AuditRecord.client_id == sid)
    else:
        about = select(AuditRecord).where(
            or_(
                (AuditRecord.aggregate_type == "identity.user") & (AuditRecord.aggregate_id == sid),
                (AuditRecord.actor_type == "user") & (AuditRecord.actor_id == sid),
            )
        )
    rows = (await session.execute(about.order_by(AuditRecord.seq))).scalars()
    records = [record(r, without=["id", "topic", "partition", "offset"]) for r in rows]
    for item in records:
        # As a reader sees them: the personal fields opened with the subject's key (or "erased"); the hashes are the
        # stored, sealed form's.
        item["data"], item["changes"] = await reveal(item["data"], item["changes"], event_id=item["event_id"])
    return {"records": records}


router = privacy_router("audit", PROCESSING, collect)
