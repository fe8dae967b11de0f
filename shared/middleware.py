"""ASGI middleware every service runs: a body limit (413 while the body streams in), security headers on every
answer, and, in the services with a database, requests carrying the NUL character (U+0000), which no
PostgreSQL text or JSON value can hold, are refused as invalid input (422, problem+json) before any query
(in a service that takes uploads, a multipart body, which carries files, is passed on unread: only its path and
query are checked)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import PROBLEM_JSON, InvalidInput, Problem

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

    def __init__(self, app: ASGIApp, *, pass_multipart: bool = False) -> None:
        self.app = app
        self.pass_multipart = pass_multipart

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body = b""
        headers = dict(scope.get("headers", ()))
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        # In a service that takes uploads (`pass_multipart`), a multipart body carries files: their bytes may hold
        # NUL and are never stored as text, and reading the body here would hold a whole file in memory. The
        # service checks the text it takes from such a request itself; its path and query are checked here.
        unread = self.pass_multipart and content_type.startswith("multipart/form-data")
        if scope["method"] in _WRITES and not unread:
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
        where = nul_location(
            path=scope.get("path", ""),
            raw_path=scope.get("raw_path") or b"",
            query_string=scope.get("query_string", b""),
            content_type=content_type,
            body=body,
        )
        if where is None:
            return await self.app(scope, receive, send)
        problem = InvalidInput.for_field(where, "may not contain the NUL character (U+0000)")
        response = JSONResponse(problem.to_dict(scope.get("path")), status_code=422, media_type=PROBLEM_JSON)
        await response(scope, receive, send)


class PayloadTooLarge(Problem):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class _BodyOverLimit(Exception):
    """Raised from `receive` inside the app once the body has passed the limit: the app stops reading."""


class LimitRequestBody:
    """ASGI middleware: a request body larger than `max_bytes` (or, under a path prefix of `larger`, that prefix's
    limit) is answered 413 problem+json.

    A declared `Content-Length` over the limit is refused before any of the body is read. Otherwise the body
    is counted as it streams in (a chunked body has no length to check): the chunk that passes the limit
    makes `receive` raise, so the app stops reading, nothing more is buffered, and the answer is 413 whatever
    the app was about to say. The connection is then closed by the server (the rest of the body is unread)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, larger: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    def _limit(self, path: str) -> int:
        for prefix, limit in self.larger.items():
            if path == prefix or path.startswith(prefix + "/"):
                return limit
        return self.max_bytes

    def _refuse(self, scope: Scope) -> JSONResponse:
        problem = PayloadTooLarge(f"request bodies are limited to {self._limit(scope.get('path', ''))} bytes")
        return JSONResponse(
            problem.to_dict(scope.get("path")),
            status_code=413,
            media_type=PROBLEM_JSON,
            headers={"Connection": "close"},
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        max_bytes = self._limit(scope.get("path", "")) if self.larger else self.max_bytes
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.strip().isdigit() or int(value) > max_bytes:
                    return await self._refuse(scope)(scope, receive, send)
                break
        received = 0
        over = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, over
            if over:
                raise _BodyOverLimit
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    over = True
                    raise _BodyOverLimit
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if over:
                # The app answered after its read failed (a 400 or 500 of its own): the answer is the 413.
                raise _BodyOverLimit
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, guarded_send)
        except _BodyOverLimit:
            if started:
                raise
            await self._refuse(scope)(scope, receive, send)
        except Exception:
            if not over or started:
                raise
            await self._refuse(scope)(scope, receive, send)


# What a browser may do with any answer of the platform: the console (a built single-page app whose scripts,
# styles and fonts come from this origin), the docs page (its Swagger UI assets served locally) and every API
# answer. No framing (clickjacking), no plugins, no requests or form posts to other origins, no referrer.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        # Mantine sets CSS variables in style attributes and one <style> element of its theme.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
_SECURITY_HEADERS_RAW = tuple((name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items())


class SecurityHeaders:
    """ASGI middleware: every answer carries the security headers above (a header the app set itself wins)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend((name, value) for name, value in _SECURITY_HEADERS_RAW if name not in present)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
