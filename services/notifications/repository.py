"""Every query of the notifications service."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.channels import Recipient
from services.notifications.models import KnownTitle, Notification, NotificationCursor, NotificationPreference, people
from services.notifications.recipients import TitleKey


# Inbox ----------------------------------------------------------------------------------------------
def _inbox(user_id: uuid.UUID, *, unread: bool | None, kind: str | None):
    stmt = select(Notification).where(Notification.recipient_id == user_id)
    if unread is True:
        stmt = stmt.where(Notification.read_at.is_(None))
    elif unread is False:
        stmt = stmt.where(Notification.read_at.is_not(None))
    if kind is not None:
        stmt = stmt.where(Notification.kind == kind)
    return stmt


async def list_inbox(session: AsyncSession, user_id: uuid.UUID, *, unread: bool | None, kind: str | None,
                     limit: int, offset: int) -> tuple[list[Notification], int]:
    """The user's notifications: unread first, then newest first."""
    stmt = _inbox(user_id, unread=unread, kind=kind)
    total = (await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one()
    stmt = stmt.order_by(Notification.read_at.is_(None).desc(), Notification.created_at.desc(),
                         Notification.seq.desc()).limit(limit).offset(offset)
    return list((await session.execute(stmt)).scalars()), total


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    return (await session.execute(select(func.count()).where(
        Notification.recipient_id == user_id, Notification.read_at.is_(None)))).scalar_one()


async def get_for_recipient(session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification | None:
    return (await session.execute(select(Notification).where(
        Notification.id == notification_id, Notification.recipient_id == user_id))).scalar_one_or_none()


async def mark_read(session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID,
                    at: datetime) -> Notification | None:
    """Mark one of the user's notifications read (the first read time is kept)."""
    return (await session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.recipient_id == user_id)
        .values(read_at=func.coalesce(Notification.read_at, at))
        .returning(Notification)
        .execution_options(synchronize_session=False)
    )).scalar_one_or_none()


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> int:
    result = await session.execute(
        update(Notification)
        .where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
        .values(read_at=at)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


# Streams --------------------------------------------------------------------------------------------
async def after_seq(session: AsyncSession, user_id: uuid.UUID, seq: int, limit: int) -> list[Notification]:
    """The user's notifications after sequence number `seq`, oldest first."""
    return list((await session.execute(
        select(Notification).where(Notification.recipient_id == user_id, Notification.seq > seq)
        .order_by(Notification.seq).limit(limit))).scalars())


async def last_seq(session: AsyncSession, user_id: uuid.UUID) -> int:
    value = await session.scalar(select(NotificationCursor.last_seq).where(NotificationCursor.recipient_id == user_id))
    return int(value or 0)


async def take_seqs(session: AsyncSession, counts: dict[uuid.UUID, int]) -> dict[uuid.UUID, int]:
    """Reserve `counts[r]` sequence numbers for each recipient; returns each one's new last number.

    The cursor rows stay locked until commit, taken in id order so two writers cannot deadlock.
    """
    if not counts:
        return {}
    rows = [{"recipient_id": r, "last_seq": counts[r]} for r in sorted(counts)]
    stmt = pg_insert(NotificationCursor).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[NotificationCursor.recipient_id],
        set_={"last_seq": NotificationCursor.last_seq + stmt.excluded.last_seq},
    ).returning(NotificationCursor.recipient_id, NotificationCursor.last_seq)
    return {r: int(last) for r, last in (await session.execute(stmt)).all()}


async def insert_notifications(session: AsyncSession, rows: list[dict]) -> list[Notification]:
    """Insert; a (source event, recipient) pair already stored is skipped. Returns the rows inserted."""
    if not rows:
        return []
    stmt = (pg_insert(Notification)
            .on_conflict_do_nothing(constraint="uq_notifications_source_event_recipient")
            .returning(Notification))
    return list((await session.scalars(stmt, rows)).all())


# Replica and titles ---------------------------------------------------------------------------------
async def recipients(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Recipient]:
    users = people.users
    rows = (await session.execute(select(users.c.id, users.c.name, users.c.email, users.c.active)
                                  .where(users.c.id.in_(list(ids))))).all()
    return {r.id: Recipient(id=r.id, name=r.name, email=r.email, active=r.active) for r in rows}


async def department_managers(session: AsyncSession) -> dict[uuid.UUID, uuid.UUID | None]:
    departments = people.departments
    return dict((await session.execute(select(departments.c.id, departments.c.manager_id))).all())


async def known_titles(session: AsyncSession, keys: Iterable[TitleKey]) -> dict[TitleKey, str]:
    keys = list(set(keys))
    if not keys:
        return {}
    ids = {k[1] for k in keys}
    rows = (await session.execute(select(KnownTitle.resource_type, KnownTitle.resource_id, KnownTitle.title)
                                  .where(KnownTitle.resource_id.in_(ids)))).all()
    return {(t, i): title for t, i, title in rows}


async def save_titles(session: AsyncSession, titles: dict[TitleKey, str]) -> None:
    if not titles:
        return
    rows = [{"resource_type": t, "resource_id": i, "title": title[:300]} for (t, i), title in sorted(titles.items())]
    stmt = pg_insert(KnownTitle).values(rows)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[KnownTitle.resource_type, KnownTitle.resource_id],
        set_={"title": stmt.excluded.title, "updated_at": func.now()}))


# Preferences ----------------------------------------------------------------------------------------
async def preferences_of(session: AsyncSession, user_ids: Iterable[uuid.UUID]) -> dict[tuple[uuid.UUID, str], list[str]]:
    rows = (await session.execute(select(NotificationPreference.user_id, NotificationPreference.kind,
                                         NotificationPreference.channels)
                                  .where(NotificationPreference.user_id.in_(list(user_ids))))).all()
    return {(u, k): list(c) for u, k, c in rows}


async def save_preferences(session: AsyncSession, user_id: uuid.UUID, kinds: dict[str, list[str]]) -> None:
    if not kinds:
        return
    rows = [{"user_id": user_id, "kind": k, "channels": c} for k, c in sorted(kinds.items())]
    stmt = pg_insert(NotificationPreference).values(rows)
    await session.execute(stmt.on_conflict_do_update(
        index_elements=[NotificationPreference.user_id, NotificationPreference.kind],
        set_={"channels": stmt.excluded.channels, "updated_at": func.now()}))
