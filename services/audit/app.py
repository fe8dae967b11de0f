"""The audit service: every event on every `*.events` topic, recorded once in a hash chain, never rewritten."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from services.audit.checkpoints import take_checkpoint
from services.audit.endpoints import router
from services.audit.models import messaging
from services.audit.privacy import router as privacy_router
from services.audit.settings import AuditSettings
from services.audit.subscriptions import consumers
from shared.app import ServiceParts, create_service_app
from shared.contracts.audit import CheckpointRecorded
from shared.jobs import PeriodicJob
from shared.messaging.envelope import topic_for
from shared.messaging.outbox import Outbox


def create_app(settings: AuditSettings | None = None) -> FastAPI:
    settings = settings or AuditSettings()
    outbox = Outbox(settings.service_name, messaging.outbox)
    checkpoint = PeriodicJob(
        name="checkpoint",
        interval_seconds=settings.audit_checkpoint_interval_seconds,
        run=partial(take_checkpoint, outbox=outbox, path=settings.audit_checkpoint_file),
    )
    return create_service_app(
        ServiceParts(
            settings=settings,
            title="InsureOps audit",
            description=(
                "The append-only, hash-chained record of every domain event: query it by aggregate, actor, "
                "type, time and client; verify the chain; export it for compliance."
            ),
            routers=[router, privacy_router],
            tables=messaging,
            publishes=[topic_for(CheckpointRecorded.event_type)],
            consumers=consumers(settings),
            jobs=[checkpoint],
        )
    )
