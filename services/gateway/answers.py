"""What every composed answer shares: fields holding a service's own schema (`upstream`, documented by
reference), the `missing` list and `complete` flag made from the gathering's outcome, and the words and
problems of the composed routes' documentation."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, WithJsonSchema

from services.gateway.parts import Outcome, Reason
from shared import clock

# The mark of a field holding a service's own schema: replaced by a `$ref` to that schema when the
# gateway merges the services' OpenAPI documents (`merge_own_openapi`).
UPSTREAM_SCHEMA = "x-upstream-schema"


# A service's own answer, passed on as the service sent it.
Upstream = dict[str, Any]


def upstream(service: str, schema: str, what: str) -> WithJsonSchema:
    """The mark of a field holding a `schema` of `service` (`Annotated[Upstream, upstream(...)]`), documented by
    reference."""
    return WithJsonSchema({"type": "object", "description": what, UPSTREAM_SCHEMA: f"{service}:{schema}"})


class Missing(BaseModel):
    part: str = Field(description="Which part did not arrive (a field of this answer, or `counts.<name>`)")
    reason: Reason = Field(
        description="timeout: no answer in time; unavailable: the service could not be reached "
        "or has no such endpoint; forbidden: it refused the caller; error: any other "
        "failure"
    )
    status: int | None = Field(description="The service's HTTP status, when it answered")
    detail: str = Field("", description="What happened, for people")


MissingParts = Annotated[
    list[Missing], Field(description="Parts that did not arrive in time or failed; empty when complete")
]
Complete = Annotated[bool, Field(description="True when every part arrived")]


PARTIAL_ANSWERS = (
    "The parts are asked for at once, each from the service that owns it and with the caller's token, so each "
    "applies the caller's scope to its own records. The answer comes within a set time (`COMPOSE_DEADLINE_SECONDS`, "
    "2 s by default; each part `COMPOSE_PART_TIMEOUT_SECONDS`, 1.5 s): a part that is slow, whose service is down, "
    "or that the service refuses is null, and listed in `missing` with its `reason` (`timeout`, `unavailable`, "
    "`forbidden`, `error`) and the service's `status` when it answered. Such a partial answer is still **200**; "
    "`complete` is false. Lists hold the first page (`COMPOSE_LIST_LIMIT` items) and their `total`."
)

PROBLEMS = {
    401: {"description": "Missing, invalid or expired token (problem+json)"},
    404: {"description": "No such client, or outside the caller's scope (problem+json)"},
    422: {"description": "Invalid input; `errors` names each field (problem+json)"},
}


def composed_fields(outcome: Outcome) -> dict[str, Any]:
    """The `missing`, `complete` and `generated_at` fields of an answer gathered as `outcome`."""
    return {
        "missing": [Missing(part=m.part, reason=m.reason, status=m.status, detail=m.detail) for m in outcome.missing],
        "complete": not outcome.missing,
        "generated_at": clock.now(),
    }
