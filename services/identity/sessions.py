"""Login sessions: rotating, revocable refresh tokens. Functions flush but never commit.

A refresh token is `<token id>.<secret>`; only the secret's SHA-256 is stored. Each refresh uses the token up
and issues the next one of the same session (its family). A token that was already used, presented again after
the grace, means it was copied: the whole session is revoked. Deactivating a user, changing their role,
department or password, or logging out revokes their sessions.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.identity import repository as repo
from services.identity.models import RefreshToken, User
from services.identity.settings import IdentitySettings
from shared import clock
from shared.errors import Conflict, Unauthorized


class SessionEnded(Unauthorized):
    """A refresh refused in a way that ends the whole session (a reused token, a deactivated user). The
    refusal's own transaction is rolled back, so the caller revokes `family_id` in one of its own."""

    def __init__(self, detail: str, *, family_id: uuid.UUID):
        super().__init__(detail)
        self.family_id = family_id


@dataclass(frozen=True)
class IssuedRefreshToken:
    value: str
    expires_at: datetime


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def _parse(value: str) -> tuple[uuid.UUID, str] | None:
    token_id, _, secret = value.partition(".")
    if not secret or len(value) > 200:
        return None
    try:
        return uuid.UUID(token_id), secret
    except ValueError:
        return None


def _add(
    session: AsyncSession,
    user_id: uuid.UUID,
    family_id: uuid.UUID,
    family_expires_at: datetime,
    settings: IdentitySettings,
) -> IssuedRefreshToken:
    now = clock.now()
    secret = secrets.token_urlsafe(32)
    expires_at = min(now + timedelta(seconds=settings.refresh_token_ttl_seconds), family_expires_at)
    token = RefreshToken(
        id=uuid.uuid4(),
        family_id=family_id,
        user_id=user_id,
        secret_sha256=_digest(secret),
        created_at=now,
        expires_at=expires_at,
        family_expires_at=family_expires_at,
    )
    session.add(token)
    return IssuedRefreshToken(f"{token.id}.{secret}", expires_at)


async def start_session(session: AsyncSession, user: User, settings: IdentitySettings) -> IssuedRefreshToken:
    """The first refresh token of a new login."""
    family_expires_at = clock.now() + timedelta(seconds=settings.refresh_session_max_seconds)
    issued = _add(session, user.id, uuid.uuid4(), family_expires_at, settings)
    await session.flush()
    return issued


async def refresh(
    session: AsyncSession, value: str | None, settings: IdentitySettings
) -> tuple[User, IssuedRefreshToken]:
    """Use up a refresh token: its user (who must still be active) and the session's next token."""
    parsed = _parse(value or "")
    if parsed is None:
        raise Unauthorized("no valid session: log in again")
    token_id, secret = parsed
    token = await repo.get_refresh_token(session, token_id)
    if token is None or not hmac.compare_digest(token.secret_sha256, _digest(secret)):
        raise Unauthorized("no valid session: log in again")
    now = clock.now()
    if token.revoked_at is not None:
        raise Unauthorized("this session has ended: log in again")
    if token.rotated_at is not None:
        if (now - token.rotated_at).total_seconds() <= settings.refresh_reuse_grace_seconds:
            # Two tabs refreshing with the same cookie: the other one has just set the next one, which a retry
            # sends. Not a 401: the session is fine.
            raise Conflict(
                "this session was refreshed a moment ago in another tab: retry", headers={"Retry-After": "1"}
            )
        raise SessionEnded(
            "this session's refresh token was used twice, so the session was ended: log in again",
            family_id=token.family_id,
        )
    if token.expires_at <= now:
        raise Unauthorized("this session has expired: log in again")
    user = await repo.get_user(session, token.user_id)
    if user is None or not user.active:
        raise SessionEnded("this account is deactivated", family_id=token.family_id)
    token.rotated_at = now
    issued = _add(session, user.id, token.family_id, token.family_expires_at, settings)
    await session.flush()
    return user, issued


async def revoke_ended_session(sessionmaker: async_sessionmaker[AsyncSession], ended: SessionEnded) -> None:
    """Revoke the session a refusal ended, in a transaction of its own (the refusal's is rolled back)."""
    async with sessionmaker() as session, session.begin():
        await repo.revoke_refresh_family(session, ended.family_id, clock.now())


async def end_session(session: AsyncSession, value: str | None) -> None:
    """Log out: revoke the session the token belongs to (nothing happens for an unknown or invalid token)."""
    parsed = _parse(value or "")
    if parsed is None:
        return
    token_id, secret = parsed
    token = await repo.get_refresh_token(session, token_id)
    if token is not None and hmac.compare_digest(token.secret_sha256, _digest(secret)):
        await repo.revoke_refresh_family(session, token.family_id, clock.now())


async def end_sessions_of(session: AsyncSession, user_id: uuid.UUID) -> None:
    await repo.revoke_refresh_tokens_of_user(session, user_id, clock.now())
