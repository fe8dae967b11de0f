"""Data-subject rights in notifications (see `shared.privacy`): what it declares about its processing, what an
erasure does to the rows it holds, and its part of a subject's export.

A client subject: the notifications made from events about the client (their `client_id`) named the person through
deal titles and the like; their title keeps its kind ("New deal: erased") and their body reads "erased", and so do
the emails made from them; and one made later from an event about the client still on its way is written so from
the start (`erased_clients`). A user subject (an employee): their inbox is theirs, so it goes (notifications, the
emails to them, their preferences and counter), and the replica of identity's users is pseudonymised. Nothing is
published (`shared.privacy`).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.models import (
    EmailDelivery,
    ErasedClient,
    Notification,
    NotificationCursor,
    NotificationPreference,
    people,
)
from shared import clock
from shared.contracts.privacy import ERASED, SubjectErased, SubjectKind
from shared.messaging.envelope import Envelope
from shared.privacy.rights import Processing, erase_known_user, privacy_router, record

PROCESSING = {
    "client": Processing(
        purposes=["Telling the brokerage's employees about work on the client's deals, tasks and contracts"],
        categories=["notifications and emails whose text names the client's deals, tasks and contracts"],
        recipients=["The employee each notification is for (in the app, and by email if they chose it)"],
        retention="Pruned after the notifications retention period",
        source="Made from the events of the pipeline, tasks and contracts services",
    ),
    "user": Processing(
        purposes=["Delivering the user's notifications, in the app and by email"],
        categories=["name and email (a copy of identity's)", "the user's notifications and channel preferences"],
        recipients=["The user; the mail relay for emails"],
        retention="Pruned after the notifications retention period; the replica as long as identity keeps the user",
        source="The identity service's events; events of the pipeline, tasks and contracts services",
    ),
}


def erased_title(title: str) -> str:
    kind, sep, _ = title.partition(":")
    return f"{kind}: {ERASED}" if sep else ERASED


async def erased_among(session: AsyncSession, client_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these clients were erased (their new notifications are written erased)."""
    if not client_ids:
        return set()
    rows = await session.execute(select(ErasedClient.client_id).where(ErasedClient.client_id.in_(client_ids)))
    return set(rows.scalars())


async def erase_subject(session: AsyncSession, envelope: Envelope, data: SubjectErased) -> None:
    """What `privacy.subject.erased` does here (called from the batch handler)."""
    if data.subject_kind == "user":
        user_id = data.subject_id
        await erase_known_user(session, people, user_id)
        await session.execute(delete(EmailDelivery).where(EmailDelivery.recipient_id == user_id))
        await session.execute(delete(Notification).where(Notification.recipient_id == user_id))
        await session.execute(delete(NotificationPreference).where(NotificationPreference.user_id == user_id))
        await session.execute(delete(NotificationCursor).where(NotificationCursor.recipient_id == user_id))
        return
    await session.execute(
        pg_insert(ErasedClient)
        .values(client_id=data.subject_id, erased_at=clock.now())
        .on_conflict_do_nothing(index_elements=["client_id"])
    )
    rows = (
        await session.execute(
            select(Notification.id, Notification.title).where(
                Notification.client_id == data.subject_id, Notification.body != ERASED
            )
        )
    ).all()
    for notification_id, title in rows:
        await session.execute(
            update(Notification)
            .where(Notification.id == notification_id)
            .values(title=erased_title(title), body=ERASED)
        )
        await session.execute(
            update(EmailDelivery)
            .where(EmailDelivery.notification_id == notification_id)
            .values(subject=erased_title(title), body=ERASED)
        )


async def collect(session: AsyncSession, kind: SubjectKind, subject_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    if kind == "user":
        users = people.users
        known = (await session.execute(select(users).where(users.c.id == subject_id))).all()
        inbox = await session.execute(
            select(Notification).where(Notification.recipient_id == subject_id).order_by(Notification.seq)
        )
        preferences = await session.execute(
            select(NotificationPreference).where(NotificationPreference.user_id == subject_id)
        )
        return {
            "known_users": [record(r) for r in known],
            "notifications": [record(n) for n in inbox.scalars()],
            "preferences": [record(p) for p in preferences.scalars()],
        }
    about = await session.execute(
        select(Notification).where(Notification.client_id == subject_id).order_by(Notification.created_at)
    )
    return {"notifications": [record(n) for n in about.scalars()]}


router = privacy_router("notifications", PROCESSING, collect)
