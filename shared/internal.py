"""The services' own calls to each other's `/internal/*` APIs (the privacy service's keys and requests): the caller
presents INTERNAL_SERVICE_TOKEN in the `X-Internal-Token` header. The gateway never routes `/internal/*`, so no
user reaches them; a service without the token configured refuses every call."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Request

from shared.errors import Unauthorized

HEADER = "X-Internal-Token"


async def require_internal(
    request: Request, x_internal_token: Annotated[str | None, Header(include_in_schema=False)] = None
) -> None:
    """The caller is one of the platform's services (it holds INTERNAL_SERVICE_TOKEN); else 401."""
    configured = request.app.state.settings.internal_service_token
    if (
        configured is None
        or not x_internal_token
        or not hmac.compare_digest(x_internal_token.encode(), configured.get_secret_value().encode())
    ):
        raise Unauthorized("an internal API: the platform's services only (X-Internal-Token)")


Internal = Annotated[None, Depends(require_internal)]
