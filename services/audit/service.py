"""Turning events into chained audit records, and reading them back (the queries are in repository.py)."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from services.audit import repository as repo
from services.audit.chain import GENESIS_HASH, ChainWalker, canonical_json, record_hash, seal_of
from services.audit.models import AuditRecord
from services.audit.repository import COLUMNS, JSON_COLUMNS
from services.audit.settings import AuditSettings
from shared.auth import Principal
from shared.clock import now
from shared.errors import InvalidInput, NotFound
from shared.messaging.envelope import Envelope
from shared.pagination import MAX_BIGINT

# Identifiers that name the aggregate itself are not "changed fields" of a creation.
_ID_SUFFIX = "_id"


def changed_fields(envelope: Envelope) -> list[dict[str, Any]] | None:
    """Each field with its value before and after: from `changes` if the event has it, else, for a
    creation, every field of the new aggregate (from nothing to its first value)."""
    changes = envelope.data.get("changes")
    if isinstance(changes, dict):
        return [
            {"field": name, "before": change.get("before"), "after": change.get("after")}
            for name, change in changes.items()
            if isinstance(change, dict)
        ]
    if envelope.type.endswith((".created", ".opened")):  # a deal is opened: its creation
        aggregate = envelope.type.split(".")[1]
        return [
            {"field": name, "before": None, "after": value}
            for name, value in envelope.data.items()
            if name != f"{aggregate}{_ID_SUFFIX}"
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


_NOT_NAMED = object()


def _department_named(aggregate_type: str, aggregate_id: str, data: Any) -> Any:
    """The department an event names for its aggregate (a department is its own; else `department_id`, or the
    `after` of a `department_id` change; None: it belongs to none), or `_NOT_NAMED`."""
    if aggregate_type == "identity.department":
        return aggregate_id
    if not isinstance(data, dict):
        return _NOT_NAMED
    if "department_id" in data:
        return data["department_id"]
    changes = data.get("changes")
    if isinstance(changes, dict) and isinstance(changes.get("department_id"), dict):
        return changes["department_id"].get("after")
    return _NOT_NAMED


def scope_rows(envelopes: list[Envelope], *, first_seq: int) -> list[tuple[str, str, uuid.UUID | None, int]]:
    """What the batch says of its aggregates' departments: (aggregate type, id, department, seq), the latest per
    aggregate (see `AuditScope`)."""
    latest: dict[tuple[str, str], tuple[str, str, uuid.UUID | None, int]] = {}
    for seq, envelope in enumerate(envelopes, first_seq):
        if not envelope.subject:
            continue
        aggregate_type = aggregate_type_of(envelope.type)
        named = _department_named(aggregate_type, envelope.subject, envelope.data)
        if named is _NOT_NAMED:
            continue
        try:
            department = uuid.UUID(str(named)) if named is not None else None
        except ValueError:
            department = None
        latest[(aggregate_type, envelope.subject)] = (aggregate_type, envelope.subject, department, seq)
    return list(latest.values())


def aggregate_type_of(event_type: str) -> str:
    service, aggregate, _ = [*event_type.split("."), "", "", ""][:3]
    return f"{service}.{aggregate}" if aggregate else service


def record_values(envelope: Envelope, recorded_at: datetime | None = None) -> dict[str, Any]:
    return {
        "event_id": envelope.id,
        "event_type": envelope.type,
        "event_version": envelope.dataversion,
        "source": envelope.source,
        "aggregate_type": aggregate_type_of(envelope.type),
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


def chain_rows(
    envelopes: list[Envelope], *, head_seq: int, head_hash: str, recorded_at: datetime, key: bytes | None = None
) -> list[tuple]:
    """The batch's rows in COLUMNS order, each chained to the one before it (and sealed with `key`, if given)."""
    rows = []
    seq, prev = head_seq, head_hash
    for envelope in envelopes:
        seq += 1
        values = record_values(envelope, recorded_at)
        values["seq"] = seq
        values["prev_hash"] = prev
        texts = {name: canonical_json(values[name]) for name in JSON_COLUMNS}
        values["hash"] = prev = record_hash(values, json_texts=texts)
        values["seal"] = seal_of(key, prev) if key is not None else None
        values["data"] = texts["data"]
        # SQL NULL, not JSON null, when an event has no changes.
        values["changes"] = texts["changes"] if values["changes"] is not None else None
        rows.append(tuple(values[name] for name in COLUMNS))
    return rows


def chain_key(settings: AuditSettings) -> bytes | None:
    """The key the chain is sealed with (AUDIT_CHAIN_KEY), as bytes."""
    secret = settings.audit_chain_key
    return secret.get_secret_value().encode() if secret is not None else None


class ChainAppender:
    """The audit consumer's batch handler: appends each batch to the chain in the consumer's transaction.

    It remembers the head it last wrote, chains the batch from there and moves the head and inserts the
    rows in one statement that only writes if the head is still there. If it is not (another instance
    appended, or a transaction that moved it was rolled back), it locks the head row, reads it and
    chains the batch again. So a lone appender pays one round trip per batch, and concurrent ones
    never fork the chain. Redeliveries never get here (the inbox claimed the event ids in this
    transaction); the unique event id is a second guard that fails the batch rather than leave a gap.
    """

    def __init__(self, key: bytes | None = None) -> None:
        self._head: tuple[int, str] | None = None
        self._key = key

    async def record_events(self, session: AsyncSession, envelopes: list[Envelope]) -> None:
        recorded_at = now()
        head = self._head or await repo.chain_head(session)
        for locked in (False, True):
            rows = chain_rows(envelopes, head_seq=head[0], head_hash=head[1], recorded_at=recorded_at, key=self._key)
            if await repo.append_if_head_at(session, rows, head, moved_at=recorded_at) == len(rows):
                self._head = (rows[-1][-3], rows[-1][-1])
                await repo.set_scopes(session, scope_rows(envelopes, first_seq=head[0] + 1))
                return
            if locked:
                raise RuntimeError("the chain head moved while this transaction held its lock")
            self._head = None
            head = await repo.chain_head(session, lock=True)


def encode_cursor(record: AuditRecord) -> str:
    return base64.urlsafe_b64encode(f"seq|{record.seq}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """The position (`seq`) a cursor of `encode_cursor` names; anything else, a position outside the table's bigint
    among them, is a 422 naming `query.cursor`."""
    try:
        kind, _, seq = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
        if kind != "seq":
            raise ValueError(kind)
        position = int(seq)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput.for_field("query.cursor", "not a cursor this API returned") from exc
    if not 0 <= position <= MAX_BIGINT:
        raise InvalidInput.for_field("query.cursor", "not a cursor this API returned")
    return position


async def query_records(
    session: AsyncSession, *, limit: int, cursor: str | None, newest_first: bool, **filters: Any
) -> tuple[list[AuditRecord], str | None]:
    """Records matching every given filter, in recorded (`seq`) order, one keyset page at a time."""
    rows = await repo.records(
        session, after=decode_cursor(cursor) if cursor else None, newest_first=newest_first, limit=limit + 1, **filters
    )
    next_cursor = encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def scope_of(reader: Principal) -> uuid.UUID | repo.Unscoped | None:
    """Whose records `reader` reads: an Admin every department's, a Manager their own department's
    (`repository.in_department`)."""
    return repo.UNSCOPED if reader.is_admin else reader.department_id


async def client_history(
    session: AsyncSession, reader: Principal, client_id: str, *, limit: int, cursor: str | None
) -> tuple[list[AuditRecord], str | None]:
    """A client's records, oldest first; a client of another department than a Manager's is answered as unknown
    (as the clients service answers the client itself)."""
    scope = scope_of(reader)
    if not isinstance(scope, repo.Unscoped) and not await repo.client_in_department(session, client_id, scope):
        raise NotFound(f"no client {client_id}")
    return await query_records(
        session, limit=limit, cursor=cursor, newest_first=False, client_id=client_id, department_id=scope
    )


async def record_of_event(session: AsyncSession, event_id: str, reader: Principal) -> AuditRecord:
    record = await repo.record_of_event(session, event_id, department_id=scope_of(reader))
    if record is None:
        raise NotFound(f"no audit record for event {event_id}")
    return record


async def export_chunks(
    connection: AsyncConnection, fields: Sequence[str], *, chunk_size: int, newest_first: bool, **filters: Any
) -> AsyncIterator[list]:
    """The `fields` of every record matching the filters, in recorded (`seq`) order, one keyset chunk at a time;
    the last chunk is shorter than `chunk_size` (empty if nothing is left). `fields` must hold seq."""
    after = None
    while True:
        rows = await repo.record_fields(
            connection, fields, after=after, newest_first=newest_first, limit=chunk_size, **filters
        )
        yield rows
        if len(rows) < chunk_size:
            return
        after = rows[-1].seq


# Verifying the chain ----------------------------------------------------------------------------


async def verify_chain(
    connection: AsyncConnection | AsyncSession,
    *,
    from_seq: int,
    to_seq: int | None,
    checkpoints,
    chunk_size: int,
    key: bytes | None = None,
) -> AsyncIterator[dict[str, Any] | None]:
    """Walk records `from_seq`..`to_seq` (default: to the end) in seq order, `chunk_size` at a time,
    and report the first break. Yields None after each chunk (a sign of life), then the report.
    Run it in one REPEATABLE READ transaction: one snapshot throughout."""
    head_seq, head_hash = await repo.chain_head(connection)
    prev: str | None
    if from_seq == 1:
        prev = GENESIS_HASH
    else:
        # The link into the range is checked against the record before it, if that one is there.
        prev = await repo.hash_at(connection, from_seq - 1)
    sealed_from = await repo.first_sealed_seq(connection)
    walker = ChainWalker(
        expected_seq=from_seq,
        prev_hash=prev,
        checkpoints=iter(checkpoints),
        sealed_from=sealed_from,
        key=key,
        json_as_text=True,
    )
    end = to_seq if to_seq is not None else 2**62
    failure = None
    rows = await repo.chain_chunk(connection, start=from_seq, end=end, limit=chunk_size)
    while True:
        # The next chunk is asked for before this one is checked, so PostgreSQL reads it while Python hashes.
        ahead = None
        if len(rows) == chunk_size:
            ahead = asyncio.ensure_future(
                repo.chain_chunk(connection, start=rows[-1]["seq"] + 1, end=end, limit=chunk_size)
            )
            await asyncio.sleep(0)  # let it send the query
        failure = walker.feed(rows)
        if ahead is None:
            yield None
            break
        rows = await ahead  # also after a break: the connection is free again before the report
        yield None
        if failure is not None:
            break
    if failure is None:
        failure = walker.finish(end_seq=to_seq, chain_head_seq=head_seq)
    yield {
        "ok": failure is None,
        "from_seq": from_seq,
        "to_seq": to_seq,
        "checked": walker.checked,
        "last_checked_seq": walker.last_seq,
        "chain_head": {"seq": head_seq, "hash": head_hash},
        "sealed_from_seq": sealed_from,
        "seals_checked": walker.seals_checked,
        "seal_key_configured": key is not None,
        "break": None
        if failure is None
        else {"seq": failure.seq, "reason": failure.reason, "meaning": failure.meaning, "detail": failure.detail},
    }
