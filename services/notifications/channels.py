"""Delivery channels: how a stored notification reaches its recipient.

A channel's `deliver` runs inside the transaction that stores the notification and only records
what must happen; the effect outside the database follows the commit. In-app: the row is the inbox
entry, and a NOTIFY (sent by PostgreSQL at commit) wakes the recipient's live streams. Email: an
`email_deliveries` row, which the email sender job sends over SMTP with retries and marks sent, so
a crash at any point neither loses an email nor sends it more than at-least-once allows.
"""

from __future__ import annotations

import logging
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate
from typing import ClassVar

import aiosmtplib
from prometheus_client import Counter
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.models import EmailDelivery, Notification
from services.notifications.push import notify_recipients
from services.notifications.settings import NotificationsSettings
from shared import clock

log = logging.getLogger("insureops.notifications.channels")
EMAILS = Counter("notifications_email_attempts_total", "Attempts to send notification emails", ["outcome"])

IN_APP = "in_app"
EMAIL = "email"
CHANNEL_NAMES = (IN_APP, EMAIL)
DEFAULT_CHANNELS = (IN_APP,)


@dataclass(frozen=True)
class Recipient:
    """Who a notification is for, as far as the identity replica knows them."""

    id: uuid.UUID
    name: str | None = None
    email: str | None = None
    active: bool = True


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
            log.info("no email for notification %s: recipient %s has no known address or is inactive",
                     notification.id, recipient.id)
            return
        now = clock.now()
        await session.execute(insert(EmailDelivery).values(
            notification_id=notification.id, recipient_id=recipient.id, to_address=recipient.email,
            subject=notification.title, body=email_body(notification, recipient), status="pending", attempts=0,
            next_attempt_at=now, created_at=now,
        ))


CHANNELS: dict[str, Channel] = {IN_APP: InAppChannel(), EMAIL: EmailChannel()}


def email_body(notification: Notification, recipient: Recipient) -> str:
    greeting = f"Hello {recipient.name}," if recipient.name else "Hello,"
    return (f"{greeting}\n\n{notification.body}\n\n"
            f"It concerns {notification.link_type} {notification.link_id}; you can find it in InsureOps.\n\n"
            f"You receive this email because your notification preferences send "
            f"“{notification.kind}” notifications by email.\n")


# Sending ------------------------------------------------------------------------------------------

class SmtpSender:
    """Sends one email over SMTP with the configured server (aiosmtplib)."""

    def __init__(self, settings: NotificationsSettings):
        self.settings = settings

    def message(self, delivery: EmailDelivery) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = self.settings.smtp_from
        msg["To"] = delivery.to_address
        msg["Subject"] = delivery.subject
        msg["Date"] = formatdate(usegmt=True)
        # The same id on every attempt, so a mail client can fold an at-least-once duplicate away.
        msg["Message-ID"] = f"<notification-{delivery.notification_id}@insureops>"
        msg.set_content(delivery.body)
        return msg

    async def send(self, delivery: EmailDelivery) -> None:
        s = self.settings
        await aiosmtplib.send(
            self.message(delivery), hostname=s.smtp_host, port=s.smtp_port, use_tls=s.smtp_tls,
            start_tls=s.smtp_starttls, username=s.smtp_username, password=s.smtp_password,
            timeout=s.smtp_timeout_seconds,
        )


def retry_delay(attempts: int) -> timedelta:
    """Pause before the next attempt after `attempts` failures: 2 s, 4 s, 8 s, ... at most 10 minutes."""
    return timedelta(seconds=min(2 ** max(attempts, 1), 600))


async def send_due_emails(session: AsyncSession, sender: SmtpSender, *, batch_size: int, max_attempts: int) -> dict:
    """One round of the email sender: send what is due, mark it sent, or schedule the next attempt.

    Rows are locked (SKIP LOCKED) for the round, so two replicas never send the same email at once.
    """
    now = clock.now()
    rows = (await session.execute(
        select(EmailDelivery)
        .where(EmailDelivery.status == "pending", EmailDelivery.next_attempt_at <= now)
        .order_by(EmailDelivery.next_attempt_at, EmailDelivery.id)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
    )).scalars().all()
    sent = failed = 0
    for delivery in rows:
        try:
            await sender.send(delivery)
        except Exception as exc:  # whatever went wrong, this row is retried and the round goes on
            delivery.attempts += 1
            delivery.last_error = f"{exc.__class__.__name__}: {exc}"[:2000]
            if delivery.attempts >= max_attempts:
                delivery.status = "failed"
                failed += 1
                EMAILS.labels("failed").inc()
                log.error("email %s to %s failed for good after %d attempts: %s", delivery.id,
                          delivery.to_address, delivery.attempts, delivery.last_error)
            else:
                delivery.next_attempt_at = clock.now() + retry_delay(delivery.attempts)
                EMAILS.labels("retrying").inc()
                log.warning("email %s to %s failed (attempt %d): %s", delivery.id, delivery.to_address,
                            delivery.attempts, delivery.last_error)
        else:
            delivery.attempts += 1
            delivery.status = "sent"
            delivery.sent_at = clock.now()
            delivery.last_error = None
            sent += 1
            EMAILS.labels("sent").inc()
        await session.flush()
    return {"sent": sent, "failed": failed, "retrying": len(rows) - sent - failed}
