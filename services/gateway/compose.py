"""Composed reads at the gateway: Client 360 (`client360.py`), the role-aware dashboard (`dashboard.py`),
every service's dead letters (`dead_letters.py`) and a data subject's export (`privacy_export.py`, whole or
nothing: unlike the reads below, a part missing makes it a 503), on one router.

A composed read asks several services at once (`parts.py`), each with the caller's own token (every service
applies the caller's scope to the records it owns), and always answers within a set time: each part has its
own deadline (`COMPOSE_PART_TIMEOUT_SECONDS`) and the whole answer another (`COMPOSE_DEADLINE_SECONDS`).
A part that did not arrive is null in the answer and listed in `missing` with why:

- `timeout`: no answer within the part's deadline (or the overall one);
- `unavailable`: the service could not be reached, is not configured, or has no such endpoint
  (connection refused or reset, 404, 502, 503, 504);
- `forbidden`: the service refused the caller (401, 403) — e.g. an Employee asking for audit history;
- `error`: any other answer (500, a 4xx, a body that is not JSON).

Such a partial answer is still 200; `complete` says whether anything is missing. Only the decisive
part of Client 360 — the client itself — changes the status: its 404 (no such client, or outside the
caller's scope) makes the whole answer 404.
"""

from __future__ import annotations

from fastapi import APIRouter

from services.gateway.answers import PROBLEMS
from services.gateway.client360 import add_client_360
from services.gateway.dashboard import add_dashboard
from services.gateway.dead_letters import add_dead_letters
from services.gateway.own_openapi import merge_own_openapi, openapi_fragment, rename_schemas
from services.gateway.parts import Composer
from services.gateway.privacy_export import add_privacy_export
from services.gateway.settings import GatewaySettings

# The gateway's app merges its own paths into the platform's document through these names.
__all__ = ["build_router", "merge_own_openapi", "openapi_fragment", "rename_schemas"]


def build_router(settings: GatewaySettings, upstreams: dict[str, str]) -> APIRouter:
    router = APIRouter(tags=["composed"], responses={401: PROBLEMS[401], 422: PROBLEMS[422]})
    composer = Composer(settings, upstreams)
    add_client_360(router, composer)
    add_dashboard(router, composer)
    add_dead_letters(router, composer)
    add_privacy_export(router, settings, upstreams)
    return router
