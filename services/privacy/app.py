"""The privacy service: each data subject's key (crypto-shredding of their personal data in events and in the audit
trail), the erasure decision (GDPR Art. 17: what must be kept, and why) and the record of data-subject requests.

A service of its own, with its own database and role: the keys live apart from the data they protect (see
`services.privacy.service`), and identity, the hot login path, does not also serve every key lookup."""

from __future__ import annotations

from fastapi import FastAPI

from services.privacy.endpoints import internal, router
from services.privacy.models import messaging
from services.privacy.settings import PrivacySettings
from services.privacy.subscriptions import CONSUMERS
from shared.app import ServiceParts, create_service_app
from shared.contracts.topics import PRIVACY_REQUESTS, PRIVACY_SUBJECTS
from shared.privacy.crypto import master_key_from_secret


def create_app(settings: PrivacySettings | None = None) -> FastAPI:
    settings = settings or PrivacySettings()
    secret = settings.privacy_master_key.get_secret_value() if settings.privacy_master_key is not None else ""

    async def need_master_key(app: FastAPI) -> None:
        if not secret:
            raise RuntimeError("PRIVACY_MASTER_KEY is not set: the privacy service cannot keep keys without it")

    app = create_service_app(
        ServiceParts(
            settings=settings,
            title="InsureOps privacy",
            description="Data-subject rights: each subject's key (their personal data in events and in the audit "
            "trail is sealed with it, and erased by destroying it), erasure decisions (what the law requires to "
            "keep, and why) and the record of data-subject requests.",
            routers=[router, internal],
            tables=messaging,
            publishes=[PRIVACY_SUBJECTS, PRIVACY_REQUESTS],
            consumers=CONSUMERS,
            on_startup=[need_master_key],
            tags=[{"name": "privacy", "description": "Data-subject requests: erasure, the requests received"}],
        )
    )
    app.state.master_key = master_key_from_secret(secret) if secret else None
    return app
