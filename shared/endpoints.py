"""What every service's endpoint module declares the same way: the request's session, the caller by
role, and the documented problem answers."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import Principal, current_user, require_role
from shared.db import get_session

Session = Annotated[AsyncSession, Depends(get_session)]
Caller = Annotated[Principal, Depends(current_user)]
Admin = Annotated[Principal, Depends(require_role("Admin"))]
Manager = Annotated[Principal, Depends(require_role("Manager", "Admin"))]

_PROBLEMS = {
    401: "Missing, invalid or expired token (problem+json)",
    403: "The caller's role may not do this (problem+json)",
    404: "Not found, or outside the caller's scope (problem+json)",
    409: "Conflicts with existing data (problem+json)",
    422: "Invalid input; `errors` names each field (problem+json)",
}


def problems(**overrides: str) -> dict[int | str, dict[str, Any]]:
    """The problem answers for `responses=`; `problems(s409="...")` words one for this service."""
    texts = {**_PROBLEMS, **{int(k.lstrip("s")): v for k, v in overrides.items()}}
    return {status: {"description": text} for status, text in texts.items()}
