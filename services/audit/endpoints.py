"""Audit's HTTP API: query the trail and a client's history (the Admin all of it; a Manager the records of their
department's aggregates and clients, `repository.in_department`); verify the chain and export the trail (Admin)."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from services.audit import report, service
from services.audit.chain import HASHED_FIELDS
from services.audit.checkpoints import checkpoint_file_size, latest_checkpoint, read_checkpoints
from shared import clock
from shared.auth import Principal, require_role
from shared.clock import Instant
from shared.db import TransactionalRoute
from shared.endpoints import Admin, Session
from shared.errors import InvalidInput
from shared.privacy.fields import reveal

router = APIRouter(
    route_class=TransactionalRoute,
    tags=["audit"],
    responses={
        401: {"description": "Not authenticated"},
        403: {"description": "Role not allowed"},
        422: {"description": "Invalid query; `errors` names the parameter"},
    },
)
Auditor = Annotated[Principal, Depends(require_role("Admin", "Manager"))]
MAX_SEQ = 2**63 - 1  # chain positions are PostgreSQL bigints


class FieldChangeOut(BaseModel):
    field: str
    before: Any = None
    after: Any = None


class AuditRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    seq: int = Field(description="Position in the hash chain (1, 2, 3, ... without gaps)")
    event_id: str
    event_type: str
    event_version: int
    source: str
    aggregate_type: str
    aggregate_id: str | None
    client_id: str | None = Field(description="The client the event concerns (itself, its deal, task or contract)")
    actor_type: str | None
    actor_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    correlation_id: str | None
    causation_id: str | None
    trace_id: str | None
    changes: list[FieldChangeOut] | None
    data: dict[str, Any]
    prev_hash: str = Field(description="`hash` of the record at `seq - 1` (64 zeros for seq 1)")
    hash: str = Field(description="SHA-256 (hex) of the record's canonical encoding")


async def record_out(record: Any) -> AuditRecordOut:
    """A record as a reader sees it: personal fields sealed with a subject's key opened, or "erased" where the
    subject was erased (the stored record, which the chain covers, keeps the sealed form)."""
    out = AuditRecordOut.model_validate(record)
    data, changes = await reveal(
        out.data, [c.model_dump() for c in out.changes] if out.changes is not None else None, event_id=out.event_id
    )
    return out.model_copy(
        update={"data": data, "changes": None if changes is None else [FieldChangeOut(**c) for c in changes]}
    )


class AuditPage(BaseModel):
    items: list[AuditRecordOut]
    limit: int
    next_cursor: str | None


class RecordFilters(BaseModel):
    """The filters the list and the export share."""

    aggregate_type: str | None = None
    aggregate_id: str | None = None
    actor_id: str | None = None
    event_type: str | None = None
    client_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


async def record_filters(
    aggregate_type: Annotated[str | None, Query(max_length=100, description="e.g. `identity.user`")] = None,
    aggregate_id: Annotated[str | None, Query(max_length=200)] = None,
    actor_id: Annotated[str | None, Query(max_length=200, description="A user id, or a system component")] = None,
    event_type: Annotated[str | None, Query(max_length=200, description="e.g. `identity.user.created`")] = None,
    client_id: Annotated[
        str | None, Query(max_length=64, description="Events of this client, its deals, tasks and contracts")
    ] = None,
    since: Annotated[Instant | None, Query(description="Occurred at or after (ISO 8601 with timezone)")] = None,
    until: Annotated[Instant | None, Query(description="Occurred before (ISO 8601 with timezone)")] = None,
) -> RecordFilters:
    return RecordFilters(
        aggregate_type=aggregate_type,
        aggregate_id=aggregate_id,
        actor_id=actor_id,
        event_type=event_type,
        client_id=client_id,
        since=since,
        until=until,
    )


Filters = Annotated[RecordFilters, Depends(record_filters)]
Order = Annotated[
    Literal["asc", "desc"],
    Query(description="Oldest or newest first, in the order audit recorded them (`seq`, the chain's order)"),
]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")]


@router.get(
    "/api/v1/audit/records",
    response_model=AuditPage,
    summary="Query the audit trail by aggregate, actor, event type, client and time range (a Manager: their "
    "department's records)",
)
async def list_records(
    session: Session,
    reader: Auditor,
    filters: Filters,
    order: Order = "desc",
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AuditPage:
    rows, next_cursor = await service.query_records(
        session,
        limit=limit,
        cursor=cursor,
        newest_first=order == "desc",
        department_id=service.scope_of(reader),
        **filters.model_dump(),
    )
    return AuditPage(items=[await record_out(r) for r in rows], limit=limit, next_cursor=next_cursor)


@router.get(
    "/api/v1/audit/clients/{client_id}/history",
    response_model=AuditPage,
    summary="A client's full history: the client, its deals, tasks and contracts, oldest first (by `seq`)",
    responses={404: {"description": "A client of another department than the Manager's (as the client itself)"}},
)
async def client_history(
    session: Session,
    reader: Auditor,
    client_id: Annotated[str, PathParam(max_length=64)],
    limit: Limit = 50,
    cursor: Cursor = None,
) -> AuditPage:
    rows, next_cursor = await service.client_history(session, reader, client_id, limit=limit, cursor=cursor)
    return AuditPage(items=[await record_out(r) for r in rows], limit=limit, next_cursor=next_cursor)


# Verify ------------------------------------------------------------------------------------------


class ChainBreakOut(BaseModel):
    seq: int = Field(description="The first chain position that does not hold")
    reason: Literal[
        "hash_mismatch",
        "prev_hash_mismatch",
        "seq_gap",
        "head_behind_checkpoint",
        "head_behind_chain_head",
        "checkpoint_mismatch",
        "unsealed",
        "seal_mismatch",
    ]
    meaning: str
    detail: str


class ChainPosition(BaseModel):
    seq: int
    hash: str


class CheckpointOut(ChainPosition):
    checkpointed_at: str | None


class VerifyReport(BaseModel):
    ok: bool
    from_seq: int
    to_seq: int | None = Field(description="As asked; null: to the end of the chain")
    checked: int = Field(description="Records checked before the first break (or all of them)")
    last_checked_seq: int | None
    chain_head: ChainPosition = Field(description="The head as the appenders recorded it")
    sealed_from_seq: int | None = Field(
        description="The first sealed record: from it on every record must carry the chain key's seal (null: none is)"
    )
    seals_checked: int = Field(description="Seals checked against the chain key (0 when the key is not configured)")
    seal_key_configured: bool = Field(description="Whether this audit holds the chain key (AUDIT_CHAIN_KEY)")
    latest_checkpoint: CheckpointOut | None = Field(description="The newest checkpoint kept outside the table")
    break_: ChainBreakOut | None = Field(alias="break", description="The first break, if any")

    model_config = ConfigDict(populate_by_name=True)


async def _verify_report(request: Request, from_seq: int, to_seq: int | None) -> AsyncIterator[str]:
    """The walk on its own connection, in one REPEATABLE READ snapshot. A long walk sends a space now and
    then before the report (whitespace before a JSON document is still that document), so neither the
    gateway nor a client gives up on a quiet connection."""
    settings = request.app.state.settings
    path = settings.audit_checkpoint_file
    report: dict[str, Any] | None = None
    last_sign = time.monotonic()
    # The checkpoints the file holds now, before the snapshot is taken: each names records the snapshot holds.
    # The walk is held to these (and reports the latest of them), not to one taken while it walks.
    checkpoints_end = checkpoint_file_size(path)
    latest = latest_checkpoint(path)
    async with request.app.state.engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            async for step in service.verify_chain(
                connection,
                from_seq=from_seq,
                to_seq=to_seq,
                checkpoints=read_checkpoints(path, end=checkpoints_end),
                chunk_size=settings.audit_verify_chunk_size,
                key=service.chain_key(settings),
            ):
                if step is not None:
                    report = step
                elif time.monotonic() - last_sign > 1.0:
                    last_sign = time.monotonic()
                    yield " "
    assert report is not None  # the walk's last step is its report
    report["latest_checkpoint"] = (
        None if latest is None else {"seq": latest.seq, "hash": latest.hash, "checkpointed_at": latest.checkpointed_at}
    )
    yield VerifyReport.model_validate(report).model_dump_json(by_alias=True)


@router.get(
    "/api/v1/audit/verify",
    response_class=StreamingResponse,
    summary="Check the hash chain (all of it or a range) and the checkpoints; report the first break",
    responses={
        200: {
            "model": VerifyReport,
            "description": (
                "The report (ok, or the first break: its seq and why). A long walk is preceded by spaces sent "
                "while it runs."
            ),
        }
    },
)
async def verify(
    request: Request,
    _: Admin,
    from_seq: Annotated[int, Query(ge=1, le=MAX_SEQ, description="First chain position to check")] = 1,
    to_seq: Annotated[int | None, Query(ge=1, le=MAX_SEQ, description="Last position (default: the end)")] = None,
) -> StreamingResponse:
    if to_seq is not None and to_seq < from_seq:
        raise InvalidInput.for_field("query.to_seq", "must not be below from_seq")
    return StreamingResponse(_verify_report(request, from_seq, to_seq), media_type="application/json")


# Export ------------------------------------------------------------------------------------------

# Every hashed field in the chain's order, with the record's id beside its seq and its own hash at the end.
EXPORT_FIELDS = ("seq", "id", *HASHED_FIELDS[1:], "hash")


def _export_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _jsonl(rows) -> str:
    return "".join(
        json.dumps(
            {name: _export_value(row[i]) for i, name in enumerate(EXPORT_FIELDS)},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        + "\n"
        for row in rows
    )


# A spreadsheet reads a cell starting with one of these as a formula (OWASP's "CSV injection"); the export
# writes such a text cell with a leading `'`, which shows it as the text it is. Numbers are left alone.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(name: str, value: Any) -> Any:
    """One CSV cell: `data` and `changes` as JSON text, times in ISO 8601, text that a spreadsheet would take
    for a formula neutralised."""
    if value is None:
        return ""
    if name in ("data", "changes"):
        value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    value = _export_value(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


_EVENT_ID, _DATA, _CHANGES = (EXPORT_FIELDS.index(name) for name in ("event_id", "data", "changes"))


async def _csv(rows, *, header: bool) -> str:
    """CSV is for people: personal fields opened (or "erased"). JSON lines keep the stored form, so an export
    still recomputes to the chain's hashes."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header:
        writer.writerow(EXPORT_FIELDS)
    for row in rows:
        values = list(row)
        values[_DATA], values[_CHANGES] = await reveal(values[_DATA], values[_CHANGES], event_id=values[_EVENT_ID])
        writer.writerow([csv_cell(name, value) for name, value in zip(EXPORT_FIELDS, values, strict=True)])
    return buffer.getvalue()


async def _export_chunks(request: Request, filters: RecordFilters, fmt: str, newest_first: bool) -> AsyncIterator[str]:
    """The export, one keyset chunk at a time, in one REPEATABLE READ snapshot on its own connection
    (the request's transaction has ended by the time the body streams)."""
    chunk_size = request.app.state.settings.audit_export_chunk_size
    first = True
    async with request.app.state.engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="REPEATABLE READ")
        async with connection.begin():
            async for rows in service.export_chunks(
                connection, EXPORT_FIELDS, chunk_size=chunk_size, newest_first=newest_first, **filters.model_dump()
            ):
                if rows or first:
                    yield _jsonl(rows) if fmt == "jsonl" else await _csv(rows, header=first)
                first = False


@router.get(
    "/api/v1/audit/export",
    summary="Stream the records matching the filters as JSON lines or CSV",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "One record a line (`jsonl`) or a CSV table with a header row; "
            "`data` and `changes` are JSON text in CSV; in CSV a text cell starting with `=`, `+`, `-`, `@`, a tab "
            "or a carriage return is written with a leading `'` (no spreadsheet runs it as a formula)",
            "content": {"application/x-ndjson": {}, "text/csv": {}},
        }
    },
)
async def export(
    request: Request,
    _: Admin,
    filters: Filters,
    format: Annotated[Literal["jsonl", "csv"], Query(description="`jsonl` or `csv`")] = "jsonl",
    order: Order = "asc",
) -> StreamingResponse:
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    media_type = "application/x-ndjson" if format == "jsonl" else "text/csv; charset=utf-8"
    return StreamingResponse(
        _export_chunks(request, filters, format, order == "desc"),
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="audit-export-{stamp}.{format}"'},
    )


MAX_REPORT_DAYS = 366


@router.get(
    "/api/v1/audit/reports/compliance",
    summary="The compliance report of a period: the chain's verification and latest checkpoint, access changes, "
    "SLA performance per department, data-subject requests and dead letters resolved (PDF or JSON)",
    responses={
        200: {
            "description": "The report: a PDF to hand an auditor, or the same figures as JSON",
            "content": {"application/pdf": {}, "application/json": {}},
        },
        422: {"description": "`until` not after `since`, or a period longer than a year"},
    },
)
async def compliance_report(
    request: Request,
    session: Session,
    _: Admin,
    since: Annotated[Instant, Query(description="Start of the period (ISO 8601 with timezone), included")],
    until: Annotated[Instant, Query(description="End of the period (ISO 8601 with timezone), excluded")],
    format: Annotated[Literal["pdf", "json"], Query(description="`pdf` or `json`")] = "pdf",
) -> Response:
    if until <= since:
        raise InvalidInput.for_field("query.until", "must be after since")
    if (until - since).days > MAX_REPORT_DAYS:
        raise InvalidInput.for_field("query.until", f"the period may be at most {MAX_REPORT_DAYS} days")
    settings = request.app.state.settings
    data = await report.compliance_report(
        session,
        since=since,
        until=until,
        checkpoint_file=settings.audit_checkpoint_file,
        key=service.chain_key(settings),
        chunk_size=settings.audit_verify_chunk_size,
    )
    if format == "json":
        return JSONResponse(data)
    # Drawing a long report takes a while of CPU: off the event loop the consumer shares.
    pdf = await asyncio.to_thread(report.render_pdf, data)
    name = f"compliance-{since:%Y%m%d}-{until:%Y%m%d}.pdf"
    return Response(
        pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.get(
    "/api/v1/audit/records/{event_id}",
    response_model=AuditRecordOut,
    summary="The audit record of one event",
    responses={404: {"description": "No such event recorded"}},
)
async def get_record(event_id: str, session: Session, reader: Auditor) -> AuditRecordOut:
    return await record_out(await service.record_of_event(session, event_id, reader))
