"""The contracts service: contracts from accepted deals or by hand, and their lifecycle (issue,
activation, expiry, cancellation with pro-rata refund, renewal notice)."""

from __future__ import annotations

from fastapi import FastAPI

from services.contracts import service
from services.contracts.endpoints import referral_router, router
from services.contracts.models import messaging, people
from services.contracts.privacy import router as privacy_router
from services.contracts.settings import ContractsSettings
from services.contracts.subscriptions import CONSUMERS
from shared.app import ServiceParts, create_service_app
from shared.contracts.topics import CONTRACTS, CONTRACTS_REFERRAL_RULES
from shared.jobs import PeriodicJob


def create_app(settings: ContractsSettings | None = None) -> FastAPI:
    settings = settings or ContractsSettings()

    async def lifecycle_scan(session):
        return await service.lifecycle_scan(
            session,
            today=service.business_today(settings.business_timezone),
            renewal_days=settings.renewal_notice_days,
            batch_size=settings.lifecycle_scan_batch_size,
            at_risk_days=settings.renewal_at_risk_days,
        )

    return create_service_app(
        ServiceParts(
            settings=settings,
            title="InsureOps contracts",
            description="Contracts (premium, currency, dates, policy number, status) and their lifecycle: issue, "
            "activation, expiry, cancellation with pro-rata refund, renewal notice.",
            routers=[referral_router, router, privacy_router],
            tables=messaging,
            people=people,
            publishes=[CONTRACTS, CONTRACTS_REFERRAL_RULES],
            consumers=CONSUMERS,
            jobs=[PeriodicJob("lifecycle_scan", settings.lifecycle_scan_interval_seconds, lifecycle_scan)],
            tags=[
                {"name": "contracts", "description": "Contracts and their lifecycle"},
                {"name": "referrals", "description": "Referral rules and the referrals that hold a step"},
                {"name": "renewals", "description": "The renewal workbench"},
            ],
        )
    )
