"""Bounded growth: the retention jobs delete what has outlived its retention and keep what is young, on a real
PostgreSQL (the service's own schema; each test rolled back)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from services.notifications.models import EmailDelivery, Notification, messaging
from services.notifications.retention import prune_notifications
from services.notifications.settings import NotificationsSettings
from shared import clock
from shared.messaging.retention import prune_messaging

DAY = timedelta(days=1)


async def _notification(session, age: timedelta, *, email: str | None = None, seq: int) -> uuid.UUID:
    made = clock.now() - age
    n = Notification(
        id=uuid.uuid4(),
        recipient_id=uuid.uuid4(),
        seq=seq,
        kind="task_assigned",
        title="t",
        body="b",
        link_type="task",
        link_id=uuid.uuid4(),
        source_event_id=uuid.uuid4().hex,
        source_event_type="tasks.task.assigned",
        created_at=made,
    )
    session.add(n)
    await session.flush()
    if email is not None:
        session.add(
            EmailDelivery(
                notification_id=n.id,
                recipient_id=n.recipient_id,
                to_address="k@example.com",
                subject="s",
                body="b",
                status=email,
                next_attempt_at=made,
                created_at=made,
            )
        )
        await session.flush()
    return n.id


async def _count(session, entity) -> int:
    return int(await session.scalar(select(func.count()).select_from(entity)))


async def test_old_notifications_and_finished_emails_go_young_ones_and_pending_emails_stay(session):
    before_n, before_e = await _count(session, Notification), await _count(session, EmailDelivery)
    old = await _notification(session, 200 * DAY, email="sent", seq=1)
    young = await _notification(session, 10 * DAY, email="sent", seq=2)
    sent_long_ago = await _notification(session, 40 * DAY, email="sent", seq=3)
    failed_long_ago = await _notification(session, 40 * DAY, email="failed", seq=4)
    pending = await _notification(session, 40 * DAY, email="pending", seq=5)

    report = await prune_notifications(
        session, notification_retention=180 * DAY, email_retention=30 * DAY, batch_size=1000
    )

    assert report == {"notifications": 1, "email_deliveries": 3}  # old's own email went with the first sweep
    kept = set(await session.scalars(select(Notification.id)))
    assert old not in kept and {young, sent_long_ago, failed_long_ago, pending} <= kept
    emails = set(await session.scalars(select(EmailDelivery.notification_id)))
    assert emails >= {young, pending} and not emails & {old, sent_long_ago, failed_long_ago}
    assert await _count(session, Notification) == before_n + 4 and await _count(session, EmailDelivery) == before_e + 2

    again = await prune_notifications(session, notification_retention=180 * DAY, email_retention=30 * DAY, batch_size=1)
    assert again == {"notifications": 0, "email_deliveries": 0}


async def test_the_defaults_are_documented_ones():
    settings = NotificationsSettings()
    assert (settings.notification_retention_days, settings.email_delivery_retention_days) == (180, 30)
    assert settings.inbox_retention_hours == 336 and settings.dead_letter_retention_days == 30


async def test_inbox_rows_older_than_the_retention_and_resolved_dead_letters_go_parked_ones_stay(session):
    inbox, letters = messaging.inbox, messaging.dead_letters
    now = clock.now()
    tag = uuid.uuid4().hex[:8]
    await session.execute(
        insert(inbox),
        [
            {"consumer": f"t-{tag}", "event_id": "old", "received_at": now - timedelta(hours=400)},
            {"consumer": f"t-{tag}", "event_id": "older", "received_at": now - timedelta(hours=2000)},
            {"consumer": f"t-{tag}", "event_id": "young", "received_at": now - timedelta(hours=200)},
        ],
    )
    base = {"consumer": f"t-{tag}", "topic": "x", "partition": 0, "error": "e", "headers": {}}
    rows = [
        {**base, "offset": 1, "status": "replayed", "resolved_at": now - 40 * DAY},
        {**base, "offset": 2, "status": "discarded", "resolved_at": now - 31 * DAY},
        {**base, "offset": 3, "status": "discarded", "resolved_at": now - 5 * DAY},
        {**base, "offset": 4, "status": "parked", "resolved_at": None},
    ]
    await session.execute(insert(letters), rows)

    async def prune(batch_size: int) -> dict[str, int]:
        return await prune_messaging(
            session,
            messaging,
            inbox_retention=timedelta(hours=336),
            dead_letter_retention=30 * DAY,
            batch_size=batch_size,
        )

    assert await prune(1) == {"inbox": 1, "dead_letters": 1}  # a round deletes at most a batch of each
    assert await prune(1000) == {"inbox": 1, "dead_letters": 1}
    assert await prune(1000) == {"inbox": 0, "dead_letters": 0}
    left_inbox = set(await session.scalars(select(inbox.c.event_id).where(inbox.c.consumer == f"t-{tag}")))
    assert left_inbox == {"young"}
    left = set(await session.scalars(select(letters.c.offset).where(letters.c.consumer == f"t-{tag}")))
    assert left == {3, 4}


@pytest.mark.parametrize("age_hours, kept", [(335, True), (337, False)])
async def test_the_inbox_keeps_what_kafka_could_still_redeliver(session, age_hours, kept):
    inbox = messaging.inbox
    await session.execute(
        insert(inbox).values(consumer="edge", event_id="e", received_at=clock.now() - timedelta(hours=age_hours))
    )
    await prune_messaging(
        session, messaging, inbox_retention=timedelta(hours=336), dead_letter_retention=30 * DAY, batch_size=10
    )
    assert bool(await session.scalar(select(func.count()).select_from(inbox).where(inbox.c.consumer == "edge"))) is kept
