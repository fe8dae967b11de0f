"""Bounded growth of the notifications database: the `notification_retention` job.

A notification is deleted NOTIFICATION_RETENTION_DAYS after it was made (read or not; its email delivery goes
with it). An email delivery that is done with (sent, or failed for good) is deleted EMAIL_DELIVERY_RETENTION_DAYS
after it was queued: its copy of the message is not needed once sent, and the notification itself stays in the
inbox. Pending deliveries are never deleted here. A round deletes at most RETENTION_BATCH_SIZE rows of each kind.
A recipient's `seq` counter is kept (notification_cursors), so a live stream's resume point never runs backwards.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.notifications.models import EmailDelivery, Notification
from shared import clock


async def prune_notifications(
    session: AsyncSession, *, notification_retention: timedelta, email_retention: timedelta, batch_size: int
) -> dict[str, int]:
    now = clock.now()
    done_emails = (
        select(EmailDelivery.id)
        .where(EmailDelivery.status.in_(("sent", "failed")), EmailDelivery.created_at < now - email_retention)
        .limit(batch_size)
    )
    emails = await session.execute(delete(EmailDelivery).where(EmailDelivery.id.in_(done_emails)))
    old = select(Notification.id).where(Notification.created_at < now - notification_retention).limit(batch_size)
    notifications = await session.execute(delete(Notification).where(Notification.id.in_(old)))
    return {
        "notifications": int(getattr(notifications, "rowcount", 0) or 0),
        "email_deliveries": int(getattr(emails, "rowcount", 0) or 0),
    }
