"""The dead-letter endpoints of a consuming service (Admin only). The gateway routes
`/api/v1/dead-letters/{consumer}/...` to the service owning the consumer (the part of its name before the
first dot) and answers `GET /api/v1/dead-letters` itself, from every consuming service's list."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field

from shared.clock import Instant
from shared.db import TransactionalRoute
from shared.endpoints import Admin, Session, problems
from shared.messaging.consumer import IdempotentConsumer
from shared.messaging.dead_letters import service
from shared.messaging.dead_letters.repository import LetterFilters
from shared.pagination import MAX_OFFSET, Page

MAX_ID = 2**63 - 1  # dead letter ids are PostgreSQL bigints
CONSUMER_PATTERN = r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$"
Status = Literal["parked", "replayed", "discarded", "any"]

router = APIRouter(
    route_class=TransactionalRoute,
    tags=["dead letters"],
    responses={
        **problems(
            s404="No such consumer in this service, or no such dead letter of it (problem+json)",
            s409="The letter is already replayed or discarded, or its consumer failed on it again (problem+json)",
            s422="Invalid input, or a letter that is not an event and so cannot be replayed (problem+json)",
        ),
    },
)

ConsumerName = Annotated[
    str,
    PathParam(
        max_length=100,
        pattern=CONSUMER_PATTERN,
        description="A consumer group, e.g. `tasks.router` or `audit`: the part "
        "before the first dot names the service that owns it",
    ),
]
LetterId = Annotated[int, PathParam(ge=1, le=MAX_ID, description="The dead letter's id (in its service)")]


class DeadLetterOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    consumer: str = Field(description="The consumer group that parked it")
    status: Literal["parked", "replayed", "discarded"]
    event_id: str | None = Field(description="The parked event's id (null: the record was not an event)")
    event_type: str | None
    kind: str | None = Field(
        description="Why it was parked: `permanent` (a refusal, a payload the contract "
        "refuses, an unknown version, not an event) or `unknown` (it kept "
        "failing); null for letters parked before this was kept"
    )
    error: str = Field(description="The failure that parked it")
    topic: str = Field(description="Where the record was read from")
    partition: int
    offset: int
    key: str | None
    parked_at: datetime = Field(validation_alias="created_at")
    replay_attempts: int = Field(description="Replays tried, the successful one included")
    last_replay_at: datetime | None
    last_replay_error: str | None = Field(description="Why the last failed replay failed")
    resolved_at: datetime | None = Field(description="When it was replayed or discarded")
    resolved_by: str | None = Field(description="Who replayed or discarded it (`user:<id>`)")
    discard_reason: str | None


class DeadLetterDetail(DeadLetterOut):
    headers: dict[str, str] = Field(description="The record's Kafka headers (its CloudEvents attributes)")
    payload_encoding: Literal["json", "text", "base64", "none"] = Field(
        description="How `payload` shows the record's value: parsed JSON, UTF-8 text, base64 of the bytes, or "
        "none (the record had no value)"
    )
    payload: Any = Field(description="The record's value, as `payload_encoding` says")
    replayable: bool = Field(description="Whether the record is an event its consumer can be given again")


class DiscardRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why the letter's event will not be handled")


class ReplayRequest(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        min_length=1,
        max_length=100,
        description=("The dead letters to replay, in this order (each in its own transaction)"),
    )


class ReplayResult(BaseModel):
    id: int
    outcome: Literal["replayed", "failed", "not_found", "conflict", "not_replayable", "unavailable"]
    status: int = Field(description="The status a single replay of this letter would have answered")
    detail: str


class ReplayReport(BaseModel):
    results: list[ReplayResult]
    replayed: int
    failed: int = Field(description="Letters not replayed, for whatever reason")


async def letter_filters(
    event_type: Annotated[str | None, Query(max_length=200, description="e.g. `pipeline.opportunity.accepted`")] = None,
    status: Annotated[
        Status,
        Query(description="`parked` (the default: those waiting for an Admin), `replayed`, `discarded`, or `any`"),
    ] = "parked",
    since: Annotated[Instant | None, Query(description="Parked at or after (ISO 8601 with timezone)")] = None,
    until: Annotated[Instant | None, Query(description="Parked before (ISO 8601 with timezone)")] = None,
) -> LetterFilters:
    return LetterFilters(event_type=event_type, status=None if status == "any" else status, since=since, until=until)


Filters = Annotated[LetterFilters, Depends(letter_filters)]
Limit = Annotated[int, Query(ge=1, le=200, description="Items per page (1-200).")]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Items to skip.")]


def _consumers(request: Request) -> dict[str, IdempotentConsumer]:
    return getattr(request.app.state, "consumers", {})


def _detail(row: Any) -> DeadLetterDetail:
    encoding, payload = service.payload_view(row.payload)
    return DeadLetterDetail.model_validate(
        {**row._mapping, "payload_encoding": encoding, "payload": payload, "replayable": service.is_replayable(row)}
    )


async def _page(
    request: Request, session: Session, filters: LetterFilters, limit: int, offset: int
) -> Page[DeadLetterOut]:
    rows, total = await service.list_letters(
        session, request.app.state.messaging_tables, filters, limit=limit, offset=offset
    )
    return Page[DeadLetterOut](
        items=[DeadLetterOut.model_validate(r) for r in rows], total=total, limit=limit, offset=offset
    )


@router.get(
    "/api/v1/dead-letters",
    response_model=Page[DeadLetterOut],
    summary="This service's dead letters, of all its consumers, newest first (the gateway answers this "
    "path itself, from every service)",
)
async def list_service_letters(
    request: Request,
    session: Session,
    _: Admin,
    filters: Filters,
    consumer: Annotated[str | None, Query(max_length=100, description="One consumer's letters only")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[DeadLetterOut]:
    return await _page(request, session, replace(filters, consumer=consumer), limit, offset)


@router.get(
    "/api/v1/dead-letters/{consumer}",
    response_model=Page[DeadLetterOut],
    summary="A consumer's dead letters, newest first, by event type, status (parked by default) and time",
)
async def list_letters(
    request: Request,
    session: Session,
    _: Admin,
    consumer: ConsumerName,
    filters: Filters,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[DeadLetterOut]:
    service.consumer_named(_consumers(request), consumer)
    return await _page(request, session, replace(filters, consumer=consumer), limit, offset)


@router.post(
    "/api/v1/dead-letters/{consumer}/replay",
    response_model=ReplayReport,
    summary="Replay several dead letters of a consumer, in the order given, each on its own: what became of each",
)
async def replay_many(request: Request, _admin: Admin, consumer: ConsumerName, body: ReplayRequest) -> ReplayReport:
    target = service.consumer_named(_consumers(request), consumer)
    outcomes = await service.replay_many(request.app.state.sessionmaker, target, body.ids)
    results = [ReplayResult(id=o.id, outcome=o.outcome, status=o.status, detail=o.detail) for o in outcomes]
    replayed = sum(r.outcome == "replayed" for r in results)
    return ReplayReport(results=results, replayed=replayed, failed=len(results) - replayed)


@router.get(
    "/api/v1/dead-letters/{consumer}/{dead_letter_id}",
    response_model=DeadLetterDetail,
    summary="One dead letter: its record (payload, headers, key, origin), error and what became of it",
)
async def get_letter(
    request: Request, session: Session, _: Admin, consumer: ConsumerName, dead_letter_id: LetterId
) -> DeadLetterDetail:
    target = service.consumer_named(_consumers(request), consumer)
    return _detail(await service.letter(session, target, dead_letter_id))


@router.post(
    "/api/v1/dead-letters/{consumer}/{dead_letter_id}/replay",
    response_model=DeadLetterDetail,
    responses={503: {"description": "The consumer's dependency is unavailable; try again (problem+json)"}},
    summary="Give the letter's event to its consumer again, idempotently: once handled it is `replayed`; "
    "if the consumer fails again it stays parked (the attempt recorded) and the answer says why",
)
async def replay_letter(
    request: Request, _admin: Admin, consumer: ConsumerName, dead_letter_id: LetterId
) -> DeadLetterDetail:
    target = service.consumer_named(_consumers(request), consumer)
    return _detail(await service.replay(request.app.state.sessionmaker, target, dead_letter_id))


@router.post(
    "/api/v1/dead-letters/{consumer}/{dead_letter_id}/discard",
    response_model=DeadLetterDetail,
    summary="Resolve the letter without handling its event, saying why",
)
async def discard_letter(
    request: Request,
    session: Session,
    _admin: Admin,
    consumer: ConsumerName,
    dead_letter_id: LetterId,
    body: DiscardRequest,
) -> DeadLetterDetail:
    target = service.consumer_named(_consumers(request), consumer)
    return _detail(await service.discard(session, target, dead_letter_id, body.reason))
