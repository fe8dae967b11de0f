"""Every query of the identity service."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import Department, RefreshToken, SigningKey, User
from shared.pagination import PageParams, apply_sort, page_total

USER_SORTS = {"name": User.name, "email": User.email, "role": User.role, "created_at": User.created_at}
DEPARTMENT_SORTS = {"name": Department.name, "created_at": Department.created_at}


async def get_user(session: AsyncSession, user_id: uuid.UUID, *, for_update: bool = False) -> User | None:
    stmt = select(User).where(User.id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_user_by_email(session: AsyncSession, email: str, *, for_share: bool = False) -> User | None:
    stmt = select(User).where(User.email == email.lower())
    if for_share:
        stmt = stmt.with_for_update(read=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_users(
    session: AsyncSession,
    page: PageParams,
    *,
    department_id: uuid.UUID | None = None,
    role: str | None = None,
    active: bool | None = None,
    q: str | None = None,
) -> tuple[list[User], int]:
    stmt = select(User)
    if department_id is not None:
        stmt = stmt.where(User.department_id == department_id)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.active == active)
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(func.lower(User.name).like(like) | User.email.like(like))
    paged = apply_sort(stmt, page.sort, USER_SORTS, "name", User.id).limit(page.limit).offset(page.offset)
    rows = list((await session.execute(paged)).scalars())
    return rows, await page_total(session, stmt, found=len(rows), limit=page.limit, offset=page.offset)


async def users_by_ids(session: AsyncSession, user_ids: list[uuid.UUID]) -> list[User]:
    return list(
        (await session.execute(select(User).where(User.id.in_(user_ids)).order_by(User.name, User.id))).scalars()
    )


async def count_users_in_department(session: AsyncSession, department_id: uuid.UUID) -> int:
    return (await session.execute(select(func.count()).where(User.department_id == department_id))).scalar_one()


async def get_department(
    session: AsyncSession, department_id: uuid.UUID, *, for_update: bool = False
) -> Department | None:
    stmt = select(Department).where(Department.id == department_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_department_by_name(session: AsyncSession, name: str) -> Department | None:
    return (
        await session.execute(
            # Both sides lowered by PostgreSQL: Python's lower() folds letters the database's may not, and then
            # the check would miss a name the unique constraint still refuses.
            select(Department).where(func.lower(Department.name) == func.lower(name))
        )
    ).scalar_one_or_none()


async def list_departments(session: AsyncSession, page: PageParams) -> tuple[list[Department], int]:
    stmt = apply_sort(select(Department), page.sort, DEPARTMENT_SORTS, "name", Department.id)
    rows = list((await session.execute(stmt.limit(page.limit).offset(page.offset))).scalars())
    return rows, await page_total(session, select(Department), found=len(rows), limit=page.limit, offset=page.offset)


async def get_refresh_token(session: AsyncSession, token_id: uuid.UUID) -> RefreshToken | None:
    stmt = select(RefreshToken).where(RefreshToken.id == token_id).with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def revoke_refresh_family(session: AsyncSession, family_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )


async def revoke_refresh_tokens_of_user(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=at)
    )


# Signing keys -------------------------------------------------------------------------------------
async def lock_signing_keys(session: AsyncSession) -> None:
    """Hold the signing keys to the end of the transaction: two replicas starting together must not both
    generate a key."""
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('identity-signing-key'))"))


async def signing_keys(session: AsyncSession) -> list[SigningKey]:
    """Every signing key, newest first."""
    return list((await session.execute(select(SigningKey).order_by(SigningKey.created_at.desc()))).scalars())


async def add_signing_key(session: AsyncSession, kid: str, private_pem: str) -> None:
    await session.execute(pg_insert(SigningKey).values(kid=kid, private_pem=private_pem).on_conflict_do_nothing())
