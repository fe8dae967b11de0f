"""Delivery channels: how a stored notification reaches its recipient.

A channel's `deliver` runs inside the transaction that stores the notification and only records
what must happen; the effect outside the database follows the commit. In-app: the row is the inbox
entry, and a NOTIFY (sent by PostgreSQL at commit) wakes the recipient's live streams. Email: an
`email_deliveries` row and a NOTIFY that wakes the email sender job, which sends it over SMTP with retries
and marks it sent, so
a crash at any point neither loses an email nor sends it more than at-least-once allows (smtp.py).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import ClassVar

from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications import repository as repo
from services.notifications.models import Notification
from services.notifications.push import notify_email_sender, notify_recipients
from services.notifications.recipients import Recipient
from shared import clock

log = logging.getLogger("insureops.notifications.channels")

IN_APP = "in_app"
EMAIL = "email"
CHANNEL_NAMES = (IN_APP, EMAIL)
DEFAULT_CHANNELS = (IN_APP,)


class Channel(ABC):
    name: ClassVar[str]

    @abstractmethod
    async def deliver(self, session: AsyncSession, notification: Notification, recipient: Recipient) -> None:
        """Record the delivery of a just-stored notification, in the caller's transaction."""

    async def deliver_many(self, session: AsyncSession, items: list[tuple[Notification, Recipient]]) -> None:
        """Several at once (a channel may do them in one statement)."""
        for notification, recipient in items:
            await self.deliver(session, notification, recipient)


class InAppChannel(Channel):
    name = IN_APP

    async def deliver(self, session: AsyncSession, notification: Notification, recipient: Recipient) -> None:
        await notify_recipients(session, [recipient.id])

    async def deliver_many(self, session: AsyncSession, items: list[tuple[Notification, Recipient]]) -> None:
        await notify_recipients(session, [recipient.id for _, recipient in items])


class EmailChannel(Channel):
    name = EMAIL

    async def deliver(self, session: AsyncSession, notification: Notification, recipient: Recipient) -> None:
        if not recipient.email or not recipient.active:
            log.info(
                "no email for notification %s: recipient %s has no known address or is inactive",
                notification.id,
                recipient.id,
            )
            return
        await repo.queue_email(
            session,
            notification_id=notification.id,
            recipient_id=recipient.id,
            to_address=recipient.email,
            subject=notification.title,
            body=email_body(notification, recipient),
            at=clock.now(),
        )
        await notify_email_sender(session)


CHANNELS: dict[str, Channel] = {IN_APP: InAppChannel(), EMAIL: EmailChannel()}


def email_body(notification: Notification, recipient: Recipient) -> str:
    greeting = f"Hello {recipient.name}," if recipient.name else "Hello,"
    return (
        f"{greeting}\n\n{notification.body}\n\n"
        f"It concerns {notification.link_type} {notification.link_id}; you can find it in InsureOps.\n\n"
        f"You receive this email because your notification preferences send "
        f"“{notification.kind}” notifications by email.\n"
    )
