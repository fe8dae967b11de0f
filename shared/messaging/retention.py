"""Bounded growth of the messaging tables a consuming service keeps: inbox rows and resolved dead letters.

The inbox holds the id of every event a consumer has handled, so a redelivered event is recognised and skipped.
Kafka can deliver an event again only while it still holds it: a rewind or a replay reaches back at most the
topic's retention (`log.retention.hours`, 168 h on the local broker and by Kafka's default). An inbox row older than
that guards against nothing, so the `messaging_retention` job deletes rows older than INBOX_RETENTION_HOURS
(336 h by default: twice Kafka's retention; keep it above the topics' retention wherever that is raised).

A dead letter an Admin has resolved (replayed or discarded) is history; it is deleted DEAD_LETTER_RETENTION_DAYS
after its resolution. Parked letters are never deleted: they wait for a decision.

Each round deletes at most RETENTION_BATCH_SIZE rows of each kind, so its transaction stays short; a backlog goes
over several rounds.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared import clock
from shared.messaging.tables import MessagingTables

RESOLVED = ("replayed", "discarded")


async def prune_messaging(
    session: AsyncSession,
    tables: MessagingTables,
    *,
    inbox_retention: timedelta,
    dead_letter_retention: timedelta,
    batch_size: int,
) -> dict[str, int]:
    """Delete inbox rows received before `now - inbox_retention` and dead letters resolved before
    `now - dead_letter_retention` (at most `batch_size` of each); return how many of each went."""
    now = clock.now()
    inbox, letters = tables.inbox, tables.dead_letters
    old_inbox = (
        select(inbox.c.consumer, inbox.c.event_id).where(inbox.c.received_at < now - inbox_retention).limit(batch_size)
    )
    inbox_gone = await session.execute(delete(inbox).where(tuple_(inbox.c.consumer, inbox.c.event_id).in_(old_inbox)))
    old_letters = (
        select(letters.c.id)
        .where(letters.c.status.in_(RESOLVED), letters.c.resolved_at < now - dead_letter_retention)
        .limit(batch_size)
    )
    letters_gone = await session.execute(delete(letters).where(letters.c.id.in_(old_letters)))
    return {
        "inbox": int(getattr(inbox_gone, "rowcount", 0) or 0),
        "dead_letters": int(getattr(letters_gone, "rowcount", 0) or 0),
    }
