"""Waking live streams when a recipient's notifications are committed, across every replica.

The transaction that writes notifications also runs `pg_notify(PUSH_CHANNEL, <recipient id>)`;
PostgreSQL delivers it only at commit, to every listening process. Each process keeps one listening
connection and wakes the streams of that recipient, which then read their new rows from the
database. The notice carries no data: a lost notice delays a stream until its next heartbeat,
when it reads the database anyway, and never loses a notification.

The same channel wakes the email sender: a transaction that queues an email sends the notice `email`
(`notify_email_sender`), and every process's sender looks for due emails at once. A lost notice delays
an email until the sender's next round (`EMAIL_SEND_INTERVAL_SECONDS`).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db.listener import NoticeListener

log = logging.getLogger("insureops.notifications.push")

PUSH_CHANNEL = "notifications_push"
LISTENER_NAME = "notifications-push-listener"  # application_name of the LISTEN connection (pg_stat_activity)
_NOTIFY = text(f"SELECT pg_notify('{PUSH_CHANNEL}', r) FROM unnest(CAST(:recipients AS text[])) AS r")
EMAIL_NOTICE = "email"
_NOTIFY_EMAIL = text(f"SELECT pg_notify('{PUSH_CHANNEL}', '{EMAIL_NOTICE}')")


async def notify_recipients(session: AsyncSession, recipient_ids: list[uuid.UUID]) -> None:
    """Queue a wake-up for these recipients' streams, delivered when the session's transaction commits."""
    ids = sorted({str(r) for r in recipient_ids})
    if ids:
        await session.execute(_NOTIFY, {"recipients": ids})


async def notify_email_sender(session: AsyncSession) -> None:
    """Wake the email sender when the session's transaction commits (one notice, however many emails it queues:
    PostgreSQL folds identical notices of a transaction into one)."""
    await session.execute(_NOTIFY_EMAIL)


class Subscription:
    """A stream's doorbell: set when its recipient may have new notifications."""

    def __init__(self, hub: PushHub, recipient_id: uuid.UUID):
        self.hub = hub
        self.recipient_id = recipient_id
        self.event = asyncio.Event()

    def close(self) -> None:
        self.hub._unsubscribe(self)


class PushHub:
    """One LISTEN connection per process, fanning notices out to that process's streams."""

    def __init__(
        self, dsn: str, *, keepalive_seconds: float = 15.0, on_email: Callable[[], None] = lambda: None
    ) -> None:
        self._subscribers: dict[uuid.UUID, set[Subscription]] = defaultdict(set)
        self._on_email = on_email
        # After a reconnection, every stream (and the email sender) looks for itself: notices sent meanwhile are gone.
        self._listener = NoticeListener(
            dsn,
            PUSH_CHANNEL,
            self._on_notice,
            application_name=LISTENER_NAME,
            on_connected=self._reconnected,
            keepalive_seconds=keepalive_seconds,
        )

    def _reconnected(self) -> None:
        self.wake_all()
        self._on_email()

    def subscribe(self, recipient_id: uuid.UUID) -> Subscription:
        subscription = Subscription(self, recipient_id)
        self._subscribers[recipient_id].add(subscription)
        return subscription

    def _unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._subscribers.get(subscription.recipient_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.recipient_id]

    @property
    def stream_count(self) -> int:
        return sum(len(s) for s in self._subscribers.values())

    def wake(self, recipient_id: uuid.UUID) -> None:
        for subscription in self._subscribers.get(recipient_id, ()):
            subscription.event.set()

    def wake_all(self) -> None:
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.event.set()

    def _on_notice(self, payload: str) -> None:
        if payload == EMAIL_NOTICE:
            self._on_email()
            return
        try:
            recipient_id = uuid.UUID(payload)
        except ValueError:
            log.warning("ignoring a push notice that is not a user id: %r", payload[:100])
            return
        self.wake(recipient_id)

    @property
    def listening(self) -> bool:
        return self._listener.listening

    async def run(self) -> None:
        await self._listener.run()
