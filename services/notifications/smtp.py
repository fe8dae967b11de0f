"""The email sender: sends the `email_deliveries` rows the email channel recorded over SMTP (aiosmtplib),
marks each sent, or schedules its next attempt with backoff until it fails for good."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications import repository as repo
from services.notifications.models import EmailDelivery
from services.notifications.settings import NotificationsSettings
from shared import clock
from shared.jobs import NEXT_ROUND_IN

log = logging.getLogger("insureops.notifications.channels")
EMAILS = Counter("notifications_email_attempts_total", "Attempts to send notification emails", ["outcome"])


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
            self.message(delivery),
            hostname=s.smtp_host,
            port=s.smtp_port,
            use_tls=s.smtp_tls,
            start_tls=s.smtp_starttls,
            username=s.smtp_username,
            password=s.smtp_password,
            timeout=s.smtp_timeout_seconds,
        )


def retry_delay(attempts: int) -> timedelta:
    """Pause before the next attempt after `attempts` failures: 2 s, 4 s, 8 s, ... at most 10 minutes."""
    return timedelta(seconds=min(2 ** max(attempts, 1), 600))


async def send_due_emails(session: AsyncSession, sender: SmtpSender, *, batch_size: int, max_attempts: int) -> dict:
    """One round of the email sender: send what is due, mark it sent, or schedule the next attempt.

    Rows are locked (SKIP LOCKED) for the round, so two replicas never send the same email at once. The result says
    when the next round is due (`NEXT_ROUND_IN`): the earliest retry, or at once if the batch was full.
    """
    now = clock.now()
    rows = await repo.due_emails(session, now, batch_size)
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
                log.error(
                    "email %s to %s failed for good after %d attempts: %s",
                    delivery.id,
                    delivery.to_address,
                    delivery.attempts,
                    delivery.last_error,
                )
            else:
                delivery.next_attempt_at = clock.now() + retry_delay(delivery.attempts)
                EMAILS.labels("retrying").inc()
                log.warning(
                    "email %s to %s failed (attempt %d): %s",
                    delivery.id,
                    delivery.to_address,
                    delivery.attempts,
                    delivery.last_error,
                )
        else:
            delivery.attempts += 1
            delivery.status = "sent"
            delivery.sent_at = clock.now()
            delivery.last_error = None
            sent += 1
            EMAILS.labels("sent").inc()
        await session.flush()
    return {
        "sent": sent,
        "failed": failed,
        "retrying": len(rows) - sent - failed,
        NEXT_ROUND_IN: await _next_round_in(session, full_batch=len(rows) >= batch_size),
    }


# Pending emails due now that this round did not take are another sender's (SKIP LOCKED): look again this soon.
LOCKED_ELSEWHERE_PAUSE_SECONDS = 1.0


async def _next_round_in(session: AsyncSession, *, full_batch: bool) -> float | None:
    """Seconds until the sender's next round should run (None: nothing pending; a queued email wakes it)."""
    if full_batch:
        return 0.0  # more may be due already
    due = await repo.next_email_due(session)
    if due is None:
        return None
    return max((due - clock.now()).total_seconds(), LOCKED_ELSEWHERE_PAUSE_SECONDS)
