"""Every consuming service's dead letters in one list, at the gateway (Admin only): each service is asked for
its own at once, and the answers merged newest first. Each letter's own actions (inspect, replay, discard)
are on `/api/v1/dead-letters/{consumer}/...`, which the gateway routes to the service owning the consumer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services.gateway.answers import PARTIAL_ANSWERS, Complete, MissingParts, Upstream, composed_fields, upstream
from services.gateway.parts import Composer, PartCall
from services.gateway.routes import DEAD_LETTER_SERVICES, DEAD_LETTERS
from shared.auth import Principal, require_role
from shared.clock import Instant
from shared.errors import InvalidInput
from shared.messaging.dead_letters.endpoints import Status

# Each service is asked for the first `offset + limit` of its letters; the merged page is cut from those.
MAX_WINDOW = 200


class DeadLetterList(BaseModel):
    items: list[
        Annotated[
            Upstream,
            upstream(
                "audit",
                "DeadLetterOut",
                "a dead letter (its `consumer` names the service that keeps it: the part before the first dot)",
            ),
        ]
    ]
    total: int = Field(description="How many letters match, in the services that answered")
    limit: int
    offset: int
    missing: MissingParts
    complete: Complete
    generated_at: datetime


def _parked_at(item: Any) -> datetime:
    try:
        return datetime.fromisoformat(item["parked_at"])
    except (KeyError, TypeError, ValueError):
        return datetime.min.replace(tzinfo=UTC)


def _utc(at: datetime | None) -> str | None:
    """An instant (already in UTC) as the services read it: `Z`, no `+` that a query string could turn into a space."""
    return at.isoformat().replace("+00:00", "Z") if at is not None else None


def add_dead_letters(router: APIRouter, composer: Composer) -> None:
    """Add `GET /api/v1/dead-letters` to `router`."""

    @router.get(
        DEAD_LETTERS,
        response_model=DeadLetterList,
        responses={403: {"description": "Only the Admin works with dead letters (problem+json)"}},
        summary="Every consumer's dead letters, newest first, by consumer, event type, status (parked by "
        "default) and time; services that are slow or down are listed in `missing`",
        description=PARTIAL_ANSWERS + "\n\nThe list pages over the newest "
        f"{MAX_WINDOW} letters of each service (`offset + limit` at most {MAX_WINDOW}); further back, page "
        "through one consumer's at `GET /api/v1/dead-letters/{consumer}`.",
    )
    async def dead_letters(
        request: Request,
        _: Annotated[Principal, Depends(require_role("Admin"))],
        consumer: Annotated[
            str | None, Query(max_length=100, description="One consumer's letters only, e.g. `tasks.router`")
        ] = None,
        event_type: Annotated[str | None, Query(max_length=200)] = None,
        status: Annotated[
            Status, Query(description="`parked` (the default), `replayed`, `discarded` or `any`")
        ] = "parked",
        since: Annotated[Instant | None, Query(description="Parked at or after (ISO 8601 with timezone)")] = None,
        until: Annotated[Instant | None, Query(description="Parked before (ISO 8601 with timezone)")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_WINDOW, description="Items per page")] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_WINDOW, description="Items to skip")] = 0,
    ) -> DeadLetterList:
        if offset + limit > MAX_WINDOW:
            raise InvalidInput.for_field(
                "query.offset",
                f"offset + limit may be at most {MAX_WINDOW} here; page further through one consumer's list",
            )
        filters = {
            "consumer": consumer,
            "event_type": event_type,
            "status": status,
            "since": _utc(since),
            "until": _utc(until),
        }
        params = (*((k, str(v)) for k, v in filters.items() if v is not None), ("limit", str(offset + limit)))
        services = [s for s in DEAD_LETTER_SERVICES if consumer is None or consumer.split(".", 1)[0] == s]
        outcome = await composer.gather(request, [PartCall(s, s, DEAD_LETTERS, params) for s in services])
        items: list[dict[str, Any]] = []
        total = 0
        for page in outcome.parts.values():
            if isinstance(page, dict):
                items += [i for i in page.get("items", []) if isinstance(i, dict)]
                total += page.get("total", 0) if isinstance(page.get("total"), int) else 0
        items.sort(key=lambda i: (_parked_at(i), str(i.get("consumer")), i.get("id") or 0), reverse=True)
        return DeadLetterList(
            items=items[offset : offset + limit], total=total, limit=limit, offset=offset, **composed_fields(outcome)
        )
