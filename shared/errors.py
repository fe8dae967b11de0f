"""RFC 9457 problem+json for every error a service or the gateway returns.

Expected failures are `Problem` subclasses that carry their own status; endpoints raise them and
never build error responses by hand. Validation errors name each field and why it was refused.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://insureops.dev/problems/"

log = logging.getLogger("insureops.errors")


class Problem(Exception):
    status: int = 400
    title: str = "Bad request"
    slug: str = "bad-request"

    def __init__(self, detail: str | None = None, *, errors: list[dict[str, Any]] | None = None,
                 headers: dict[str, str] | None = None, **extra: Any):
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
    def for_field(cls, field: str, message: str) -> "InvalidInput":
        return cls(f"{field}: {message}", errors=[{"field": field, "message": message}])


class ServiceUnavailable(Problem):
    status, title, slug = 503, "Service unavailable", "unavailable"


def problem_response(problem: Problem, request: Request | None = None) -> JSONResponse:
    instance = str(request.url.path) if request is not None else None
    return JSONResponse(problem.to_dict(instance), status_code=problem.status,
                        media_type=PROBLEM_JSON, headers=problem.headers)


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

_STATUS_TITLES = {400: "Bad request", 401: "Not authenticated", 403: "Forbidden", 404: "Not found",
                  405: "Method not allowed", 409: "Conflict", 413: "Payload too large", 415: "Unsupported media type",
                  429: "Too many requests", 502: "Bad gateway", 503: "Service unavailable", 504: "Gateway timeout"}


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem):
        return problem_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        return problem_response(validation_problem(list(exc.errors())), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400 and exc.detail == UNPARSABLE_BODY:
            # A body FastAPI could not even decode (e.g. not UTF-8) is invalid input like any malformed JSON
            # (which FastAPI answers 422 `json_invalid`): one documented answer for every bad body.
            return problem_response(validation_problem(
                [{"loc": ("body",), "msg": "not a JSON document in UTF-8", "type": "json_invalid"}]), request)
        problem = Problem(str(exc.detail) if exc.detail else None, headers=getattr(exc, "headers", None))
        problem.status = exc.status_code
        problem.title = _STATUS_TITLES.get(exc.status_code, "Error")
        problem.slug = problem.title.lower().replace(" ", "-")
        return problem_response(problem, request)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        problem = Problem("An unexpected error occurred; it has been logged.")
        problem.status, problem.title, problem.slug = 500, "Internal server error", "internal"
        return problem_response(problem, request)
