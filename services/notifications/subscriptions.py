"""What the notifications service consumes: tasks, deals and contracts (which become notifications) and
people (identity: who receives them), in batches."""

from __future__ import annotations

from services.notifications.service import CONSUMED_TOPICS, handle_events
from services.notifications.settings import NotificationsSettings
from shared.messaging.subscriptions import Consumer


def consumers(settings: NotificationsSettings) -> tuple[Consumer, ...]:
    # Several members of the one consumer group: the same as more replicas, in one process.
    return (
        Consumer(
            "notifications", batch=handle_events, topics=tuple(CONSUMED_TOPICS), members=settings.consumer_instances
        ),
    )
