"""ASGI middleware of the services with a database: requests carrying the NUL character (U+0000), which no
PostgreSQL text or JSON value can hold, are refused as invalid input (422, problem+json) before any query."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import PROBLEM_JSON, InvalidInput

# A JSON escape of U+0000 that is not itself an escaped backslash followed by "u0000".
_NUL_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000", re.IGNORECASE)
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _nul_field(value: Any, location: str) -> str | None:
    """The dotted name of the first string (or key) holding U+0000 inside a parsed body."""
    if isinstance(value, str):
        return location if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                return location
            found = _nul_field(item, f"{location}.{key}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_field(item, f"{location}.{index}")
            if found:
                return found
    return None


def nul_location(*, path: str, raw_path: bytes, query_string: bytes, content_type: str, body: bytes) -> str | None:
    """Where a request carries the NUL character, which no PostgreSQL text or JSON value can hold: `path`,
    `query`, `body.<field>`; None if nowhere."""
    if "\x00" in path or b"%00" in raw_path:
        return "path"
    if b"%00" in query_string:
        return "query"
    if not body:
        return None
    if content_type.startswith("application/x-www-form-urlencoded"):
        if b"%00" not in body:
            return None
        for key, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True):
            if "\x00" in key or "\x00" in value:
                return f"body.{key.replace(chr(0), '')}"
        return "body"
    if b"\x00" in body or _NUL_ESCAPE.search(body):
        try:
            return _nul_field(json.loads(body), "body") or "body"
        except ValueError:
            return "body"
    return None


class RefuseNulCharacters:
    """ASGI middleware of the services with a database: a request carrying U+0000 (in its path, query or
    body) is invalid input, answered 422 naming where, before PostgreSQL refuses to store or even compare it
    (which would be a 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body = b""
        if scope["method"] in _WRITES:
            messages = []
            while True:
                message = await receive()
                messages.append(message)
                body += message.get("body", b"")
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
            replay = (
                [{"type": "http.request", "body": body, "more_body": False}]
                if messages[-1]["type"] == "http.request"
                else messages
            )

            async def receive_again(upstream: Receive = receive) -> Message:
                return replay.pop(0) if replay else await upstream()

            receive = receive_again
        headers = dict(scope.get("headers", ()))
        where = nul_location(
            path=scope.get("path", ""),
            raw_path=scope.get("raw_path") or b"",
            query_string=scope.get("query_string", b""),
            content_type=headers.get(b"content-type", b"").decode("latin-1").lower(),
            body=body,
        )
        if where is None:
            return await self.app(scope, receive, send)
        problem = InvalidInput.for_field(where, "may not contain the NUL character (U+0000)")
        response = JSONResponse(problem.to_dict(scope.get("path")), status_code=422, media_type=PROBLEM_JSON)
        await response(scope, receive, send)
