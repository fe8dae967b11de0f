"""Events of the audit service. Topic `audit.checkpoint.events`; key: `audit-chain`.

A checkpoint names the head of the audit hash chain at a moment: the newest record's chain position
and hash. Whoever keeps checkpoints (any subscriber, the service's checkpoint file) can later prove
that the newest records were not removed or altered, which the chain alone cannot show.
"""

from __future__ import annotations

from datetime import datetime

from shared.contracts.base import EventData, event

CHAIN_SUBJECT = "audit-chain"


@event("audit.checkpoint.recorded")
class CheckpointRecorded(EventData):
    """The chain head was checkpointed: record `seq` has hash `hash` (SHA-256, hex)."""

    seq: int
    hash: str
    checkpointed_at: datetime
