"""Composed reads at the gateway: Client 360 and the role-aware dashboard.

A composed read asks several services at once, each with the caller's own token (every service applies
the caller's scope to the records it owns), and always answers within a set time: each part has its
own deadline (`COMPOSE_PART_TIMEOUT_SECONDS`) and the whole answer another (`COMPOSE_DEADLINE_SECONDS`).
A part that did not arrive is null in the answer and listed in `missing` with why:

- `timeout`: no answer within the part's deadline (or the overall one);
- `unavailable`: the service could not be reached, is not configured, or has no such endpoint
  (connection refused or reset, 404, 502, 503, 504);
- `forbidden`: the service refused the caller (401, 403) — e.g. an Employee asking for audit history;
- `error`: any other answer (500, a 4xx, a body that is not JSON).

Such a partial answer is still 200; `complete` says whether anything is missing. Only the decisive
part of Client 360 — the client itself — changes the status: its 404 (no such client, or outside the
caller's scope) makes the whole answer 404.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

import aiohttp
from fastapi import APIRouter, Depends, Request
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field, WithJsonSchema
from starlette.routing import BaseRoute

from services.gateway.settings import GatewaySettings
from services.gateway.upstream import TransportError, service_health, with_trace_context
from shared import clock
from shared.auth import Principal, bearer_token, current_user
from shared.context import current
from shared.errors import NotFound

log = logging.getLogger("insureops.gateway.compose")

Reason = Literal["timeout", "unavailable", "forbidden", "error"]

# The mark of a field holding a service's own schema: replaced by a `$ref` to that schema when the
# gateway merges the services' OpenAPI documents (`merge_own_openapi`).
UPSTREAM_SCHEMA = "x-upstream-schema"


# The gathering: concurrent parts, each with a deadline, merged into one outcome -------------------

class PartFailed(Exception):
    """A part that did not arrive: why (`reason`), and the service's HTTP status if it answered."""

    def __init__(self, reason: Reason, status: int | None = None, detail: str = ""):
        super().__init__(f"{reason} ({status}): {detail}")
        self.reason = reason
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class PartCall:
    """One part of a composed read: a GET of `path` on `service`, or `run` (a part the gateway makes itself)."""

    name: str
    service: str
    path: str = ""
    params: tuple[tuple[str, str], ...] = ()
    run: Callable[[], Awaitable[Any]] | None = field(default=None, compare=False)


@dataclass
class MissingPart:
    part: str
    reason: Reason
    status: int | None = None
    detail: str = ""


@dataclass
class Outcome:
    parts: dict[str, Any]
    missing: list[MissingPart]
    stopped_by: MissingPart | None = None  # the decisive failure that ended the gathering early


Fetch = Callable[[PartCall], Awaitable[Any]]


def reason_for_status(status: int) -> Reason:
    if status in (401, 403):
        return "forbidden"
    if status in (404, 502, 503, 504):
        return "unavailable"
    return "error"


async def gather_parts(calls: Sequence[PartCall], fetch: Fetch, *, part_timeout: float, deadline: float,
                       decisive: Callable[[PartCall, PartFailed], bool] | None = None) -> Outcome:
    """Run every call at once; return what arrived by `deadline` (event-loop time), and what did not.

    Each call has `part_timeout` seconds. A failure for which `decisive(call, failure)` holds ends the
    gathering at once (the rest are cancelled and not reported). Never raises for a part, and never
    waits past `deadline`: calls still out then are cancelled and reported as `timeout`.
    """
    loop = asyncio.get_running_loop()

    async def one(call: PartCall) -> Any:
        try:
            async with asyncio.timeout(part_timeout):
                return await (call.run() if call.run is not None else fetch(call))
        except TimeoutError:
            raise PartFailed("timeout", None, f"no answer within {part_timeout:g} s") from None

    tasks = {asyncio.create_task(one(call), name=f"compose-{call.name}"): call for call in calls}
    pending = set(tasks)
    parts: dict[str, Any] = {}
    failures: dict[str, MissingPart] = {}
    stopped_by = None
    try:
        while pending and stopped_by is None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            done, pending = await asyncio.wait(pending, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                call = tasks[task]
                try:
                    parts[call.name] = task.result()
                except PartFailed as failure:
                    failures[call.name] = MissingPart(call.name, failure.reason, failure.status, failure.detail)
                    if decisive is not None and decisive(call, failure):
                        stopped_by = failures[call.name]
                except Exception as exc:  # a bug in a part must not take the whole answer down
                    log.exception("composed part %s failed", call.name)
                    failures[call.name] = MissingPart(call.name, "error", None, exc.__class__.__name__)
    finally:
        for task in pending:
            task.cancel()
            # Not awaited (the answer must not wait for a part that ignores cancellation); its end is collected.
            task.add_done_callback(_collect)
            call = tasks[task]
            if stopped_by is None:
                failures[call.name] = MissingPart(call.name, "timeout", None, "still out at the overall deadline")
    missing = [failures[c.name] for c in calls if c.name in failures]
    return Outcome(parts=parts, missing=missing, stopped_by=stopped_by)


def _collect(task: asyncio.Task) -> None:
    if not task.cancelled():
        task.exception()


def http_fetcher(session: aiohttp.ClientSession, upstreams: dict[str, str], headers: dict[str, str]) -> Fetch:
    """A `Fetch` that GETs a part from its service with `headers` (the caller's token) and parses the JSON."""

    async def fetch(call: PartCall) -> Any:
        base = upstreams.get(call.service)
        if base is None:
            raise PartFailed("unavailable", None, f"no {call.service} service is configured")
        try:
            async with session.get(f"{base}{call.path}", params=list(call.params), headers=headers,
                                   allow_redirects=False) as response:
                status = response.status
                body = await response.read()
        except TransportError as exc:
            raise PartFailed("unavailable", None, f"the {call.service} service: {exc.__class__.__name__}") from None
        if 200 <= status < 300:
            try:
                return json.loads(body)
            except ValueError:
                raise PartFailed("error", status, f"the {call.service} service answered with something not JSON") \
                    from None
        raise PartFailed(reason_for_status(status), status, _problem_detail(body, status, call.service))

    return fetch


def _problem_detail(body: bytes, status: int, service: str) -> str:
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        detail = None
    return f"the {service} service answered {status}" + (f": {str(detail)[:200]}" if detail else "")


def caller_headers(request: Request) -> dict[str, str]:
    """What every part's request carries: the caller's token, the request id, the caller's address, the trace."""
    return with_trace_context({
        "authorization": f"Bearer {bearer_token(request)}",
        "accept": "application/json",
        "x-request-id": current().request_id or "",
        "x-forwarded-for": request.client.host if request.client else "",
    })


# The answers' shapes -----------------------------------------------------------------------------

def upstream(service: str, schema: str, what: str):
    """A field holding a `schema` of `service`, passed on as the service sent it (documented by reference)."""
    return Annotated[dict[str, Any], WithJsonSchema({"type": "object", "description": what,
                                                      UPSTREAM_SCHEMA: f"{service}:{schema}"})]


class Missing(BaseModel):
    part: str = Field(description="Which part did not arrive (a field of this answer, or `counts.<name>`)")
    reason: Reason = Field(description="timeout: no answer in time; unavailable: the service could not be reached "
                                       "or has no such endpoint; forbidden: it refused the caller; error: any other "
                                       "failure")
    status: int | None = Field(description="The service's HTTP status, when it answered")
    detail: str = Field("", description="What happened, for people")


MissingParts = Annotated[list[Missing], Field(description="Parts that did not arrive in time or failed; empty when "
                                                          "complete")]
Complete = Annotated[bool, Field(description="True when every part arrived")]


class Hierarchy(BaseModel):
    ancestors: list[upstream("clients", "TreeNode", "a client above, nearest first")] | None = Field(
        description="The parent, its parent, ... up to the root (nearest first); null if missing")
    children: upstream("clients", "Page_ClientOut_", "the direct subsidiaries (first page, with total)") | None
    subtree: upstream("clients", "Rollup", "the whole subtree: clients, active contracts, premium") | None


class Client360(BaseModel):
    client_id: uuid.UUID
    client: upstream("clients", "ClientOut", "the client's profile and status") | None
    hierarchy: Hierarchy
    contracts: upstream("contracts", "Page_ContractOut_", "the client's contracts, newest first") | None
    opportunities: upstream("pipeline", "Page_OpportunityOut_", "the client's deals, newest first") | None
    open_tasks: upstream("tasks", "Page_TaskOut_", "the client's open tasks, at-risk first") | None
    history: upstream("audit", "AuditPage", "the client's latest audit records, newest first: the client, its "
                                            "deals, tasks and contracts (older ones: `GET /api/v1/audit/records?"
                                            "client_id=...&cursor=<next_cursor>`; Managers and Admins only)") | None
    missing: MissingParts
    complete: Complete
    generated_at: datetime


class DashboardUser(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    role: Literal["Employee", "Manager", "Admin"]
    department_id: uuid.UUID | None


TaskPage = upstream("tasks", "Page_TaskOut_", "tasks, at-risk first (red, yellow, green, then due time)")
DealPage = upstream("pipeline", "Page_OpportunityOut_", "open deals")


class EmployeeDashboard(BaseModel):
    role: Literal["Employee"]
    user: DashboardUser
    my_tasks: TaskPage | None = Field(description="Open tasks assigned to me, at-risk first")
    my_deals: DealPage | None = Field(description="Open deals I own")
    missing: MissingParts
    complete: Complete
    generated_at: datetime


class ManagerDashboard(BaseModel):
    role: Literal["Manager"]
    user: DashboardUser
    team: upstream("tasks", "WorkloadOut", "each active member's open tasks and weighted load") | None = Field(
        description="My department's load")
    overloaded: list[upstream("tasks", "MemberLoad", "a member over the load threshold")] | None = Field(
        description="Members of my department whose open load exceeds the threshold (from `team`)")
    escalations: TaskPage | None = Field(description="Open tasks of my department escalated to a manager")
    my_tasks: TaskPage | None = Field(description="Open tasks assigned to me, at-risk first")
    my_deals: DealPage | None = Field(description="Open deals I own")
    missing: MissingParts
    complete: Complete
    generated_at: datetime


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    gateway: str
    services: dict[str, dict[str, Any]] = Field(description="Each service's readiness: status and checks")


class Counts(BaseModel):
    users: int | None
    clients: int | None
    open_deals: int | None
    open_tasks: int | None
    escalated_tasks: int | None
    active_contracts: int | None


class AdminDashboard(BaseModel):
    role: Literal["Admin"]
    user: DashboardUser
    health: Health | None = Field(description="Every service's readiness, as at `/healthz`")
    counts: Counts = Field(description="How much there is; a count is null when its service did not answer")
    missing: MissingParts
    complete: Complete
    generated_at: datetime


Dashboard = Annotated[EmployeeDashboard | ManagerDashboard | AdminDashboard, Field(discriminator="role")]

# (count name, service, path, filters) of the Admin's counts: each the `total` of a one-item page.
ADMIN_COUNTS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("users", "identity", "/api/v1/users", ()),
    ("clients", "clients", "/api/v1/clients", ()),
    ("open_deals", "pipeline", "/api/v1/opportunities", (("status", "open"),)),
    ("open_tasks", "tasks", "/api/v1/tasks", (("active", "true"),)),
    ("escalated_tasks", "tasks", "/api/v1/tasks", (("active", "true"), ("escalated", "true"))),
    ("active_contracts", "contracts", "/api/v1/contracts", (("status", "active"),)),
)

PARTIAL_ANSWERS = (
    "The parts are asked for at once, each from the service that owns it and with the caller's token, so each "
    "applies the caller's scope to its own records. The answer comes within a set time (`COMPOSE_DEADLINE_SECONDS`, "
    "2 s by default; each part `COMPOSE_PART_TIMEOUT_SECONDS`, 1.5 s): a part that is slow, whose service is down, "
    "or that the service refuses is null, and listed in `missing` with its `reason` (`timeout`, `unavailable`, "
    "`forbidden`, `error`) and the service's `status` when it answered. Such a partial answer is still **200**; "
    "`complete` is false. Lists hold the first page (`COMPOSE_LIST_LIMIT` items) and their `total`.")

PROBLEMS = {
    401: {"description": "Missing, invalid or expired token (problem+json)"},
    404: {"description": "No such client, or outside the caller's scope (problem+json)"},
    422: {"description": "Invalid input; `errors` names each field (problem+json)"},
}


# The routes --------------------------------------------------------------------------------------

def build_router(settings: GatewaySettings, upstreams: dict[str, str]) -> APIRouter:
    router = APIRouter(tags=["composed"], responses={401: PROBLEMS[401], 422: PROBLEMS[422]})

    async def gather(request: Request, calls: list[PartCall], **kw) -> Outcome:
        started = asyncio.get_running_loop().time()
        fetch = http_fetcher(request.app.state.upstream, upstreams, caller_headers(request))
        return await gather_parts(calls, fetch, part_timeout=settings.compose_part_timeout_seconds,
                                  deadline=started + settings.compose_deadline_seconds, **kw)

    def page(**filters: Any) -> tuple[tuple[str, str], ...]:
        return (*((k, str(v)) for k, v in filters.items()), ("limit", str(settings.compose_list_limit)))

    @router.get("/api/v1/clients/{client_id}/360", response_model=Client360, responses={404: PROBLEMS[404]},
                summary="Client 360: the client, its place in the hierarchy, contracts, deals, open tasks and "
                        "latest history in one answer; parts that are slow or down are listed in `missing`",
                description=PARTIAL_ANSWERS + "\n\nThe clients service decides whether the caller may see the "
                "client at all: its 404 (no such client, or outside the caller's scope) makes the whole answer 404. "
                "If the clients service does not answer, the other parts still come, each scoped by its own "
                "service. The history (audit) is for Managers and Admins; for an Employee it is missing as "
                "`forbidden`.")
    async def client_360(client_id: uuid.UUID, request: Request, caller: Principal = Depends(current_user)):
        cid = str(client_id)
        calls = [
            PartCall("client", "clients", f"/api/v1/clients/{cid}"),
            PartCall("ancestors", "clients", f"/api/v1/clients/{cid}/ancestors"),
            PartCall("children", "clients", "/api/v1/clients", page(parent_id=cid, sort="name")),
            PartCall("subtree", "clients", f"/api/v1/clients/{cid}/rollup"),
            PartCall("contracts", "contracts", "/api/v1/contracts", page(client_id=cid)),
            PartCall("opportunities", "pipeline", "/api/v1/opportunities", page(client_id=cid)),
            PartCall("open_tasks", "tasks", "/api/v1/tasks", page(client_id=cid, active="true", sort="risk")),
            # The client's history (the client, its deals, tasks and contracts), newest first: the latest N.
            PartCall("history", "audit", "/api/v1/audit/records", page(client_id=cid, order="desc")),
        ]
        # The client's owner decides whether the caller may see it at all.
        outcome = await gather(request, calls,
                               decisive=lambda call, failure: call.name == "client" and failure.status == 404)
        if outcome.stopped_by is not None:
            raise NotFound(f"no client {cid}")
        parts = outcome.parts
        return Client360(
            client_id=client_id, client=parts.get("client"),
            hierarchy=Hierarchy(ancestors=parts.get("ancestors"), children=parts.get("children"),
                                subtree=parts.get("subtree")),
            contracts=parts.get("contracts"), opportunities=parts.get("opportunities"),
            open_tasks=parts.get("open_tasks"), history=parts.get("history"),
            **_composed(outcome),
        )

    @router.get("/api/v1/dashboard", response_model=Dashboard,
                summary="The caller's dashboard, by role: an Employee's open tasks (at-risk first) and deals; a "
                        "Manager's team load, overloaded members, escalations and own items; an Admin's service "
                        "health and counts. Parts that are slow or down are listed in `missing`",
                description=PARTIAL_ANSWERS + "\n\n`role` says which of the three shapes the answer has.")
    async def dashboard(request: Request, caller: Principal = Depends(current_user)):
        me = str(caller.user_id)
        user = DashboardUser(id=caller.user_id, name=caller.name, email=caller.email, role=caller.role,
                             department_id=caller.department_id)
        own_items = [
            PartCall("my_tasks", "tasks", "/api/v1/tasks", page(assignee="me", active="true", sort="risk")),
            PartCall("my_deals", "pipeline", "/api/v1/opportunities", page(owner_id=me, status="open")),
        ]
        if caller.role == "Employee":
            outcome = await gather(request, own_items)
            return EmployeeDashboard(role="Employee", user=user, my_tasks=outcome.parts.get("my_tasks"),
                                     my_deals=outcome.parts.get("my_deals"), **_composed(outcome))
        if caller.role == "Manager":
            department = {"department_id": str(caller.department_id)} if caller.department_id else {}
            outcome = await gather(request, [
                PartCall("team", "tasks", "/api/v1/workload", tuple(department.items())),
                PartCall("escalations", "tasks", "/api/v1/tasks",
                         page(escalated="true", active="true", sort="risk", **department)),
                *own_items,
            ])
            team = outcome.parts.get("team")
            overloaded = None
            if isinstance(team, dict):
                overloaded = [m for m in team.get("members", []) if isinstance(m, dict) and m.get("overloaded")]
            return ManagerDashboard(role="Manager", user=user, team=team, overloaded=overloaded,
                                    escalations=outcome.parts.get("escalations"),
                                    my_tasks=outcome.parts.get("my_tasks"), my_deals=outcome.parts.get("my_deals"),
                                    **_composed(outcome))

        async def health() -> dict:
            return await service_health(request.app.state.upstream, upstreams,
                                        min(settings.health_timeout_seconds, settings.compose_part_timeout_seconds))

        calls = [PartCall("health", "gateway", run=health)]
        calls += [PartCall(f"counts.{name}", service, path, (*filters, ("limit", "1")))
                  for name, service, path, filters in ADMIN_COUNTS]
        outcome = await gather(request, calls)
        counts = {name: _total(outcome.parts.get(f"counts.{name}")) for name, *_ in ADMIN_COUNTS}
        return AdminDashboard(role="Admin", user=user, health=outcome.parts.get("health"), counts=Counts(**counts),
                              **_composed(outcome))

    return router


def _total(page: Any) -> int | None:
    total = page.get("total") if isinstance(page, dict) else None
    return total if isinstance(total, int) else None


def _composed(outcome: Outcome) -> dict[str, Any]:
    return {"missing": [Missing(part=m.part, reason=m.reason, status=m.status, detail=m.detail)
                        for m in outcome.missing],
            "complete": not outcome.missing, "generated_at": clock.now()}


# OpenAPI -----------------------------------------------------------------------------------------

def openapi_fragment(routes: Sequence[BaseRoute]) -> dict:
    """The gateway's own paths (the composed reads) as an OpenAPI document."""
    return get_openapi(title="InsureOps gateway", version="1.0.0", routes=list(routes))


def merge_own_openapi(doc: dict, own: dict, schema_names: dict[tuple[str, str], str]) -> None:
    """Add the gateway's own paths and schemas to the merged `doc`; each field marked as holding a service's
    schema becomes a `$ref` to it (`schema_names`: (service, schema) -> its name in `doc`), or stays a plain
    object when that service's document is not in `doc`."""

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            marker = node.get(UPSTREAM_SCHEMA)
            if isinstance(marker, str):
                service, _, schema = marker.partition(":")
                name = schema_names.get((service, schema))
                if name is not None:
                    return {"$ref": f"#/components/schemas/{name}", "description": node.get("description", "")}
                return {k: v for k, v in node.items() if k != UPSTREAM_SCHEMA}
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    own = resolve(own)
    schemas = doc["components"]["schemas"]
    clashes = {name: f"gateway_{name}" for name, schema in own.get("components", {}).get("schemas", {}).items()
               if name in schemas and schemas[name] != schema}
    if clashes:
        own = rename_schemas(own, clashes)
    schemas.update(own.get("components", {}).get("schemas", {}))
    doc["paths"].update(own.get("paths", {}))
    doc["tags"].append({"name": "composed", "description": "Reads the gateway composes from several services, "
                                                           "within a set time (see `missing`)."})


def rename_schemas(part: dict, renames: dict[str, str]) -> dict:
    """The OpenAPI document `part` with the schemas in `renames` renamed, in its components and in every
    `$ref` to them."""
    prefix = "#/components/schemas/"
    text = json.dumps(part)
    for old, new in renames.items():
        text = text.replace(json.dumps(prefix + old), json.dumps(prefix + new))
    renamed = json.loads(text)
    schemas = renamed.get("components", {}).get("schemas", {})
    renamed["components"]["schemas"] = {renames.get(k, k): v for k, v in schemas.items()}
    return renamed
