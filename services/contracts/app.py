"""The contracts service: contracts from accepted deals or by hand, and their lifecycle (issue,
activation, expiry, cancellation with pro-rata refund, renewal notice)."""

from __future__ import annotations

from fastapi import FastAPI

from services.contracts import service
from services.contracts.endpoints import router
from services.contracts.models import messaging
from services.contracts.settings import ContractsSettings
from shared.app import ConsumerSpec, ServiceParts, create_service_app
from shared.jobs import PeriodicJob

CONSUMED_TOPICS = ["pipeline.opportunity.events", "clients.client.events"]


def create_app(settings: ContractsSettings | None = None) -> FastAPI:
    settings = settings or ContractsSettings()

    async def lifecycle_scan(session):
        return await service.lifecycle_scan(
            session, today=service.business_today(settings.business_timezone),
            renewal_days=settings.renewal_notice_days, batch_size=settings.lifecycle_scan_batch_size)

    return create_service_app(ServiceParts(
        settings=settings,
        title="InsureOps contracts",
        description="Contracts (premium, currency, dates, policy number, status) and their lifecycle: issue, "
                    "activation, expiry, cancellation with pro-rata refund, renewal notice.",
        routers=[router],
        tables=messaging,
        publishes=["contracts.contract.events"],
        consumers=[ConsumerSpec(
            name="contracts",
            topics=CONSUMED_TOPICS,
            handlers={
                "pipeline.opportunity.accepted": service.create_from_accepted_deal,
                "clients.client.created": service.on_client_created,
                "clients.client.updated": service.on_client_updated,
                "clients.client.status_changed": service.on_client_status_changed,
            },
        )],
        jobs=[PeriodicJob("lifecycle_scan", settings.lifecycle_scan_interval_seconds, lifecycle_scan)],
        tags=[{"name": "contracts", "description": "Contracts and their lifecycle"}],
    ))
