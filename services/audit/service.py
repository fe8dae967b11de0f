"""Turning events into chained audit records, and reading them back."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.audit.chain import GENESIS_HASH, ChainWalker, canonical_json, record_hash
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


def client_id_of(event_type: str, aggregate_id: str | None, data: Any) -> str | None:
    """The client an event concerns: its `client_id` (deals, tasks, contracts and clients carry one),
    or the aggregate itself for a client's own events."""
    value = data.get("client_id") if isinstance(data, dict) else None
    if isinstance(value, str) and value:
        return value[:64]
    if event_type.startswith("clients.client.") and aggregate_id:
        return aggregate_id[:64]
    return None


def record_values(envelope: Envelope, recorded_at: datetime | None = None) -> dict[str, Any]:
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
        "recorded_at": recorded_at or now(),
        "topic": envelope.topic,
        "partition": envelope.partition,
        "offset": envelope.offset,
        "correlation_id": envelope.correlation_id,
        "causation_id": envelope.causation_id,
        "trace_id": envelope.trace_id,
        "data": envelope.data,
        "changes": changed_fields(envelope),
        "client_id": client_id_of(envelope.type, envelope.subject, envelope.data),
    }


# Column order of the rows chain_rows builds, and of the INSERT.
COLUMNS = (
    "event_id", "event_type", "event_version", "source", "aggregate_type", "aggregate_id", "actor_type", "actor_id",
    "occurred_at", "recorded_at", "topic", "partition", "offset", "correlation_id", "causation_id", "trace_id",
    "data", "changes", "client_id", "seq", "prev_hash", "hash",
)
_COLUMN_TYPES = {"event_version": "integer", "partition": "integer", "offset": "bigint", "seq": "bigint",
                 "occurred_at": "timestamptz", "recorded_at": "timestamptz", "data": "text", "changes": "text"}
_JSON_COLUMNS = ("data", "changes")
_READ_HEAD = text("SELECT seq, hash FROM audit_chain_head WHERE id = 1")
_LOCK_HEAD = text("SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE")
# Moving the head and inserting the batch in one statement and one round trip. The INSERT happens only
# if the head was where the batch was chained from (RETURNING is how one part of a WITH sees another);
# the UPDATE holds the head row until commit, so appenders take turns.
_QUOTED = ", ".join(f'"{c}"' for c in COLUMNS)
_SELECTED = ", ".join(f"r.{c}::jsonb" if c in _JSON_COLUMNS else f'r."{c}"' for c in COLUMNS)
_ARRAYS = ", ".join(f"CAST(:{c} AS {_COLUMN_TYPES.get(c, 'varchar')}[])" for c in COLUMNS)
_APPEND = text(
    "WITH head AS ("
    " UPDATE audit_chain_head SET seq = :new_seq, hash = :new_hash, updated_at = :moved_at"
    " WHERE id = 1 AND seq = :expected_seq AND hash = :expected_hash RETURNING 1"
    f"), appended AS (INSERT INTO audit_records ({_QUOTED}) SELECT {_SELECTED} FROM unnest({_ARRAYS}) AS r({_QUOTED})"
    " WHERE EXISTS (SELECT 1 FROM head) RETURNING 1"
    ") SELECT count(*) FROM appended"
)


def chain_rows(envelopes: list[Envelope], *, head_seq: int, head_hash: str,
               recorded_at: datetime) -> list[tuple]:
    """The batch's rows in COLUMNS order, each chained to the one before it."""
    rows = []
    seq, prev = head_seq, head_hash
    for envelope in envelopes:
        seq += 1
        values = record_values(envelope, recorded_at)
        values["seq"] = seq
        values["prev_hash"] = prev
        texts = {name: canonical_json(values[name]) for name in _JSON_COLUMNS}
        values["hash"] = prev = record_hash(values, json_texts=texts)
        values["data"] = texts["data"]
        # SQL NULL, not JSON null, when an event has no changes.
        values["changes"] = texts["changes"] if values["changes"] is not None else None
        rows.append(tuple(values[name] for name in COLUMNS))
    return rows


class ChainAppender:
    """The audit consumer's batch handler: appends each batch to the chain in the consumer's transaction.

    It remembers the head it last wrote, chains the batch from there and moves the head and inserts the
    rows in one statement that only writes if the head is still there. If it is not (another instance
    appended, or a transaction that moved it was rolled back), it locks the head row, reads it and
    chains the batch again. So a lone appender pays one round trip per batch, and concurrent ones
    never fork the chain. Redeliveries never get here (the inbox claimed the event ids in this
    transaction); the unique event id is a second guard that fails the batch rather than leave a gap.
    """

    def __init__(self) -> None:
        self._head: tuple[int, str] | None = None

    async def record_events(self, session: AsyncSession, envelopes: list[Envelope]) -> None:
        recorded_at = now()
        head = self._head or tuple((await session.execute(_READ_HEAD)).one())
        for locked in (False, True):
            rows = chain_rows(envelopes, head_seq=head[0], head_hash=head[1], recorded_at=recorded_at)
            params = {name: list(column) for name, column in zip(COLUMNS, zip(*rows))}
            params.update(new_seq=rows[-1][-3], new_hash=rows[-1][-1], moved_at=recorded_at,
                          expected_seq=head[0], expected_hash=head[1])
            if await session.scalar(_APPEND, params) == len(rows):
                self._head = (rows[-1][-3], rows[-1][-1])
                return
            if locked:
                raise RuntimeError("the chain head moved while this transaction held its lock")
            self._head = None
            head = tuple((await session.execute(_LOCK_HEAD)).one())


def encode_cursor(record: AuditRecord) -> str:
    return base64.urlsafe_b64encode(f"{record.occurred_at.isoformat()}|{record.id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        return datetime.fromisoformat(at), int(ident)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput.for_field("query.cursor", "not a cursor this API returned") from exc


def filtered_records(*, aggregate_type: str | None = None, aggregate_id: str | None = None,
                     actor_id: str | None = None, event_type: str | None = None, client_id: str | None = None,
                     since: datetime | None = None, until: datetime | None = None, cursor: str | None = None,
                     newest_first: bool, columns=None) -> Select:
    """The records matching every given filter, in time order, after `cursor` (keyset)."""
    stmt = select(*(columns if columns is not None else (AuditRecord,)))
    if client_id:
        stmt = stmt.where(AuditRecord.client_id == client_id)
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
    return stmt.order_by(*order)


async def query_records(session: AsyncSession, *, limit: int, cursor: str | None, newest_first: bool,
                        **filters: Any) -> tuple[list[AuditRecord], str | None]:
    """Records matching every given filter, in time order, one keyset page at a time."""
    stmt = filtered_records(cursor=cursor, newest_first=newest_first, **filters)
    rows = list((await session.execute(stmt.limit(limit + 1))).scalars())
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


# Verifying the chain ----------------------------------------------------------------------------

_CHAIN_COLUMNS = ", ".join(f'"{c}"' for c in ("seq", "hash") + tuple(c for c in COLUMNS if c not in ("seq", "hash")))
_CHUNK = text(f"SELECT {_CHAIN_COLUMNS} FROM audit_records WHERE seq >= :start AND seq <= :end ORDER BY seq LIMIT :n")
_HASH_AT = text("SELECT hash FROM audit_records WHERE seq = :seq")
_HEAD = text("SELECT seq, hash FROM audit_chain_head WHERE id = 1")


async def verify_chain(connection: AsyncConnection | AsyncSession, *, from_seq: int, to_seq: int | None,
                       checkpoints, chunk_size: int) -> AsyncIterator[dict[str, Any] | None]:
    """Walk records `from_seq`..`to_seq` (default: to the end) in seq order, `chunk_size` at a time,
    and report the first break. Yields None after each chunk (a sign of life), then the report.
    Run it in one REPEATABLE READ transaction: one snapshot throughout."""
    head = (await connection.execute(_HEAD)).one()
    if from_seq == 1:
        prev = GENESIS_HASH
    else:
        # The link into the range is checked against the record before it, if that one is there.
        prev = await connection.scalar(_HASH_AT, {"seq": from_seq - 1})
    walker = ChainWalker(expected_seq=from_seq, prev_hash=prev, checkpoints=iter(checkpoints))
    end = to_seq if to_seq is not None else 2**62
    start = from_seq
    failure = None
    while failure is None:
        rows = (await connection.execute(_CHUNK, {"start": start, "end": end, "n": chunk_size})).mappings().all()
        failure = walker.feed(rows)
        yield None
        if len(rows) < chunk_size:
            break
        start = rows[-1]["seq"] + 1
    if failure is None:
        failure = walker.finish(end_seq=to_seq, chain_head_seq=head.seq)
    yield {
        "ok": failure is None,
        "from_seq": from_seq,
        "to_seq": to_seq,
        "checked": walker.checked,
        "last_checked_seq": walker.last_seq,
        "chain_head": {"seq": head.seq, "hash": head.hash},
        "break": None if failure is None else {
            "seq": failure.seq, "reason": failure.reason, "meaning": failure.meaning, "detail": failure.detail},
    }
