"""Logs, traces and metrics, set up the same way in every service.

- Logs: one JSON object a line, with the service, trace id, span id and request id.
- Traces: OpenTelemetry; W3C trace context in, through the outbox onto Kafka, and out of the
  consumers, so a request and everything it caused share one trace id.
- Metrics: Prometheus, served on `/metrics`.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import context
from shared.settings import ServiceSettings

REQUEST_SECONDS = Histogram(
    "http_request_duration_seconds",
    "HTTP requests by route and status",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        ctx = context.current()
        if ctx.request_id:
            entry["request_id"] = ctx.request_id
        if ctx.correlation_id:
            entry["correlation_id"] = ctx.correlation_id
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def setup_logging(settings: ServiceSettings) -> None:
    handler = logging.StreamHandler(sys.stdout)
    if settings.log_format == "json":
        handler.setFormatter(JsonFormatter(settings.service_name))
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # uvicorn's access log repeats what the request histogram and traces already hold.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


_tracing_ready = False


def setup_tracing(settings: ServiceSettings) -> None:
    """Install the SDK tracer provider. With no exporter, no span is recorded (nobody would read it; recording
    every request's, statement's and event's spans cost a tenth of a routed event's CPU) but every span still has
    real ids, so trace context propagates through requests, the outbox and Kafka as with one."""
    global _tracing_ready
    if _tracing_ready:
        return
    provider = TracerProvider(
        resource=Resource.create({"service.name": settings.service_name}),
        # None: the SDK's default (OTEL_TRACES_SAMPLER, else parent-based always-on).
        sampler=ALWAYS_OFF if settings.otel_traces_exporter == "none" else None,
    )
    if settings.otel_traces_exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    elif settings.otel_traces_exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(
            BatchSpanProcessor(
                OTLPSpanExporter(endpoint=settings.otel_exporter_otlp_endpoint.rstrip("/") + "/v1/traces")
            )
        )
    trace.set_tracer_provider(provider)
    _tracing_ready = True


class TraceContext:
    """The request's trace context when no span is exported: the caller's W3C `traceparent` (if any) is the
    parent of a server span made current for the request, so logs carry its ids and the request's events
    (through the outbox, onto Kafka) and upstream calls carry them on, as with spans exported.

    With no exporter the span is never recorded (the sampler drops it), so what OpenTelemetry's FastAPI
    instrumentation adds around it, the route lookup, the request's attributes and the metric instruments,
    is work nobody reads: a fifth of the gateway's CPU per proxied request (py-spy under `bench.gateway`).
    With an exporter, that instrumentation runs instead (`shared.app`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.tracer = trace.get_tracer("insureops.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name in (b"traceparent", b"tracestate")
        }
        parent = propagate.extract(carrier) if carrier else None
        span = self.tracer.start_span(scope["method"], context=parent, kind=trace.SpanKind.SERVER)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)
            span.end()


# A caller's request id is kept (logged, echoed) only when it is a plain token: a letter or digit, then those
# and `._:-`.
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


def request_id_from(value: bytes | None) -> str:
    """The caller's `X-Request-ID` if it is a plain token, else one of our own."""
    text = value.decode("latin-1") if value else ""
    return text if _REQUEST_ID.fullmatch(text) else uuid.uuid4().hex


class RequestContextMiddleware:
    """Gives every request its ids, and times it.

    - `request_id`: the caller's `X-Request-ID` (kept when it is a plain token) or a new one; in the logs and
      echoed in the answer's `X-Request-ID`. It is the caller's, so nothing the platform records relies on it.
    - `correlation_id`: always the platform's own, new for each request: every event the request causes (and
      everything they cause in turn) carries it (`ce_correlationid`); answered as `X-Correlation-ID` (a
      gateway passes on the one of the service that handled the request).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = next((value for name, value in scope.get("headers", ()) if name == b"x-request-id"), None)
        request_id = request_id_from(given)
        correlation_id = uuid.uuid4().hex
        token = context.bind(request_id=request_id, correlation_id=correlation_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [*list(message.get("headers", []))]
                headers.append((b"x-request-id", request_id.encode()))
                if not any(name.lower() == b"x-correlation-id" for name, _ in headers):
                    headers.append((b"x-correlation-id", correlation_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            REQUEST_SECONDS.labels(scope["method"], path, str(status)).observe(time.perf_counter() - started)
            context.reset(token)
