"""Every query of the notifications service."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any, cast

import asyncpg
from sqlalchemy import CursorResult, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.models import (
    EmailDelivery,
    Notification,
    NotificationCursor,
    NotificationPreference,
    people,
)
from services.notifications.recipients import Recipient
from shared.pagination import page_total


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


async def list_inbox(
    session: AsyncSession, user_id: uuid.UUID, *, unread: bool | None, kind: str | None, limit: int, offset: int
) -> tuple[list[Notification], int]:
    """The user's notifications: unread first, then newest first."""
    stmt = _inbox(user_id, unread=unread, kind=kind)
    paged = (
        stmt.order_by(Notification.read_at.is_(None).desc(), Notification.created_at.desc(), Notification.seq.desc())
        .limit(limit)
        .offset(offset)
    )
    rows = list((await session.execute(paged)).scalars())
    return rows, await page_total(session, stmt, found=len(rows), limit=limit, offset=offset)


async def unread_count(session: AsyncSession, user_id: uuid.UUID) -> int:
    return (
        await session.execute(
            select(func.count()).where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
        )
    ).scalar_one()


async def get_for_recipient(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID
) -> Notification | None:
    return (
        await session.execute(
            select(Notification).where(Notification.id == notification_id, Notification.recipient_id == user_id)
        )
    ).scalar_one_or_none()


async def mark_read(
    session: AsyncSession, user_id: uuid.UUID, notification_id: uuid.UUID, at: datetime
) -> Notification | None:
    """Mark one of the user's notifications read (the first read time is kept)."""
    return (
        await session.execute(
            update(Notification)
            .where(Notification.id == notification_id, Notification.recipient_id == user_id)
            .values(read_at=func.coalesce(Notification.read_at, at))
            .returning(Notification)
            .execution_options(synchronize_session=False)
        )
    ).scalar_one_or_none()


async def mark_all_read(session: AsyncSession, user_id: uuid.UUID, at: datetime) -> int:
    # An UPDATE's result is a CursorResult (which has the row count); AsyncSession.execute is typed for any statement.
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Notification)
            .where(Notification.recipient_id == user_id, Notification.read_at.is_(None))
            .values(read_at=at)
            .execution_options(synchronize_session=False)
        ),
    )
    return result.rowcount or 0


# Streams --------------------------------------------------------------------------------------------
# A live stream's reads are single statements that need no transaction: they run on a small asyncpg pool of
# their own, one round trip each (no pool ping, BEGIN or ROLLBACK around them), which keeps the push fast.
_STREAM_AFTER = (
    "SELECT id, recipient_id, seq, kind, title, body, link_type, link_id, source_event_id, source_event_type, "
    "created_at, read_at FROM notifications WHERE recipient_id = $1 AND seq > $2 ORDER BY seq LIMIT $3"
)
_STREAM_START = (
    "SELECT coalesce((SELECT last_seq FROM notification_cursors WHERE recipient_id = $1), 0) AS last, "
    "(SELECT count(*) FROM notifications WHERE recipient_id = $1 AND read_at IS NULL) AS unread"
)


async def stream_start(pool: asyncpg.Pool, user_id: uuid.UUID) -> tuple[int, int]:
    """(the user's last sequence number, their unread count), read on a stream's pool."""
    row = await pool.fetchrow(_STREAM_START, user_id)
    assert row is not None  # two scalar subqueries: always one row
    return int(row["last"]), row["unread"]


async def stream_rows_after(pool: asyncpg.Pool, user_id: uuid.UUID, seq: int, limit: int) -> list[asyncpg.Record]:
    """The user's notifications after sequence number `seq`, oldest first, read on a stream's pool."""
    return await pool.fetch(_STREAM_AFTER, user_id, seq, limit)


async def last_seq(session: AsyncSession, user_id: uuid.UUID) -> int:
    value = await session.scalar(select(NotificationCursor.last_seq).where(NotificationCursor.recipient_id == user_id))
    return int(value or 0)


# One statement: number the drafts per recipient after each one's cursor, and insert them. The cursor rows
# are taken in recipient order and stay locked until commit, so two writers cannot deadlock and a
# recipient's sequence numbers become visible in order. A (source event, recipient) pair already stored
# is skipped (its number is left unused: numbers only need to grow). Plain SQL over arrays: one round
# trip and nothing to compile per batch.
_STORE = text("""
WITH drafts AS (
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:recipients AS uuid[]), CAST(:ords AS int[]),
                         CAST(:kinds AS text[]), CAST(:titles AS text[]), CAST(:bodies AS text[]),
                         CAST(:link_types AS text[]), CAST(:link_ids AS uuid[]), CAST(:event_ids AS text[]),
                         CAST(:event_types AS text[]), CAST(:client_ids AS uuid[]))
        AS d(id, recipient_id, ord, kind, title, body, link_type, link_id, source_event_id, source_event_type,
             client_id)
), counts AS (
    SELECT recipient_id, count(*) AS n FROM drafts GROUP BY recipient_id
), cursors AS (
    INSERT INTO notification_cursors (recipient_id, last_seq)
    SELECT recipient_id, n FROM counts ORDER BY recipient_id
    ON CONFLICT (recipient_id) DO UPDATE SET last_seq = notification_cursors.last_seq + EXCLUDED.last_seq
    RETURNING recipient_id, last_seq
)
INSERT INTO notifications (id, recipient_id, seq, kind, title, body, link_type, link_id, source_event_id,
                           source_event_type, client_id, created_at)
SELECT d.id, d.recipient_id,
       c.last_seq - n.n + row_number() OVER (PARTITION BY d.recipient_id ORDER BY d.ord),
       d.kind, d.title, d.body, d.link_type, d.link_id, d.source_event_id, d.source_event_type, d.client_id,
       CAST(:created_at AS timestamptz)
FROM drafts d JOIN cursors c USING (recipient_id) JOIN counts n USING (recipient_id)
ORDER BY d.ord
ON CONFLICT ON CONSTRAINT uq_notifications_source_event_recipient DO NOTHING
RETURNING id, recipient_id, seq, kind, title, body, link_type, link_id, source_event_id, source_event_type,
          client_id, created_at, read_at
""")


async def store_notifications(session: AsyncSession, rows: list[dict], created_at: datetime) -> list[Notification]:
    """Store new notifications (dicts of the draft columns), numbered per recipient; returns those inserted,
    in `seq` order (as detached rows)."""
    if not rows:
        return []
    params: dict[str, Any] = {
        name: [r[column] for r in rows]
        for name, column in (
            ("ids", "id"),
            ("recipients", "recipient_id"),
            ("kinds", "kind"),
            ("titles", "title"),
            ("bodies", "body"),
            ("link_types", "link_type"),
            ("link_ids", "link_id"),
            ("event_ids", "source_event_id"),
            ("event_types", "source_event_type"),
            ("client_ids", "client_id"),
        )
    }
    params["ords"] = list(range(len(rows)))
    params["created_at"] = created_at
    result = await session.execute(_STORE, params)
    stored = [Notification(**row) for row in result.mappings()]
    return sorted(stored, key=lambda n: (n.recipient_id, n.seq))


# Replica ------------------------------------------------------------------------------------------------
async def recipients(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Recipient]:
    users = people.users
    rows = (
        await session.execute(
            select(users.c.id, users.c.name, users.c.email, users.c.active).where(users.c.id.in_(list(ids)))
        )
    ).all()
    return {r.id: Recipient(id=r.id, name=r.name, email=r.email, active=r.active) for r in rows}


async def department_managers(session: AsyncSession) -> dict[uuid.UUID, uuid.UUID | None]:
    departments = people.departments
    rows = (await session.execute(select(departments.c.id, departments.c.manager_id))).all()
    return {r.id: r.manager_id for r in rows}


# Preferences ----------------------------------------------------------------------------------------
async def preferences_of(
    session: AsyncSession, user_ids: Iterable[uuid.UUID]
) -> dict[tuple[uuid.UUID, str], list[str]]:
    rows = (
        await session.execute(
            text(
                "SELECT user_id, kind, channels FROM notification_preferences WHERE user_id = ANY(CAST(:ids AS uuid[]))"
            ),
            {"ids": list(user_ids)},
        )
    ).all()
    return {(u, k): list(c) for u, k, c in rows}


async def save_preferences(session: AsyncSession, user_id: uuid.UUID, kinds: dict[str, list[str]]) -> None:
    if not kinds:
        return
    rows = [{"user_id": user_id, "kind": k, "channels": c} for k, c in sorted(kinds.items())]
    stmt = pg_insert(NotificationPreference).values(rows)
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=[NotificationPreference.user_id, NotificationPreference.kind],
            set_={"channels": stmt.excluded.channels, "updated_at": func.now()},
        )
    )


# Email ----------------------------------------------------------------------------------------------
async def queue_email(
    session: AsyncSession,
    *,
    notification_id: uuid.UUID,
    recipient_id: uuid.UUID,
    to_address: str,
    subject: str,
    body: str,
    at: datetime,
) -> None:
    """An email for the sender job to send (smtp.py), due now."""
    await session.execute(
        insert(EmailDelivery).values(
            notification_id=notification_id,
            recipient_id=recipient_id,
            to_address=to_address,
            subject=subject,
            body=body,
            status="pending",
            attempts=0,
            next_attempt_at=at,
            created_at=at,
        )
    )


async def next_email_due(session: AsyncSession) -> datetime | None:
    """When the earliest pending email falls due (None: nothing pending)."""
    return await session.scalar(
        select(func.min(EmailDelivery.next_attempt_at)).where(EmailDelivery.status == "pending")
    )


async def due_emails(session: AsyncSession, now: datetime, limit: int) -> list[EmailDelivery]:
    """Up to `limit` pending emails due by `now`, oldest due first, locked for this transaction; rows another
    transaction holds are skipped (SKIP LOCKED), so two senders never send the same email at once."""
    return list(
        (
            await session.execute(
                select(EmailDelivery)
                .where(EmailDelivery.status == "pending", EmailDelivery.next_attempt_at <= now)
                .order_by(EmailDelivery.next_attempt_at, EmailDelivery.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
    )
