"""The API gateway: the one HTTP entry for the frontends.

It routes `/api/v1/...` to the owning service, checks the access token before anything leaves
it (each service checks again), passes the request id and trace context on, reports every
service's health at `/healthz`, and serves one merged OpenAPI document with its docs page.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.background import BackgroundTask
from starlette.convertors import PathConvertor, register_url_convertor

from services.gateway.limits import RateLimitMiddleware, TokenBuckets
from services.gateway.routes import PUBLIC, QUERY_TOKEN, service_for, upstream_services
from services.gateway.settings import GatewaySettings
from shared.app import ServiceParts, create_service_app
from shared.auth import bearer_token
from shared.context import current
from shared.errors import NotFound, Problem, ServiceUnavailable

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}
OPERATIONAL_PATHS = {"/healthz", "/readyz", "/metrics"}


class AnyPathConvertor(PathConvertor):
    """Starlette's `path`, newlines included: a path with a percent-encoded %0A is passed on to the service
    like any other, not refused by the gateway's own routing."""

    regex = "(?s:.*)"


register_url_convertor("anypath", AnyPathConvertor())


class PayloadTooLarge(Problem):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class GatewayTimeout(Problem):
    status, title, slug = 504, "Gateway timeout", "gateway-timeout"


def _token(request: Request, path: str) -> str:
    """The caller's bearer token; on the few routes browsers reach with EventSource, also `?access_token=`."""
    if (request.method, path) in QUERY_TOKEN and not request.headers.get("authorization"):
        token = request.query_params.get("access_token", "").strip()
        if token:
            return token
    return bearer_token(request)


def is_event_stream(response: httpx.Response) -> bool:
    return response.headers.get("content-type", "").split(";")[0].strip().lower() == "text/event-stream"


async def _idle_limited(chunks: AsyncIterator[bytes], seconds: float) -> AsyncIterator[bytes]:
    """The chunks of an ordinary response, failing if the service goes quiet for `seconds` mid-body."""
    iterator = aiter(chunks)
    while True:
        try:
            async with asyncio.timeout(seconds):
                chunk = await anext(iterator)
        except StopAsyncIteration:
            return
        yield chunk


def _upstreams(settings: GatewaySettings) -> dict[str, str]:
    return {name: getattr(settings, f"{name}_url").rstrip("/") for name in upstream_services()}


def build_router(settings: GatewaySettings) -> APIRouter:
    router = APIRouter()
    upstreams = _upstreams(settings)
    openapi_cache: dict[str, Any] = {"at": 0.0, "doc": None}

    @router.get("/healthz", tags=["operations"], summary="The gateway and every service behind it")
    async def healthz(request: Request):
        client: httpx.AsyncClient = request.app.state.http

        async def probe(name: str, url: str) -> tuple[str, dict]:
            try:
                response = await client.get(f"{url}/readyz", timeout=settings.health_timeout_seconds)
                body = response.json()
                return name, {"status": "ok" if response.status_code == 200 else "not ready",
                              "checks": body.get("checks", {})}
            except (httpx.HTTPError, ValueError) as exc:
                return name, {"status": "unreachable", "error": exc.__class__.__name__}

        results = dict(await asyncio.gather(*(probe(n, u) for n, u in upstreams.items())))
        healthy = all(r["status"] == "ok" for r in results.values())
        return JSONResponse({"status": "ok" if healthy else "degraded", "gateway": "ok", "services": results},
                            status_code=200 if healthy else 503)

    @router.get("/openapi.json", include_in_schema=False)
    async def openapi(request: Request):
        if openapi_cache["doc"] is None or time.monotonic() - openapi_cache["at"] > settings.openapi_cache_seconds:
            openapi_cache["doc"] = await merged_openapi(request.app.state.http, upstreams)
            openapi_cache["at"] = time.monotonic()
        return openapi_cache["doc"]

    @router.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="InsureOps API")

    @router.api_route("/{path:anypath}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False)
    async def proxy(path: str, request: Request):
        full_path = "/" + path
        service = service_for(full_path)
        if service is None:
            raise NotFound(f"no API at {full_path}")
        token = None
        if (request.method, full_path) not in PUBLIC:
            token = _token(request, full_path)
            await request.app.state.token_verifier.verify(token)
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > settings.max_request_bytes:
            raise PayloadTooLarge(f"request bodies are limited to {settings.max_request_bytes} bytes")
        body = await request.body()
        if len(body) > settings.max_request_bytes:
            raise PayloadTooLarge(f"request bodies are limited to {settings.max_request_bytes} bytes")
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        headers["x-request-id"] = current().request_id or ""
        headers["x-forwarded-for"] = request.client.host if request.client else ""
        params = request.query_params.multi_items()
        if token is not None and "authorization" not in {k.lower() for k in headers}:
            # A query-string token (EventSource) travels on as a header, out of URLs and logs.
            headers["authorization"] = f"Bearer {token}"
            params = [(k, v) for k, v in params if k != "access_token"]
        client: httpx.AsyncClient = request.app.state.http
        # The wait for the response head is bounded here; no read timeout on the connection itself, since an
        # event stream may be quiet between heartbeats. Other bodies are bounded per chunk (`_idle_limited`).
        # The path as the caller sent it, still percent-encoded: decoded, a character such as %0F would not
        # make a valid URL again.
        raw_path = request.scope.get("raw_path", full_path.encode()).decode("latin-1")
        upstream_request = client.build_request(request.method, f"{upstreams[service]}{raw_path}",
                                                params=params, headers=headers, content=body,
                                                timeout=httpx.Timeout(settings.upstream_timeout_seconds, read=None))
        try:
            async with asyncio.timeout(settings.upstream_timeout_seconds):
                upstream = await client.send(upstream_request, stream=True)
        except (httpx.TimeoutException, TimeoutError) as exc:
            raise GatewayTimeout(f"the {service} service did not answer in time") from exc
        except httpx.TransportError as exc:
            raise ServiceUnavailable(f"the {service} service is unavailable") from exc
        response_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP}
        response_headers.pop("x-request-id", None)
        if is_event_stream(upstream):
            chunks = upstream.aiter_raw()
        else:
            chunks = _idle_limited(upstream.aiter_raw(), settings.upstream_timeout_seconds)
        # When the client goes away, Starlette stops the stream and the background task closes the
        # upstream response, so the service sees its stream end too.
        return StreamingResponse(chunks, status_code=upstream.status_code, headers=response_headers,
                                 background=BackgroundTask(upstream.aclose))

    return router


async def merged_openapi(client: httpx.AsyncClient, upstreams: dict[str, str]) -> dict:
    """One OpenAPI document from every service's: their paths as the gateway serves them."""
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "InsureOps API", "version": "1.0.0",
                 "description": "Every InsureOps service behind one gateway. Log in at `POST /api/v1/auth/token` "
                                "and send the token as `Authorization: Bearer <token>`. Errors are RFC 9457 "
                                "problem+json."},
        "paths": {},
        "components": {"schemas": {}, "securitySchemes": {
            "bearer": {"type": "oauth2", "flows": {"password": {"tokenUrl": "/api/v1/auth/token", "scopes": {}}}}}},
        "security": [{"bearer": []}],
        "tags": [],
    }
    missing = []
    for name, url in upstreams.items():
        try:
            response = await client.get(f"{url}/openapi.json", timeout=5)
            response.raise_for_status()
            part = response.json()
        except (httpx.HTTPError, ValueError):
            missing.append(name)
            continue
        for schema_name, schema in part.get("components", {}).get("schemas", {}).items():
            existing = doc["components"]["schemas"].get(schema_name)
            if existing is not None and existing != schema:
                schema_name = f"{name}_{schema_name}"
            doc["components"]["schemas"][schema_name] = schema
        for path, operations in part.get("paths", {}).items():
            if path in OPERATIONAL_PATHS or service_for(path) != name:
                continue
            operations = copy.deepcopy(operations)
            for method, operation in operations.items():
                if (method.upper(), path) in PUBLIC:
                    operation["security"] = []
            doc["paths"][path] = operations
        for tag in part.get("tags", []) or []:
            doc["tags"].append(tag)
    if missing:
        doc["info"]["x-missing-services"] = missing
    return doc


def create_app(settings: GatewaySettings | None = None) -> FastAPI:
    settings = settings or GatewaySettings()

    async def open_client(app: FastAPI) -> None:
        app.state.http = httpx.AsyncClient(limits=httpx.Limits(max_connections=200, max_keepalive_connections=50))
        try:
            from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

            HTTPXClientInstrumentor().instrument_client(app.state.http)
        except Exception:
            pass

    async def close_client(app: FastAPI) -> None:
        await app.state.http.aclose()

    app = create_service_app(ServiceParts(
        settings=settings,
        title="InsureOps gateway",
        description="The one entry for frontends.",
        routers=[build_router(settings)],
        on_startup=[open_client],
        on_shutdown=[close_client],
        liveness_route=False,
        openapi_url=None,
    ))
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

    per_address = TokenBuckets(rate=settings.rate_limit_address_per_second, burst=settings.rate_limit_address_burst) \
        if settings.rate_limit_address_per_second > 0 else None
    per_user = TokenBuckets(rate=settings.rate_limit_user_per_second, burst=settings.rate_limit_user_burst) \
        if settings.rate_limit_user_per_second > 0 else None
    app.add_middleware(RateLimitMiddleware, per_address=per_address, per_user=per_user, user_of=user_of)
    origins = [o.strip() for o in settings.cors_origins.split(",") if o.strip()]
    if origins:
        # Added last, so it runs first: preflights are answered before limits and token checks.
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=True,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Last-Event-ID", "X-Request-ID"],
                           expose_headers=["Retry-After", "RateLimit-Limit", "RateLimit-Remaining", "X-Request-ID",
                                           "Location"], max_age=600)
