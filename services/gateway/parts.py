"""The gathering behind every composed read: concurrent parts, each from its own service with the caller's
token and each with its own deadline, merged into one outcome that says what arrived and what did not.
Never raises for a part and never waits past the overall deadline."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
from fastapi import Request

from services.gateway.settings import GatewaySettings
from services.gateway.upstream import TransportError, with_trace_context
from shared.auth import bearer_token
from shared.context import current

log = logging.getLogger("insureops.gateway.compose")

Reason = Literal["timeout", "unavailable", "forbidden", "error"]


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


async def gather_parts(
    calls: Sequence[PartCall],
    fetch: Fetch,
    *,
    part_timeout: float,
    deadline: float,
    decisive: Callable[[PartCall, PartFailed], bool] | None = None,
) -> Outcome:
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
            async with session.get(
                f"{base}{call.path}", params=list(call.params), headers=headers, allow_redirects=False
            ) as response:
                status = response.status
                body = await response.read()
        except TransportError as exc:
            raise PartFailed("unavailable", None, f"the {call.service} service: {exc.__class__.__name__}") from None
        if 200 <= status < 300:
            try:
                return json.loads(body)
            except ValueError:
                raise PartFailed(
                    "error", status, f"the {call.service} service answered with something not JSON"
                ) from None
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
    return with_trace_context(
        {
            "authorization": f"Bearer {bearer_token(request)}",
            "accept": "application/json",
            "x-request-id": current().request_id or "",
            "x-forwarded-for": request.client.host if request.client else "",
        }
    )


class Composer:
    """The gathering as the routes use it: parts fetched with the caller's headers within the configured
    deadlines, lists asked for their first page."""

    def __init__(self, settings: GatewaySettings, upstreams: dict[str, str]) -> None:
        self.settings = settings
        self.upstreams = upstreams

    async def gather(self, request: Request, calls: list[PartCall], **kw) -> Outcome:
        started = asyncio.get_running_loop().time()
        fetch = http_fetcher(request.app.state.upstream, self.upstreams, caller_headers(request))
        return await gather_parts(
            calls,
            fetch,
            part_timeout=self.settings.compose_part_timeout_seconds,
            deadline=started + self.settings.compose_deadline_seconds,
            **kw,
        )

    def page(self, **filters: Any) -> tuple[tuple[str, str], ...]:
        return (*((k, str(v)) for k, v in filters.items()), ("limit", str(self.settings.compose_list_limit)))
