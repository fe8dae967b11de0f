"""Audit's HTTP API: query the trail (Admin and Manager)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import service
from services.audit.models import AuditRecord
from shared.auth import Principal, require_role
from shared.db import TransactionalRoute, get_session
from shared.errors import InvalidInput, NotFound

router = APIRouter(route_class=TransactionalRoute, tags=["audit"],
                   responses={401: {"description": "Not authenticated"}, 403: {"description": "Admin or Manager only"},
                              422: {"description": "Invalid query; `errors` names the parameter"}})
Session = Annotated[AsyncSession, Depends(get_session)]
Auditor = Annotated[Principal, Depends(require_role("Admin", "Manager"))]


class FieldChangeOut(BaseModel):
    field: str
    before: Any = None
    after: Any = None


class AuditRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    event_id: str
    event_type: str
    event_version: int
    source: str
    aggregate_type: str
    aggregate_id: str | None
    actor_type: str | None
    actor_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    correlation_id: str | None
    causation_id: str | None
    trace_id: str | None
    changes: list[FieldChangeOut] | None
    data: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditRecordOut]
    limit: int
    next_cursor: str | None


@router.get("/api/v1/audit/records", response_model=AuditPage,
            summary="Query the audit trail by aggregate, actor, event type and time range")
async def list_records(
    session: Session,
    _: Auditor,
    aggregate_type: Annotated[str | None, Query(max_length=100, description="e.g. `identity.user`")] = None,
    aggregate_id: Annotated[str | None, Query(max_length=200)] = None,
    actor_id: Annotated[str | None, Query(max_length=200, description="A user id, or a system component")] = None,
    event_type: Annotated[str | None, Query(max_length=200, description="e.g. `identity.user.created`")] = None,
    since: Annotated[datetime | None, Query(description="Occurred at or after (ISO 8601 with timezone)")] = None,
    until: Annotated[datetime | None, Query(description="Occurred before (ISO 8601 with timezone)")] = None,
    order: Annotated[Literal["asc", "desc"], Query(description="Oldest or newest first")] = "desc",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="`next_cursor` of the previous page")] = None,
) -> AuditPage:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidInput.for_field(f"query.{name}", "needs a timezone (e.g. 2026-01-31T09:00:00Z)")
    rows, next_cursor = await service.query_records(
        session, aggregate_type=aggregate_type, aggregate_id=aggregate_id, actor_id=actor_id, event_type=event_type,
        since=since, until=until, limit=limit, cursor=cursor, newest_first=order == "desc")
    return AuditPage(items=[AuditRecordOut.model_validate(r) for r in rows], limit=limit, next_cursor=next_cursor)


@router.get("/api/v1/audit/records/{event_id}", response_model=AuditRecordOut,
            summary="The audit record of one event", responses={404: {"description": "No such event recorded"}})
async def get_record(event_id: str, session: Session, _: Auditor) -> AuditRecordOut:
    row = (await session.execute(select(AuditRecord).where(AuditRecord.event_id == event_id))).scalar_one_or_none()
    if row is None:
        raise NotFound(f"no audit record for event {event_id}")
    return AuditRecordOut.model_validate(row)
