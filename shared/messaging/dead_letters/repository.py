"""Every query of the dead-letter endpoints, on a service's `dead_letters` table (`shared.messaging.tables`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

STATUSES = ("parked", "replayed", "discarded")
# What a list shows of each letter: everything but the record's headers and payload.
_HEAVY = ("headers", "payload")


@dataclass(frozen=True)
class LetterFilters:
    consumer: str | None = None
    event_type: str | None = None
    status: str | None = "parked"  # None: any
    since: datetime | None = None  # parked at or after
    until: datetime | None = None  # parked before


def _conditions(table: Table, filters: LetterFilters) -> list[Any]:
    c = table.c
    conditions = []
    if filters.consumer is not None:
        conditions.append(c.consumer == filters.consumer)
    if filters.event_type is not None:
        conditions.append(c.event_type == filters.event_type)
    if filters.status is not None:
        conditions.append(c.status == filters.status)
    if filters.since is not None:
        conditions.append(c.created_at >= filters.since)
    if filters.until is not None:
        conditions.append(c.created_at < filters.until)
    return conditions


async def page(
    session: AsyncSession, table: Table, filters: LetterFilters, *, limit: int, offset: int
) -> tuple[Sequence[Row[Any]], int]:
    """The letters matching `filters`, newest first, and how many match."""
    conditions = _conditions(table, filters)
    total = await session.scalar(select(func.count()).select_from(table).where(*conditions))
    columns = [column for column in table.c if column.name not in _HEAVY]
    rows = (
        await session.execute(
            select(*columns)
            .where(*conditions)
            .order_by(table.c.created_at.desc(), table.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ).all()
    return rows, total or 0


async def get(
    session: AsyncSession, table: Table, consumer: str, letter_id: int, *, lock: bool = False
) -> Row[Any] | None:
    """One letter of `consumer`; with `lock`, held (FOR UPDATE) to the end of the transaction."""
    statement = select(table).where(table.c.id == letter_id, table.c.consumer == consumer)
    if lock:
        statement = statement.with_for_update()
    return (await session.execute(statement)).first()


async def _update(session: AsyncSession, table: Table, letter_id: int, **values: Any) -> Row[Any]:
    return (await session.execute(update(table).where(table.c.id == letter_id).values(**values).returning(table))).one()


async def mark_replayed(session: AsyncSession, table: Table, letter_id: int, *, actor: str, at: datetime) -> Row[Any]:
    return await _update(
        session,
        table,
        letter_id,
        status="replayed",
        resolved_at=at,
        resolved_by=actor,
        replay_attempts=table.c.replay_attempts + 1,
        last_replay_at=at,
    )


async def record_failed_replay(
    session: AsyncSession, table: Table, letter_id: int, *, error: str, at: datetime
) -> Row[Any]:
    return await _update(
        session,
        table,
        letter_id,
        replay_attempts=table.c.replay_attempts + 1,
        last_replay_error=error,
        last_replay_at=at,
    )


async def mark_discarded(
    session: AsyncSession, table: Table, letter_id: int, *, actor: str, reason: str, at: datetime
) -> Row[Any]:
    return await _update(
        session, table, letter_id, status="discarded", resolved_at=at, resolved_by=actor, discard_reason=reason
    )
