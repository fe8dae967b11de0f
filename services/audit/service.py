"""Turning events into audit records, and reading them back."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.models import AuditRecord
from shared.clock import now
from shared.errors import InvalidInput
from shared.messaging.envelope import Envelope

# Identifiers that name the aggregate itself are not "changed fields" of a creation.
_ID_SUFFIX = "_id"


def changed_fields(envelope: Envelope) -> list[dict[str, Any]] | None:
    """Each field with its value before and after: from `changes` if the event has it, else, for a
    creation, every field of the new aggregate (from nothing to its first value)."""
    changes = envelope.data.get("changes")
    if isinstance(changes, dict):
        return [
            {"field": name, "before": change.get("before"), "after": change.get("after")}
            for name, change in changes.items() if isinstance(change, dict)
        ]
    if envelope.type.endswith(".created"):
        aggregate = envelope.type.split(".")[1]
        return [
            {"field": name, "before": None, "after": value}
            for name, value in envelope.data.items() if name != f"{aggregate}{_ID_SUFFIX}"
        ]
    return None


def record_values(envelope: Envelope) -> dict[str, Any]:
    service, aggregate, _ = (envelope.type.split(".") + ["", "", ""])[:3]
    return {
        "event_id": envelope.id,
        "event_type": envelope.type,
        "event_version": envelope.dataversion,
        "source": envelope.source,
        "aggregate_type": f"{service}.{aggregate}" if aggregate else service,
        "aggregate_id": envelope.subject,
        "actor_type": envelope.actor.type if envelope.actor else None,
        "actor_id": envelope.actor.id if envelope.actor else None,
        "occurred_at": envelope.time,
        "recorded_at": now(),
        "topic": envelope.topic,
        "partition": envelope.partition,
        "offset": envelope.offset,
        "correlation_id": envelope.correlation_id,
        "causation_id": envelope.causation_id,
        "trace_id": envelope.trace_id,
        "data": envelope.data,
        "changes": changed_fields(envelope),
    }


_INSERT_RECORD = pg_insert(AuditRecord).on_conflict_do_nothing(index_elements=["event_id"])


async def record_events(session: AsyncSession, envelopes: list[Envelope]) -> None:
    """Batch handler: one multi-row INSERT for the batch (the inbox already dropped redeliveries;
    the unique event id is a second guard)."""
    # Rows as parameters (executemany), not inlined: the statement compiles once and is cached.
    await session.execute(_INSERT_RECORD, [record_values(e) for e in envelopes])


def encode_cursor(record: AuditRecord) -> str:
    return base64.urlsafe_b64encode(f"{record.occurred_at.isoformat()}|{record.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), int(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput.for_field("query.cursor", "not a cursor this API returned") from exc


async def query_records(session: AsyncSession, *, aggregate_type: str | None, aggregate_id: str | None,
                        actor_id: str | None, event_type: str | None, since: datetime | None,
                        until: datetime | None, limit: int, cursor: str | None,
                        newest_first: bool) -> tuple[list[AuditRecord], str | None]:
    """Records matching every given filter, in time order, one keyset page at a time."""
    stmt = select(AuditRecord)
    if aggregate_type:
        stmt = stmt.where(AuditRecord.aggregate_type == aggregate_type)
    if aggregate_id:
        stmt = stmt.where(AuditRecord.aggregate_id == aggregate_id)
    if actor_id:
        stmt = stmt.where(AuditRecord.actor_id == actor_id)
    if event_type:
        stmt = stmt.where(AuditRecord.event_type == event_type)
    if since:
        stmt = stmt.where(AuditRecord.occurred_at >= since)
    if until:
        stmt = stmt.where(AuditRecord.occurred_at < until)
    if cursor:
        at, ident = decode_cursor(cursor)
        if newest_first:
            stmt = stmt.where(or_(AuditRecord.occurred_at < at, and_(AuditRecord.occurred_at == at, AuditRecord.id < ident)))
        else:
            stmt = stmt.where(or_(AuditRecord.occurred_at > at, and_(AuditRecord.occurred_at == at, AuditRecord.id > ident)))
    order = (AuditRecord.occurred_at.desc(), AuditRecord.id.desc()) if newest_first else (
        AuditRecord.occurred_at.asc(), AuditRecord.id.asc())
    rows = list((await session.execute(stmt.order_by(*order).limit(limit + 1))).scalars())
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor
