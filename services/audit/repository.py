"""Every query of the audit service: appending a chained batch, reading the chain for verification, and
reading records back by filter (keyset pages, export chunks)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, exists, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.audit.models import AuditRecord, AuditScope, Checkpoint

# Appending ---------------------------------------------------------------------------------------

# Column order of the rows chain_rows builds, and of the INSERT.
COLUMNS = (
    "event_id",
    "event_type",
    "event_version",
    "source",
    "aggregate_type",
    "aggregate_id",
    "actor_type",
    "actor_id",
    "occurred_at",
    "recorded_at",
    "topic",
    "partition",
    "offset",
    "correlation_id",
    "causation_id",
    "trace_id",
    "data",
    "changes",
    "client_id",
    "seal",
    "seq",
    "prev_hash",
    "hash",
)
_COLUMN_TYPES = {
    "event_version": "integer",
    "partition": "integer",
    "offset": "bigint",
    "seq": "bigint",
    "occurred_at": "timestamptz",
    "recorded_at": "timestamptz",
    "data": "text",
    "changes": "text",
}
JSON_COLUMNS = ("data", "changes")  # JSON text in the rows, jsonb in the table
_HEAD = text("SELECT seq, hash FROM audit_chain_head WHERE id = 1")
_LOCK_HEAD = text("SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE")
# Moving the head and inserting the batch in one statement and one round trip. The INSERT happens only
# if the head was where the batch was chained from (RETURNING is how one part of a WITH sees another);
# the UPDATE holds the head row until commit, so appenders take turns.
_QUOTED = ", ".join(f'"{c}"' for c in COLUMNS)
_SELECTED = ", ".join(f"r.{c}::jsonb" if c in JSON_COLUMNS else f'r."{c}"' for c in COLUMNS)
_ARRAYS = ", ".join(f"CAST(:{c} AS {_COLUMN_TYPES.get(c, 'varchar')}[])" for c in COLUMNS)
_APPEND = text(
    "WITH head AS ("
    " UPDATE audit_chain_head SET seq = :new_seq, hash = :new_hash, updated_at = :moved_at"
    " WHERE id = 1 AND seq = :expected_seq AND hash = :expected_hash RETURNING 1"
    f"), appended AS (INSERT INTO audit_records ({_QUOTED}) SELECT {_SELECTED} FROM unnest({_ARRAYS}) AS r({_QUOTED})"
    " WHERE EXISTS (SELECT 1 FROM head) RETURNING 1"
    ") SELECT count(*) FROM appended"
)


# A batch's word on its aggregates' departments; an older word (a redelivered or reordered batch) never wins.
_SET_SCOPES = text(
    "INSERT INTO audit_scopes (aggregate_type, aggregate_id, department_id, seq)"
    " SELECT * FROM unnest(CAST(:types AS varchar[]), CAST(:ids AS varchar[]), CAST(:departments AS uuid[]),"
    " CAST(:seqs AS bigint[]))"
    " ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE"
    " SET department_id = EXCLUDED.department_id, seq = EXCLUDED.seq WHERE audit_scopes.seq < EXCLUDED.seq"
)


async def set_scopes(session: AsyncSession, rows: list[tuple[str, str, uuid.UUID | None, int]]) -> None:
    if rows:
        types, ids, departments, seqs = (list(column) for column in zip(*rows, strict=True))
        await session.execute(_SET_SCOPES, {"types": types, "ids": ids, "departments": departments, "seqs": seqs})


async def chain_head(connection: AsyncConnection | AsyncSession, *, lock: bool = False) -> tuple[int, str]:
    """(seq, hash) of the chain's head; with `lock`, the head row is held to the end of the transaction."""
    return tuple((await connection.execute(_LOCK_HEAD if lock else _HEAD)).one())


async def append_if_head_at(
    session: AsyncSession, rows: list[tuple], head: tuple[int, str], *, moved_at: datetime
) -> int:
    """Insert `rows` (in COLUMNS order, chained from `head`) and move the head to the last of them, only if
    the head is still at `head`; how many rows were inserted (0 if the head had moved)."""
    params: dict[str, Any] = {name: list(column) for name, column in zip(COLUMNS, zip(*rows, strict=True), strict=True)}
    params.update(
        new_seq=rows[-1][-3], new_hash=rows[-1][-1], moved_at=moved_at, expected_seq=head[0], expected_hash=head[1]
    )
    return await session.scalar(_APPEND, params)


async def last_checkpoint_seq(session: AsyncSession) -> int | None:
    return (await session.execute(select(Checkpoint.seq).order_by(Checkpoint.id.desc()).limit(1))).scalar()


async def any_record_after(session: AsyncSession, seq: int, *, other_than: str) -> bool:
    """Whether the chain holds a record beyond `seq` of another type than `other_than`."""
    return bool(
        await session.scalar(select(exists().where(AuditRecord.seq > seq, AuditRecord.event_type != other_than)))
    )


# Verifying ---------------------------------------------------------------------------------------

# data and changes as their stored JSON text: the walker canonicalises the text (`ChainWalker.json_as_text`).
_CHAIN_COLUMNS = ", ".join(
    f'"{c}"::text AS "{c}"' if c in JSON_COLUMNS else f'"{c}"'
    for c in ("seq", "hash", *(c for c in COLUMNS if c not in ("seq", "hash")))
)
_CHUNK = text(f"SELECT {_CHAIN_COLUMNS} FROM audit_records WHERE seq >= :start AND seq <= :end ORDER BY seq LIMIT :n")
_HASH_AT = text("SELECT hash FROM audit_records WHERE seq = :seq")
_FIRST_SEALED = text("SELECT min(seq) FROM audit_records WHERE seal IS NOT NULL")


async def first_sealed_seq(connection: AsyncConnection | AsyncSession) -> int | None:
    """Where sealing began: every record from it on must carry a valid seal."""
    return await connection.scalar(_FIRST_SEALED)


async def hash_at(connection: AsyncConnection | AsyncSession, seq: int) -> str | None:
    return await connection.scalar(_HASH_AT, {"seq": seq})


async def chain_chunk(connection: AsyncConnection | AsyncSession, *, start: int, end: int, limit: int) -> Sequence:
    """Up to `limit` records from `start` to `end` in seq order, as mappings of every chained column (data and
    changes as JSON text)."""
    return (await connection.execute(_CHUNK, {"start": start, "end": end, "n": limit})).mappings().all()


# Reading -----------------------------------------------------------------------------------------


class Unscoped:
    """Every department's records (an Admin's reading)."""


UNSCOPED = Unscoped()


def in_department(department_id: uuid.UUID | None):
    """A record of `department_id`: its aggregate belongs to the department, or the client it concerns does
    (`AuditScope`). A reader of no department has none."""
    if department_id is None:
        return text("false")
    own = exists().where(
        AuditScope.department_id == department_id,
        AuditScope.aggregate_type == AuditRecord.aggregate_type,
        AuditScope.aggregate_id == AuditRecord.aggregate_id,
    )
    clients = exists().where(
        AuditScope.department_id == department_id,
        AuditScope.aggregate_type == "clients.client",
        AuditScope.aggregate_id == AuditRecord.client_id,
    )
    return or_(own, clients)


async def client_in_department(session: AsyncSession, client_id: str, department_id: uuid.UUID | None) -> bool:
    if department_id is None:
        return False
    found = await session.scalar(
        select(AuditScope.department_id).where(
            AuditScope.aggregate_type == "clients.client", AuditScope.aggregate_id == client_id
        )
    )
    return found == department_id


def _filtered(
    columns: Sequence[Any],
    *,
    aggregate_type: str | None = None,
    aggregate_id: str | None = None,
    actor_id: str | None = None,
    event_type: str | None = None,
    client_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    after: int | None = None,
    newest_first: bool,
    department_id: uuid.UUID | Unscoped | None = UNSCOPED,
) -> Select:
    """The records matching every given filter, in the order they were recorded (`seq`, the chain's order, so
    `seq` runs forward oldest first), after the keyset position `after` (a `seq`). With `department_id`, only
    that department's (`in_department`)."""
    stmt = select(*columns)
    if not isinstance(department_id, Unscoped):
        stmt = stmt.where(in_department(department_id))
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
    if after is not None:
        stmt = stmt.where(AuditRecord.seq < after if newest_first else AuditRecord.seq > after)
    return stmt.order_by(AuditRecord.seq.desc() if newest_first else AuditRecord.seq.asc())


async def records(session: AsyncSession, *, limit: int, **filters: Any) -> list[AuditRecord]:
    """Up to `limit` records matching the filters (see `_filtered`)."""
    return list((await session.execute(_filtered((AuditRecord,), **filters).limit(limit))).scalars())


async def record_fields(connection: AsyncConnection, fields: Sequence[str], *, limit: int, **filters: Any) -> list[Row]:
    """The `fields` of up to `limit` records matching the filters (see `_filtered`)."""
    columns = [getattr(AuditRecord, name) for name in fields]
    return list((await connection.execute(_filtered(columns, **filters).limit(limit))).all())


async def record_of_event(
    session: AsyncSession, event_id: str, *, department_id: uuid.UUID | Unscoped | None = UNSCOPED
) -> AuditRecord | None:
    stmt = select(AuditRecord).where(AuditRecord.event_id == event_id)
    if not isinstance(department_id, Unscoped):
        stmt = stmt.where(in_department(department_id))
    return (await session.execute(stmt)).scalar_one_or_none()
