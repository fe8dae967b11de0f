"""The audit service: every event on every `*.events` topic, recorded once, never rewritten."""

from __future__ import annotations

from fastapi import FastAPI

from services.audit.endpoints import router
from services.audit.models import messaging
from services.audit.service import record_events
from services.audit.settings import AuditSettings
from shared.app import ConsumerSpec, ServiceParts, create_service_app


def create_app(settings: AuditSettings | None = None) -> FastAPI:
    settings = settings or AuditSettings()
    return create_service_app(ServiceParts(
        settings=settings,
        title="InsureOps audit",
        description="The append-only record of every domain event, queryable by aggregate, actor, type and time.",
        routers=[router],
        tables=messaging,
        consumers=[ConsumerSpec(name="audit", pattern=settings.audit_topic_pattern, batch_handler=record_events)],
    ))
