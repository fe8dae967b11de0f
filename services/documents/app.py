"""The documents service: files attached to clients, deals, tasks and contracts (metadata in its database, bytes
in a blob store), visible to whoever may see the record they belong to."""

from __future__ import annotations

from fastapi import FastAPI

from services.documents.endpoints import router
from services.documents.models import messaging
from services.documents.privacy import router as privacy_router
from services.documents.settings import DocumentsSettings
from services.documents.storage import open_store
from services.documents.subscriptions import consumers
from shared.app import ServiceParts, create_service_app
from shared.contracts.topics import DOCUMENTS, DOCUMENTS_CHECKLISTS


def create_app(settings: DocumentsSettings | None = None) -> FastAPI:
    settings = settings or DocumentsSettings()
    store = open_store(settings)
    app = create_service_app(
        ServiceParts(
            settings=settings,
            title="InsureOps documents",
            description="Files attached to clients, deals, tasks and contracts: upload (type detected from the "
            "bytes, size limited), versions, download, soft deletion; visible to whoever may see the record.",
            routers=[router, privacy_router],
            tables=messaging,
            publishes=[DOCUMENTS, DOCUMENTS_CHECKLISTS],
            consumers=consumers(settings, store),
            tags=[
                {"name": "documents", "description": "Documents of clients, deals, tasks and contracts"},
                {"name": "checklists", "description": "The documents each stage needs"},
            ],
            multipart_uploads=True,
        )
    )
    app.state.store = store
    return app
