"""One caller's live stream: replay from the database after the last id seen, then live.

Live and replay are the same loop: wait for a wake-up (a NOTIFY for this recipient, see push.py) or
the heartbeat interval, then read the rows after the last sequence number sent. A recipient's
sequence numbers become visible in order (they are taken under a row lock held until commit), so
"after the last one sent" never skips a row, whether it was committed before the stream opened,
while it replayed, or later.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

from fastapi import FastAPI
from prometheus_client import Counter, Gauge

from services.notifications import repository as repo
from services.notifications.schemas import NotificationOut
from shared.sse import comment, format_event

STREAMS = Gauge("notifications_sse_streams", "Live notification streams open in this process")
SENT = Counter("notifications_sse_events_total", "Notifications sent on live streams")


def _as_json(row) -> dict:
    return NotificationOut(
        id=row["id"],
        sequence=row["seq"],
        recipient_id=row["recipient_id"],
        kind=row["kind"],
        title=row["title"],
        body=row["body"],
        link={"type": row["link_type"], "id": row["link_id"]},
        source_event_id=row["source_event_id"],
        source_event_type=row["source_event_type"],
        created_at=row["created_at"],
        read_at=row["read_at"],
    ).model_dump(mode="json")


# The data of a fresh stream's first event, as the endpoint's description documents it.
READY_DATA_DOC = '`{"last_event_id": n, "unread": u}`: the newest sequence number (also its `id:`) and the unread count'


def ready_event(last: int, unread: int, *, retry_ms: int) -> bytes:
    """A fresh stream's `ready` event (documented as READY_DATA_DOC)."""
    return format_event({"last_event_id": last, "unread": unread}, event="ready", id=last, retry_ms=retry_ms)


async def notification_stream(
    app: FastAPI, user_id: uuid.UUID, *, resume_from: int | None, expires_at: float
) -> AsyncIterator[bytes]:
    settings = app.state.settings
    pool = app.state.stream_pool
    subscription = app.state.push_hub.subscribe(user_id)  # before the first read: no wake-up can slip by
    STREAMS.inc()
    try:
        start_seq, unread = await repo.stream_start(pool, user_id)
        if resume_from is None or resume_from > start_seq:
            # A fresh stream, or a resume point this user never had (a restored database): start from now.
            last = start_seq
            yield ready_event(last, unread, retry_ms=settings.sse_retry_ms)
        else:
            last = resume_from
            yield f"retry: {settings.sse_retry_ms}\n\n".encode()
        while True:
            subscription.event.clear()
            rows = await repo.stream_rows_after(pool, user_id, last, settings.sse_replay_limit)
            for row in rows:
                yield format_event(_as_json(row), event="notification", id=row["seq"])
                last = row["seq"]
            SENT.inc(len(rows))
            if len(rows) >= settings.sse_replay_limit:
                continue
            remaining = expires_at - time.time()
            if remaining <= 0:
                yield format_event({"last_event_id": last}, event="token_expired")
                return
            try:
                await asyncio.wait_for(subscription.event.wait(), min(settings.sse_heartbeat_seconds, remaining))
            except TimeoutError:
                if time.time() < expires_at:
                    yield comment("heartbeat")
    finally:
        subscription.close()
        STREAMS.dec()
