"""What audit consumes: every domain event of every topic matching its pattern (new topics are picked up),
appended to the hash chain in batches."""

from __future__ import annotations

from services.audit.service import ChainAppender, chain_key
from services.audit.settings import AuditSettings
from shared.messaging.subscriptions import Consumer


def consumers(settings: AuditSettings) -> tuple[Consumer, ...]:
    return (
        Consumer(
            "audit",
            batch=ChainAppender(chain_key(settings)).record_events,
            pattern=settings.audit_topic_pattern,
            sealed=True,
        ),
    )
