"""The identity service: users, departments, access tokens and the JWKS that verifies them."""

from __future__ import annotations

from fastapi import FastAPI

from services.identity.endpoints import router
from services.identity.keys import load_key_ring
from services.identity.models import messaging
from services.identity.privacy import router as privacy_router
from services.identity.settings import IdentitySettings
from services.identity.subscriptions import CONSUMERS
from services.identity.throttle import LoginThrottle
from shared.app import ServiceParts, create_service_app
from shared.contracts.topics import IDENTITY


async def _load_keys(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        app.state.key_ring = await load_key_ring(session, app.state.settings.signing_key_file)


async def _key_source(app: FastAPI):
    # Identity verifies its own tokens with the keys it holds, not over HTTP.
    return app.state.key_ring


def create_app(settings: IdentitySettings | None = None) -> FastAPI:
    settings = settings or IdentitySettings()
    app = create_service_app(
        ServiceParts(
            settings=settings,
            title="InsureOps identity",
            description="Users, departments, roles; access tokens (ES256 JWT) and their JWKS.",
            routers=[router, privacy_router],
            tables=messaging,
            publishes=list(IDENTITY),
            consumers=CONSUMERS,
            on_startup=[_load_keys],
            key_source=_key_source,
        )
    )
    # Failed logins per account, in this process (see `services.identity.throttle`).
    app.state.login_throttle = LoginThrottle(
        free=settings.login_free_failures, base=settings.login_delay_seconds, ceiling=settings.login_max_delay_seconds
    )
    return app
