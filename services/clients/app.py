"""The clients service: client profiles, the corporate tree, and a status kept true by contract events."""

from __future__ import annotations

from fastapi import FastAPI

from services.clients.endpoints import router
from services.clients.imports.endpoints import router as imports_router
from services.clients.imports.service import interrupt_stale
from services.clients.models import messaging, people
from services.clients.privacy import router as privacy_router
from services.clients.settings import ClientsSettings
from services.clients.subscriptions import CONSUMERS
from shared.app import ServiceParts, create_service_app
from shared.contracts.topics import CLIENTS


def create_app(settings: ClientsSettings | None = None) -> FastAPI:
    settings = settings or ClientsSettings()

    return create_service_app(
        ServiceParts(
            settings=settings,
            title="InsureOps clients",
            description="Client profiles (individual or company), the parent/child corporate tree with roll-ups, "
            "and each client's status, maintained from contract events.",
            routers=[imports_router, router, privacy_router],
            tables=messaging,
            people=people,
            publishes=[CLIENTS],
            consumers=CONSUMERS,
            tags=[
                {"name": "clients", "description": "Client profiles, hierarchy and status"},
                {"name": "imports", "description": "Clients and contracts from spreadsheets: dry run, then commit"},
            ],
            on_startup=[interrupt_stale],
            # Imports take spreadsheets, larger than the usual request body.
            multipart_uploads=True,
            larger_bodies={"/api/v1/imports": settings.import_max_bytes + 64 * 1024},
        )
    )
