"""Data-subject rights in identity (see `shared.privacy`): what it declares about its processing, what an erasure
does to the rows it holds, and its part of a subject's export.

A user subject (an employee): the account is pseudonymised (name "erased", an undeliverable email, a password that
matches nothing) and deactivated, its login sessions end. The deactivation is announced as any other
(`identity.user.deactivated`, carrying `active` alone, no personal field), so every service ends the user's tokens
as it always does; every replica takes out the name and email itself from the privacy event. Identity holds
nothing about clients.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity import repository as repo
from services.identity import sessions
from services.identity.models import Department, RefreshToken
from services.identity.service import outbox
from shared import clock
from shared.contracts import FieldChange
from shared.contracts.identity import UserDeactivated
from shared.contracts.privacy import ERASED, SubjectErased, SubjectKind
from shared.errors import NotFound
from shared.messaging.envelope import Envelope
from shared.privacy.rights import Processing, erased_email, privacy_router, record

# Not an argon2 hash: no password ever matches it (a login is refused as for a wrong password).
NO_PASSWORD = "!erased"

PROCESSING = {
    "user": Processing(
        purposes=[
            "Giving the employee access to the platform (login, role, department)",
            "Security: sessions and token revocation",
        ],
        categories=["name, email, role, department", "password (as a one-way hash)", "login sessions"],
        recipients=[
            "Admins; every service of the platform (name, email, role and department, to show and authorise the user)"
        ],
        retention="While the employee has an account; erased on request",
        source="Entered by an Admin",
    ),
}


async def erase_subject(session: AsyncSession, envelope: Envelope, data: SubjectErased) -> None:
    """Handler of privacy.subject.erased."""
    if data.subject_kind != "user" or data.subject_id in {k.record_id for k in data.kept if k.what == "user"}:
        return
    user = await repo.get_user(session, data.subject_id, for_update=True)
    if user is None or user.name == ERASED:
        return  # unknown, or erased already
    was_active = user.active
    user.name, user.email, user.password_hash = ERASED, erased_email(user.id), NO_PASSWORD
    user.active, user.updated_at = False, clock.now()
    await sessions.end_sessions_of(session, user.id)
    await session.flush()
    if was_active:
        changes = {"active": FieldChange(before=True, after=False)}
        await outbox.add(session, UserDeactivated(user_id=user.id, changes=changes), subject=str(user.id))


async def collect(session: AsyncSession, kind: SubjectKind, subject_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    if kind != "user":
        return {}
    user = await repo.get_user(session, subject_id)
    if user is None:
        raise NotFound(f"no user {subject_id}")
    managed = await session.execute(select(Department).where(Department.manager_id == user.id))
    tokens = await session.execute(
        select(RefreshToken).where(RefreshToken.user_id == user.id).order_by(RefreshToken.created_at)
    )
    return {
        "account": [record(user, without=["password_hash"])],
        "departments_managed": [record(d) for d in managed.scalars()],
        "login_sessions": [record(t, without=["secret_sha256"]) for t in tokens.scalars()],
    }


router = privacy_router("identity", PROCESSING, collect)
