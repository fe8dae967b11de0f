"""The API gateway: the one HTTP entry for the frontends.

It routes `/api/v1/...` to the owning service, checks the access token before anything leaves
it (each service checks again), passes the request id and trace context on, answers the composed
reads itself (Client 360, the dashboard: `compose.py`), reports every service's health at
`/healthz`, and serves one merged OpenAPI document with its docs page.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.convertors import PathConvertor, register_url_convertor
from starlette.routing import BaseRoute
from yarl import URL

from services.gateway import compose
from services.gateway.console import ConsoleFiles, console_response, is_console_path
from services.gateway.limits import RateLimitMiddleware, TokenBuckets
from services.gateway.routes import (
    PUBLIC,
    QUERY_TOKEN,
    UPLOADS,
    is_dead_letter_template,
    is_upload,
    service_for,
    upstream_services,
)
from services.gateway.settings import GatewaySettings
from services.gateway.upstream import TransportError, open_session, service_health, with_trace_context
from shared.app import ServiceParts, create_service_app
from shared.auth import bearer_token
from shared.context import current
from shared.errors import NotFound, Problem, ServiceUnavailable, document_problem_responses

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}
# Not passed back from a service: hop-by-hop, and what the gateway's own server and middleware set.
RESPONSE_DROPPED = {h.encode() for h in HOP_BY_HOP} | {b"date", b"server", b"x-request-id"}
OPERATIONAL_PATHS = {"/healthz", "/readyz", "/metrics"}


class AnyPathConvertor(PathConvertor):
    """Starlette's `path`, newlines included: a path with a percent-encoded %0A is passed on to the service
    like any other, not refused by the gateway's own routing."""

    regex = "(?s:.*)"


register_url_convertor("anypath", AnyPathConvertor())


class GatewayTimeout(Problem):
    status, title, slug = 504, "Gateway timeout", "gateway-timeout"


def _token(request: Request, path: str) -> str:
    """The caller's bearer token; on the few routes browsers reach with EventSource, also `?access_token=`."""
    if (request.method, path) in QUERY_TOKEN and not request.headers.get("authorization"):
        token = request.query_params.get("access_token", "").strip()
        if token:
            return token
    return bearer_token(request)


def is_event_stream(response: aiohttp.ClientResponse) -> bool:
    return response.headers.get("content-type", "").split(";")[0].strip().lower() == "text/event-stream"


async def _relayed(upstream: aiohttp.ClientResponse, idle_seconds: float | None) -> AsyncIterator[bytes]:
    """The body of a streamed answer as it comes; with `idle_seconds`, failing if the service goes quiet
    that long mid-body. However the stream ends (done, the caller gone), the upstream answer is let go."""
    try:
        while True:
            if idle_seconds is None:
                chunk = await upstream.content.readany()
            else:
                async with asyncio.timeout(idle_seconds):
                    chunk = await upstream.content.readany()
            if not chunk:
                return
            yield chunk
    finally:
        upstream.release()


class PassThrough(Response):
    """A service's answer, read whole, passed on with its status and headers as they came (plus length)."""

    def __init__(self, status_code: int, raw_headers: list[tuple[bytes, bytes]], body: bytes):
        self.status_code = status_code
        self.body = body
        self.background = None
        self.raw_headers = raw_headers
        if status_code >= 200 and status_code not in (204, 304):
            self.raw_headers.append((b"content-length", str(len(body)).encode()))


def _upstreams(settings: GatewaySettings) -> dict[str, str]:
    return {name: getattr(settings, f"{name}_url").rstrip("/") for name in upstream_services()}


def build_router(settings: GatewaySettings, *, own_routes: Sequence[BaseRoute] = ()) -> APIRouter:
    router = APIRouter()
    upstreams = _upstreams(settings)
    openapi_cache: dict[str, Any] = {"at": 0.0, "doc": None}
    console_files = ConsoleFiles(settings.console_path)

    @router.get("/healthz", tags=["operations"], summary="The gateway and every service behind it")
    async def healthz(request: Request):
        health = await service_health(request.app.state.upstream, upstreams, settings.health_timeout_seconds)
        return JSONResponse(health, status_code=200 if health["status"] == "ok" else 503)

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request):
        if openapi_cache["doc"] is None or time.monotonic() - openapi_cache["at"] > settings.openapi_cache_seconds:
            openapi_cache["doc"] = await merged_openapi(
                request.app.state.upstream, upstreams, own=compose.openapi_fragment(own_routes)
            )
            openapi_cache["at"] = time.monotonic()
        return openapi_cache["doc"]

    async def proxy(request: Request) -> Response:
        full_path = request.scope["path"]
        service = service_for(full_path)
        if service is None:
            if is_console_path(request.method, full_path):
                return console_response(request, console_files)
            raise NotFound(f"no API at {full_path}")
        token = None
        if (request.method, full_path) not in PUBLIC:
            token = _token(request, full_path)
            await request.app.state.token_verifier.verify(token)
        # At most MAX_REQUEST_BYTES (an upload: UPLOAD_MAX_REQUEST_BYTES): the app's body limit
        # (`shared.middleware.LimitRequestBody`) stops the read with a 413 the moment a body passes it, declared
        # length or not. An upload is passed on as it arrives, never whole in memory.
        body: bytes | AsyncIterator[bytes] | None
        body = request.stream() if is_upload(request.method, full_path) else (await request.body()) or None
        headers = {k: v for k, v in request.headers.items() if k not in HOP_BY_HOP}
        headers["x-request-id"] = current().request_id or ""
        headers["x-forwarded-for"] = request.client.host if request.client else ""
        query = request.scope.get("query_string", b"").decode("latin-1")
        if token is not None and "authorization" not in headers:
            # A query-string token (EventSource) travels on as a header, out of URLs and logs.
            headers["authorization"] = f"Bearer {token}"
            query = urlencode([(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "access_token"])
        raw_path = request.scope.get("raw_path")
        target = raw_path.decode("latin-1") if raw_path else full_path
        url = URL(f"{upstreams[service]}{target}{'?' + query if query else ''}", encoded=True)
        session: aiohttp.ClientSession = request.app.state.upstream
        # The wait for the answer's head is bounded here; no read timeout on the connection itself, since an
        # event stream may be quiet between heartbeats. Other bodies are bounded as they are read.
        try:
            async with asyncio.timeout(settings.upstream_timeout_seconds):
                upstream = await session.request(
                    request.method, url, headers=with_trace_context(headers), data=body, allow_redirects=False
                )
        except TimeoutError as exc:
            raise GatewayTimeout(f"the {service} service did not answer in time") from exc
        except TransportError as exc:
            raise ServiceUnavailable(f"the {service} service is unavailable") from exc
        response_headers = [(k.lower(), v) for k, v in upstream.raw_headers if k.lower() not in RESPONSE_DROPPED]
        event_stream = is_event_stream(upstream)
        length = upstream.content_length
        if not event_stream and length is not None and length <= settings.proxy_buffer_bytes:
            # The common case (a page of JSON): read it whole and answer with its length, no streaming machinery.
            try:
                async with asyncio.timeout(settings.upstream_timeout_seconds):
                    content = await upstream.read()
            except TimeoutError as exc:
                upstream.close()
                raise GatewayTimeout(f"the {service} service did not finish its answer in time") from exc
            except TransportError as exc:
                upstream.close()
                raise ServiceUnavailable(f"the {service} service broke off its answer") from exc
            return PassThrough(upstream.status, response_headers, content)
        chunks = _relayed(upstream, None if event_stream else settings.upstream_timeout_seconds)
        # When the caller goes away, Starlette stops the stream and the upstream answer is let go (`_relayed`),
        # so the service sees its stream end too.
        response = StreamingResponse(chunks, status_code=upstream.status, background=BackgroundTask(upstream.release))
        response.raw_headers = response_headers
        return response

    # A plain Starlette route, not a FastAPI one: the proxy needs no parameter parsing, dependencies or response
    # model, and skipping that machinery is a fifth of the gateway's CPU per proxied request.
    router.add_route(
        "/{path:anypath}", proxy, methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
    )
    return router


async def merged_openapi(session: aiohttp.ClientSession, upstreams: dict[str, str], *, own: dict | None = None) -> dict:
    """One OpenAPI document from every service's, fetched from each running service (see `merge_openapi`)."""

    async def fetch(name: str, url: str) -> tuple[str, dict | None]:
        try:
            async with asyncio.timeout(5):
                async with session.get(f"{url}/openapi.json") as response:
                    if response.status != 200:
                        return name, None
                    return name, json.loads(await response.read())
        except (TimeoutError, *TransportError, ValueError):
            return name, None

    return merge_openapi(dict(await asyncio.gather(*(fetch(n, u) for n, u in upstreams.items()))), own=own)


def merge_openapi(parts: dict[str, dict | None], *, own: dict | None = None) -> dict:
    """One OpenAPI document from every service's (`parts`: service -> its document, None when unavailable):
    their paths as the gateway serves them, and the gateway's own (`own`: the composed reads, whose parts
    refer to the services' schemas)."""
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "InsureOps API",
            "version": "1.0.0",
            "description": "Every InsureOps service behind one gateway. Log in at `POST /api/v1/auth/token` "
            "and send the token as `Authorization: Bearer <token>`. Errors are RFC 9457 "
            "problem+json.",
        },
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {
                "bearer": {"type": "oauth2", "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}}}}
            },
        },
        "security": [{"bearer": []}],
        "tags": [],
    }
    missing = []
    schema_names: dict[tuple[str, str], str] = {}  # (service, its schema name) -> name in this document

    for name, part in parts.items():
        if part is None:
            missing.append(name)
            continue
        renames = {}
        for schema_name, schema in part.get("components", {}).get("schemas", {}).items():
            existing = doc["components"]["schemas"].get(schema_name)
            if existing is not None and existing != schema:
                renames[schema_name] = f"{name}_{schema_name}"
            schema_names[(name, schema_name)] = renames.get(schema_name, schema_name)
        if renames:
            # Two services name different schemas alike: this one's are renamed, and so are its references.
            part = compose.rename_schemas(part, renames)
        for schema_name, schema in part.get("components", {}).get("schemas", {}).items():
            doc["components"]["schemas"][schema_name] = schema
        for path, operations in part.get("paths", {}).items():
            # The dead-letter paths, alike in every consuming service, are documented once (the gateway routes
            # each request by its consumer).
            shared_path = is_dead_letter_template(path) and path not in doc["paths"]
            if path in OPERATIONAL_PATHS or (service_for(path) != name and not shared_path):
                continue
            operations = copy.deepcopy(operations)
            for method, operation in operations.items():
                if (method.upper(), path) in PUBLIC:
                    operation["security"] = []
            doc["paths"][path] = operations
        for tag in part.get("tags", []) or []:
            doc["tags"].append(tag)
    if own is not None:
        compose.merge_own_openapi(doc, own, schema_names)
    # The services document their errors as problem+json; the composed reads' errors are the same.
    document_problem_responses(doc)
    if missing:
        doc["info"]["x-missing-services"] = missing
    return doc


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    async def open_client(app: FastAPI) -> None:
        app.state.upstream = open_session(settings)

    async def close_client(app: FastAPI) -> None:
        await app.state.upstream.close()

    composed = compose.build_router(settings, _upstreams(settings))
    app = create_service_app(
        ServiceParts(
            settings=settings,
            title="InsureOps",
            description="The one entry for frontends.",
            # The composed reads first: the proxy's catch-all route would otherwise answer their paths.
            routers=[composed, build_router(settings, own_routes=composed.routes)],
            on_startup=[open_client],
            on_shutdown=[close_client],
            liveness_route=False,
            openapi_url=None,
            clock_control_routes=False,
            larger_bodies={prefix: settings.upload_max_request_bytes for prefix in UPLOADS},
        )
    )
    install_limits(app, settings)
    return app


def install_limits(app: FastAPI, settings: GatewaySettings) -> None:
    """Rate limits (per address, per verified user) and CORS for the configured frontend origins."""

    async def user_of(request: Request):
        try:
            token = bearer_token(request)
            return (await request.app.state.token_verifier.verify(token)).user_id
        except (Problem, AttributeError):
            return None

    per_address = (
        TokenBuckets(rate=settings.rate_limit_address_per_second, burst=settings.rate_limit_address_burst)
        if settings.rate_limit_address_per_second > 0
        else None
    )
    per_user = (
        TokenBuckets(rate=settings.rate_limit_user_per_second, burst=settings.rate_limit_user_burst)
        if settings.rate_limit_user_per_second > 0
        else None
    )
    app.add_middleware(RateLimitMiddleware, per_address=per_address, per_user=per_user, user_of=user_of)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        # Added last, so it runs first: preflights are answered before limits and token checks.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials=True,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "X-Request-ID"],
            expose_headers=[
                "Retry-After",
                "RateLimit-Limit",
                "RateLimit-Remaining",
                "X-Request-ID",
                "X-Correlation-ID",
                "Location",
            ],
            max_age=600,
        )
