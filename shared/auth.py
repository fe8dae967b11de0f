"""Access tokens: verification from the identity service's JWKS, and the current-user dependency.

The algorithm is pinned (ES256): a token whose header names any other algorithm — `none`, or an
HS256 token "signed" with the public key — is refused before any key is touched. `iss`, `aud`,
`exp`, `iat` and `sub` are required and checked.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from uuid import UUID

import httpx
import jwt
from fastapi import Depends, Request

from shared import context
from shared.context import Actor
from shared.errors import Forbidden, Unauthorized

ALGORITHM = "ES256"
Role = Literal["Employee", "Manager", "Admin"]
ROLES: tuple[Role, ...] = ("Employee", "Manager", "Admin")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: UUID
    role: Role
    department_id: UUID | None
    name: str
    email: str
    issued_at: float = 0.0  # the token's `iat` (epoch seconds)

    @property
    def is_admin(self) -> bool:
        return self.role == "Admin"

    @property
    def actor(self) -> Actor:
        return Actor("user", str(self.user_id))


def token_expiry(token: str) -> float:
    """When an already verified token expires (seconds since the epoch, wall clock): a live stream ends then."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return float(claims["exp"])


class KeySource(Protocol):
    async def key_for(self, kid: str | None) -> Any: ...


class JWKSKeySource:
    """Public keys fetched from a JWKS URL, cached, refetched when an unknown `kid` shows up."""

    def __init__(self, url: str, *, cache_seconds: int = 300, min_refetch_seconds: float = 5.0):
        self.url = url
        self.cache_seconds = cache_seconds
        self.min_refetch_seconds = min_refetch_seconds
        self._keys: dict[str, Any] = {}
        self._fetched_at = 0.0
        self._lock = asyncio.Lock()

    async def _refresh(self) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(self.url)
            response.raise_for_status()
            jwks = response.json()
        keys = {}
        for entry in jwks.get("keys", []):
            if entry.get("alg", ALGORITHM) == ALGORITHM and entry.get("kid"):
                keys[entry["kid"]] = jwt.PyJWK(entry, algorithm=ALGORITHM).key
        self._keys = keys
        self._fetched_at = time.monotonic()

    async def key_for(self, kid: str | None) -> Any:
        if not kid:
            raise Unauthorized("token has no key id")
        age = time.monotonic() - self._fetched_at
        if kid not in self._keys or age > self.cache_seconds:
            async with self._lock:
                age = time.monotonic() - self._fetched_at
                if (kid not in self._keys and age > self.min_refetch_seconds) or age > self.cache_seconds:
                    try:
                        await self._refresh()
                    except (httpx.HTTPError, ValueError) as exc:
                        if kid not in self._keys:
                            raise Unauthorized("signing keys are unavailable; try again shortly") from exc
        if kid not in self._keys:
            raise Unauthorized("token signed with an unknown key")
        return self._keys[kid]


class TokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: KeySource,
        leeway_seconds: int = 10,
        is_deactivated: Callable[[UUID], bool] | None = None,
        revoked_before: Callable[[UUID], float | None] | None = None,
    ):
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        self.leeway = leeway_seconds
        self.is_deactivated = is_deactivated
        self.revoked_before = revoked_before
        # Verified tokens, kept until they expire: a frontend sends the same token many times.
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        self.cache_size = 10_000

    async def verify(self, token: str) -> Principal:
        cached = self._verified.get(token)
        if cached is not None and cached[1] > time.time():
            principal = cached[0]
        else:
            principal = await self._verify(token)
        if self.is_deactivated is not None and self.is_deactivated(principal.user_id):
            raise Unauthorized("this user has been deactivated")
        if self.revoked_before is not None:
            revoked_at = self.revoked_before(principal.user_id)
            if revoked_at is not None and principal.issued_at < revoked_at:
                raise Unauthorized(
                    "this token was revoked (the user's role, department or password changed): log in again"
                )
        return principal

    async def _verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("malformed token") from exc
        if header.get("alg") != ALGORITHM:
            raise Unauthorized(f"token algorithm must be {ALGORITHM}")
        key = await self.keys.key_for(header.get("kid"))
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("token has expired") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthorized("token is not valid yet") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("token audience is not accepted") from exc
        except jwt.InvalidIssuerError as exc:
            raise Unauthorized("token issuer is not accepted") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token: {exc}") from exc
        try:
            role = claims["role"]
            if role not in ROLES:
                raise ValueError(role)
            dept = claims.get("department_id")
            principal = Principal(
                user_id=UUID(claims["sub"]),
                role=role,
                department_id=UUID(dept) if dept else None,
                name=claims.get("name", ""),
                email=claims.get("email", ""),
                issued_at=float(claims["iat"]),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise Unauthorized("token claims are incomplete") from exc
        self._verified[token] = (principal, float(claims["exp"]) + self.leeway)
        if len(self._verified) > self.cache_size:
            self._verified.popitem(last=False)
        return principal


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token")
    return token.strip()


async def current_user(request: Request) -> Principal:
    """FastAPI dependency: the verified caller, or 401. The caller is bound as the request's actor here, once
    (`shared.context`): the outbox stamps it on every event the request writes, and services read it from
    there. Async, so FastAPI runs it in the request's own context and the binding reaches the endpoint."""
    verifier: TokenVerifier = request.app.state.token_verifier
    principal = await verifier.verify(bearer_token(request))
    request.state.principal = principal
    # No reset here: RequestContextMiddleware resets the whole request's context when the request ends.
    context.bind(actor=principal.actor)
    return principal


def require_role(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """FastAPI dependency factory: the caller, if their role is one of `roles`; else 403."""

    async def dependency(user: Principal = Depends(current_user)) -> Principal:
        if user.role not in roles:
            raise Forbidden(f"this action needs the role {' or '.join(roles)}")
        return user

    return dependency
