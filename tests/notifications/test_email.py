"""The email channel's message and retry schedule, and how the sender knows when to look (on a real PostgreSQL,
each test rolled back)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import delete, event, update

from services.notifications import repository as repo
from services.notifications.channels import EmailChannel, Recipient, email_body
from services.notifications.models import EmailDelivery, Notification
from services.notifications.push import EMAIL_NOTICE, PUSH_CHANNEL, PushHub
from services.notifications.settings import NotificationsSettings
from services.notifications.smtp import SmtpSender, retry_delay, send_due_emails
from shared import clock
from shared.jobs import NEXT_ROUND_IN
from tests.notifications.test_retention import _notification as stored_notification


def test_the_pause_doubles_from_two_seconds_up_to_ten_minutes():
    assert [retry_delay(n).total_seconds() for n in range(1, 12)] == [2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
    assert retry_delay(0) == timedelta(seconds=2)
    assert sum(retry_delay(n).total_seconds() for n in range(1, 12)) / 60 < 40


def test_the_message_names_recipient_subject_and_a_stable_id():
    settings = NotificationsSettings(smtp_from="InsureOps <n@example.com>")
    notification_id = uuid.uuid4()
    delivery = EmailDelivery(
        notification_id=notification_id,
        to_address="kostas@example.com",
        subject="Reminder: Chase the documents",
        body="Hello",
    )
    first, second = SmtpSender(settings).message(delivery), SmtpSender(settings).message(delivery)
    assert first["To"] == "kostas@example.com" and first["From"] == "InsureOps <n@example.com>"
    assert first["Subject"] == "Reminder: Chase the documents"
    assert first["Message-ID"] == second["Message-ID"] == f"<notification-{notification_id}@insureops>"
    assert len(first.get_all("Message-ID")) == 1


def test_the_body_greets_by_name_and_says_what_it_is_about():
    n = Notification(
        id=uuid.uuid4(),
        kind="task_stale",
        title="Reminder: x",
        body="“x” has seen no activity.",
        link_type="task",
        link_id=uuid.uuid4(),
    )
    text = email_body(n, Recipient(id=uuid.uuid4(), name="Kostas", email="k@example.com"))
    assert text.startswith("Hello Kostas,") and "has seen no activity" in text
    assert f"task {n.link_id}" in text and "task_stale" in text
    assert email_body(n, Recipient(id=uuid.uuid4())).startswith("Hello,")


class _FailingSender:
    async def send(self, delivery) -> None:
        raise ConnectionRefusedError("no mail server")


async def _notification(session) -> Notification:
    made = await stored_notification(session, timedelta(0), seq=1)
    return await session.get(Notification, made)


async def _pending_email(session) -> None:
    notification = await _notification(session)
    await repo.queue_email(
        session,
        notification_id=notification.id,
        recipient_id=notification.recipient_id,
        to_address="k@example.com",
        subject="s",
        body="b",
        at=clock.now(),
    )


async def test_a_round_says_when_the_next_one_is_due(session):
    await session.execute(delete(EmailDelivery))  # this test's own rows only
    nothing = await send_due_emails(session, _FailingSender(), batch_size=5, max_attempts=3)
    # Nothing pending: no round is due until an email is queued (its NOTIFY wakes the sender).
    assert nothing[NEXT_ROUND_IN] is None

    await _pending_email(session)
    failed = await send_due_emails(session, _FailingSender(), batch_size=5, max_attempts=3)
    assert failed["retrying"] == 1
    # The retry falls due after the first backoff (2 s), and the sender runs then, not at its next interval.
    assert 1.0 <= failed[NEXT_ROUND_IN] <= 2.0

    await _pending_email(session)
    await session.execute(update(EmailDelivery).values(next_attempt_at=clock.now()))
    full = await send_due_emails(session, _FailingSender(), batch_size=2, max_attempts=3)
    # A full batch: more may be due already.
    assert full["retrying"] == 2 and full[NEXT_ROUND_IN] == 0.0


async def test_queueing_an_email_sends_the_senders_notice_in_the_same_transaction(session):
    executed: list[str] = []

    def seen(_conn, _cursor, statement, *_args) -> None:
        executed.append(statement)

    engine = session.bind.sync_engine if hasattr(session.bind, "sync_engine") else session.bind.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        notification = await _notification(session)
        assert not any("pg_notify" in s for s in executed)
        await EmailChannel().deliver(
            session,
            notification,
            Recipient(id=uuid.uuid4(), name="Kostas", email="kostas@example.com", active=True),
        )
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert any(f"pg_notify('{PUSH_CHANNEL}', '{EMAIL_NOTICE}')" in s for s in executed), executed


def test_the_email_notice_wakes_the_sender_and_a_recipients_notice_their_streams():
    woken: list[str] = []
    hub = PushHub("postgresql://unused", on_email=lambda: woken.append("sender"))
    recipient = uuid.uuid4()
    stream = hub.subscribe(recipient)
    hub._on_notice(EMAIL_NOTICE)
    assert woken == ["sender"] and not stream.event.is_set()
    hub._on_notice(str(recipient))
    assert woken == ["sender"] and stream.event.is_set()
