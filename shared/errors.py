"""RFC 9457 problem+json for every error a service or the gateway returns.

Expected failures are `Problem` subclasses that carry their own status; endpoints raise them and
never build error responses by hand. Validation errors name each field and why it was refused.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://insureops.dev/problems/"

log = logging.getLogger("insureops.errors")

# SQLSTATE classes and codes of a failure that passes by itself: connection (08), resources (53), operator
# intervention (57: shutdown, "the database system is starting up"), serialization failure, deadlock.
TRANSIENT_SQLSTATE_PREFIXES = ("08", "53", "57")
TRANSIENT_SQLSTATES = {"40001", "40P01"}
# asyncpg's own errors of a connection that is gone or cannot be had; InternalClientError ("cannot switch to state
# 12; another operation is in progress") is a connection left mid-operation when the server went away (the pool's
# checkout check, `shared.db`, replaces it on the next try).
_TRANSIENT_ASYNCPG = {
    "ConnectionDoesNotExistError",
    "CannotConnectNowError",
    "ConnectionFailureError",
    "InterfaceError",
    "TooManyConnectionsError",
    "InternalClientError",
}
# How long a caller is told to wait when a dependency is away (Retry-After, seconds).
UNAVAILABLE_RETRY_AFTER = 2


def transient_error(exc: BaseException) -> bool:
    """Whether this one error (its causes aside) says a dependency is away for a moment: the database or the
    broker unreachable, restarting or out of connections, a serialization conflict or a deadlock."""
    from aiokafka.errors import KafkaError
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, (OSError, TimeoutError, KafkaError, sa_exc.InterfaceError)):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate = getattr(exc, "sqlstate", None) or getattr(exc, "pgcode", None)
    if isinstance(sqlstate, str) and (
        sqlstate in TRANSIENT_SQLSTATES or sqlstate.startswith(TRANSIENT_SQLSTATE_PREFIXES)
    ):
        return True
    return type(exc).__module__.startswith("asyncpg") and type(exc).__name__ in _TRANSIENT_ASYNCPG


def caused_by_outage(exc: BaseException) -> bool:
    """Whether `exc` or an error it was raised from (as SQLAlchemy wraps asyncpg's) is `transient_error`."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if transient_error(current):
            return True
        current = current.__cause__ or current.__context__
    return False


class Problem(Exception):
    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = errors
        self.headers = headers
        self.extra = extra

    def to_dict(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class Unauthorized(Problem):
    status, title, slug = 401, "Not authenticated", "unauthorized"

    def __init__(self, detail: str | None = None, **kw: Any):
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(Problem):
    status, title, slug = 403, "Forbidden", "forbidden"


class NotFound(Problem):
    status, title, slug = 404, "Not found", "not-found"


class Conflict(Problem):
    status, title, slug = 409, "Conflict", "conflict"


class InvalidInput(Problem):
    """A request that is well-formed but refers to something that does not fit (unknown id, bad state)."""

    status, title, slug = 422, "Invalid input", "validation"

    @classmethod
    def for_field(cls, field: str, message: str) -> InvalidInput:
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])


class InputErrors:
    """Gathers a request's field problems so one 422 names them all, rather than one per attempt:

        problems = InputErrors()
        with problems.gather():
            check_password(...)          # raises InvalidInput
        with problems.gather():
            await check_department(...)  # raises InvalidInput
        problems.raise_if_any()

    Only `InvalidInput` is gathered; any other problem (403, 409) still answers at once."""

    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def gather(self) -> Iterator[None]:
        try:
            yield
        except InvalidInput as exc:
            self.errors += exc.errors or [{"field": None, "message": exc.detail}]

    def add(self, field: str, message: str) -> None:
        self.errors.append({"field": field, "message": message})

    def not_null(self, fields: dict[str, Any], *names: str) -> None:
        """Each of `names` given as null in a partial update (`fields`, the body's set fields) is a problem."""
        for name in names:
            if name in fields and fields[name] is None:
                self.add(f"body.{name}", "may not be null")

    def raise_if_any(self) -> None:
        if self.errors:
            detail = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in self.errors)
            raise InvalidInput(detail, errors=self.errors)


class ServiceUnavailable(Problem):
    status, title, slug = 503, "Service unavailable", "unavailable"


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    instance = str(request.url.path) if request is not None else None
    return JSONResponse(
        problem.to_dict(instance), status_code=problem.status, media_type=PROBLEM_JSON, headers=problem.headers
    )


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def validation_problem(errors: list[dict[str, Any]]) -> Problem:
    fields = [
        {"field": _field_name(err.get("loc", ())), "message": err.get("msg", "invalid"), "type": err.get("type")}
        for err in errors
    ]
    detail = "; ".join(f"{f['field']}: {f['message']}" for f in fields) or "Invalid request"
    return InvalidInput(detail, errors=fields)


# FastAPI's detail for a request body it could not decode at all.
UNPARSABLE_BODY = "There was an error parsing the body"

_STATUS_TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


# The problem+json body, as documented in every service's OpenAPI for its error responses.
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem: what went wrong, and for invalid input which fields and why.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A URI naming the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer", "description": "The HTTP status code"},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "The path the problem occurred on"},
        "errors": {
            "type": "array",
            "description": "Each field that was refused, and why",
            "items": {
                "type": "object",
                "required": ["field", "message"],
                "properties": {
                    "field": {"type": "string", "description": "e.g. `body.email`, `query.limit`"},
                    "message": {"type": "string"},
                    "type": {"type": ["string", "null"]},
                },
            },
        },
    },
}


def document_problem_responses(openapi: dict[str, Any]) -> dict[str, Any]:
    """Every 4xx and 5xx response of an OpenAPI document answers problem+json (the `Problem` schema), in
    place of no content or FastAPI's own validation-error shape, which this platform never sends."""
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                if status[:1] in ("4", "5"):
                    response["content"] = dict(content)
    return openapi


def _unique_violation(exc: Exception) -> bool:
    orig = getattr(exc, "orig", None)
    return (
        getattr(orig, "sqlstate", None) == "23505"
        or getattr(orig, "pgcode", None) == "23505"
        or "UniqueViolationError" in repr(orig)
    )


def install_problem_handlers(app: FastAPI) -> None:
    from sqlalchemy.exc import IntegrityError

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A uniqueness check that passed in two concurrent requests: the database keeps the rule, the
        # loser's transaction is rolled back, and the caller hears it as the conflict it is.
        if _unique_violation(exc):
            return problem_response(
                Conflict("a record with the same unique value was just created; read it, or choose another value"),
                request,
            )
        log.exception("integrity error on %s %s", request.method, request.url.path)
        return problem_response(Problem("the request breaks a rule of the stored data"), request)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem_response(validation_problem(list(exc.errors())), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == UNPARSABLE_BODY:
            # A body FastAPI could not even decode (e.g. not UTF-8) is invalid input like any malformed JSON
            # (which FastAPI answers 422 `json_invalid`): one documented answer for every bad body.
            return problem_response(
                validation_problem([{"loc": ("body",), "msg": "not a JSON document in UTF-8", "type": "json_invalid"}]),
                request,
            )
        problem = Problem(str(exc.detail) if exc.detail else None, headers=getattr(exc, "headers", None))
        problem.status = exc.status_code
        problem.title = _STATUS_TITLES.get(exc.status_code, "Error")
        problem.slug = problem.title.lower().replace(" ", "-")
        return problem_response(problem, request)

    # The errors an outage raises are answered by the exception middleware (a handler per class) rather than by the
    # catch-all below, which Starlette runs in its outermost middleware and then re-raises to the server: every
    # request during a database restart would otherwise leave a full "Exception in ASGI application" traceback in
    # the log beside the one warning line (the fault matrix counted hundreds per restart).
    from aiokafka.errors import KafkaError
    from asyncpg.exceptions import PostgresError
    from asyncpg.exceptions import _base as asyncpg_base
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import InterfaceError as SAInterfaceError

    for outage_class in (
        OSError,
        TimeoutError,
        KafkaError,
        DBAPIError,
        SAInterfaceError,
        PostgresError,
        asyncpg_base.InterfaceError,
    ):
        app.add_exception_handler(outage_class, _unexpected)

    @app.exception_handler(Exception)
    async def _unexpected_anywhere(request: Request, exc: Exception) -> JSONResponse:
        return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    """An outage (`caused_by_outage`) is a 503 the caller may retry; anything else a logged 500."""
    if caused_by_outage(exc):
        # The database (or Kafka) is away for a moment — restarting, unreachable, out of connections: not a
        # bug, and the caller may try again. A write may or may not have been made (the commit's answer can
        # be what was lost), so the caller reads before repeating it.
        log.warning("%s %s: a dependency is unavailable: %s", request.method, request.url.path, exc)
        return problem_response(
            ServiceUnavailable(
                "A dependency of this service is unavailable for a moment (its database or the bus); try again "
                "shortly. A change asked for may or may not have been made: read before repeating it.",
                headers={"Retry-After": str(UNAVAILABLE_RETRY_AFTER)},
            ),
            request,
        )
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    problem = Problem("An unexpected error occurred; it has been logged.")
    problem.status, problem.title, problem.slug = 500, "Internal server error", "internal"
    return problem_response(problem, request)
