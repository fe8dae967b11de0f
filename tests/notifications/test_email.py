"""The email channel's message and retry schedule."""

from __future__ import annotations

import uuid
from datetime import timedelta

from services.notifications.channels import Recipient, email_body
from services.notifications.models import EmailDelivery, Notification
from services.notifications.settings import NotificationsSettings
from services.notifications.smtp import SmtpSender, retry_delay


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
