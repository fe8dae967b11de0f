"""Builds a service's FastAPI app with everything the platform expects of it.

Problem+json errors, request ids, tracing, `/healthz`, `/readyz`, `/metrics`; for services with a
database: the engine and per-request transactions, topic creation, the outbox relay, and the
event consumers — all started in the lifespan and stopped cleanly with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import JWKSKeySource, KeySource, TokenVerifier
from shared.contracts.topics import DEAD_LETTER_EVENTS, IDENTITY_USERS, dead_letter_topic
from shared.db import asyncpg_dsn, create_engine, create_read_sessionmaker, create_sessionmaker
from shared.docs import add_docs_routes
from shared.errors import NotFound, document_problem_responses, install_problem_handlers
from shared.jobs import JobRunner, PeriodicJob
from shared.messaging.consumer import IdempotentConsumer
from shared.messaging.kafka import ensure_topics, make_broker, make_producer
from shared.messaging.relay import OutboxRelay
from shared.messaging.subscriptions import Consumer
from shared.messaging.tables import MessagingTables
from shared.metrics_platform import consumer_lag, messaging_backlog, refresh
from shared.middleware import LimitRequestBody, RefuseNulCharacters, SecurityHeaders
from shared.observability import RequestContextMiddleware, TraceContext, setup_logging, setup_tracing
from shared.privacy.keys import HttpKeyProvider, set_provider
from shared.projections.identity import PeopleTables
from shared.revocation import DeactivatedUsers, ProjectedDeactivations
from shared.settings import DatabaseSettings, ServiceSettings
from shared.streams import StreamSlots

log = logging.getLogger("insureops.app")


@dataclass
class ServiceParts:
    """What a service plugs into the common app."""

    settings: ServiceSettings
    title: str
    description: str
    routers: list[APIRouter]
    tables: MessagingTables | None = None
    publishes: list[str] = field(default_factory=list)
    consumers: tuple[Consumer, ...] | list[Consumer] = ()  # from the service's subscriptions.py
    jobs: list[PeriodicJob] = field(default_factory=list)
    # The service's people replica, if it keeps one: its consumer's handlers then also tell who is deactivated
    # (one identity reader per process, see `shared.revocation`).
    people: PeopleTables | None = None
    key_source: Callable[[FastAPI], Awaitable[KeySource]] | None = None
    on_startup: list[Callable[[FastAPI], Awaitable[None]]] = field(default_factory=list)
    on_shutdown: list[Callable[[FastAPI], Awaitable[None]]] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    # The gateway answers /healthz itself (with every service's state) and serves its own OpenAPI.
    liveness_route: bool = True
    # The test-only clock and job routes (CLOCK_CONTROL); never on the gateway, the public entry.
    clock_control_routes: bool = True
    openapi_url: str | None = "/openapi.json"
    # The OpenAPI document the /docs page shows (the gateway's merged one is served by its own route).
    docs_for: str | None = "/openapi.json"
    # A service that takes file uploads: multipart bodies pass the NUL check unread (`RefuseNulCharacters`).
    multipart_uploads: bool = False
    # Path prefixes whose bodies may be larger than MAX_REQUEST_BYTES, with their own limit (the gateway's uploads).
    larger_bodies: dict[str, int] = field(default_factory=dict)


async def _retry(
    what: str, action: Callable[[], Awaitable[None]], attempts: int = 60, *, quiet_seconds: float = 10.0
) -> None:
    """Try `action` once a second until it succeeds; quiet while the dependency is still starting (the usual case
    when the whole platform starts at once), one warning once it has failed for `quiet_seconds`, then one a minute."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    warned_at: float | None = None
    for attempt in range(1, attempts + 1):
        try:
            await action()
            return
        except Exception as exc:
            if attempt == attempts:
                raise
            now = loop.time()
            if now - started >= quiet_seconds and (warned_at is None or now - warned_at >= 60):
                warned_at = now
                log.warning("%s: still failing after %.0f s (%s); retrying", what, now - started, exc)
            await asyncio.sleep(1.0)


@contextlib.contextmanager
def _quiet_kafka_client() -> Iterator[None]:
    """aiokafka logs an error for every refused connection; while the broker is still coming up at start-up that
    is expected (`_retry` says so once if it lasts), not an error."""
    client_log = logging.getLogger("aiokafka")
    level = client_log.level
    client_log.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        client_log.setLevel(level)


def _messaging_retention(settings: DatabaseSettings, tables: MessagingTables) -> PeriodicJob:
    """Deletes inbox rows and resolved dead letters past their retention (`shared.messaging.retention`)."""
    from shared.messaging.retention import prune_messaging

    async def run(session: AsyncSession) -> dict[str, int]:
        return await prune_messaging(
            session,
            tables,
            inbox_retention=timedelta(hours=settings.inbox_retention_hours),
            dead_letter_retention=timedelta(days=settings.dead_letter_retention_days),
            batch_size=settings.retention_batch_size,
        )

    return PeriodicJob("messaging_retention", settings.retention_interval_seconds, run)


def install_key_provider(settings: ServiceSettings) -> HttpKeyProvider | None:
    """The process's subject keys come from the privacy service (PRIVACY_URL), if it is configured
    (`shared.privacy.keys`)."""
    if not settings.privacy_url:
        return None
    token = settings.internal_service_token
    provider = HttpKeyProvider(
        settings.privacy_url,
        token.get_secret_value() if token is not None else "",
        cache_seconds=settings.privacy_key_cache_seconds,
    )
    set_provider(provider)
    return provider


def create_service_app(parts: ServiceParts) -> FastAPI:
    settings = parts.settings
    routers = list(parts.routers)
    publishes = list(parts.publishes)
    if parts.consumers:
        # A consuming service keeps dead letters, and its Admin endpoints report what is done with them.
        if settings.service_name not in DEAD_LETTER_EVENTS:
            raise RuntimeError(
                f"{settings.service_name} consumes events but has no dead-letter events topic "
                "(shared.contracts.topics.DEAD_LETTER_EVENTS)"
            )
        from shared.messaging.dead_letters.endpoints import router as dead_letters_router

        routers.append(dead_letters_router)
        publishes.append(DEAD_LETTER_EVENTS[settings.service_name])
    setup_logging(settings)
    setup_tracing(settings)
    # The periodic jobs: the service's own, and the retention of its messaging tables if it consumes events.
    jobs = list(parts.jobs)
    if parts.consumers and parts.tables is not None and isinstance(settings, DatabaseSettings):
        jobs.append(_messaging_retention(settings, parts.tables))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks: list[asyncio.Task[None]] = []
        broker = None
        producer = None
        engine = None
        revocations: DeactivatedUsers | ProjectedDeactivations | None = None
        key_provider = install_key_provider(settings)
        try:
            if isinstance(settings, DatabaseSettings):
                engine = create_engine(
                    settings.database_url,
                    pool_size=settings.database_pool_size,
                    traced=settings.otel_traces_exporter != "none",
                )
                app.state.engine = engine
                app.state.sessionmaker = create_sessionmaker(engine)
                app.state.read_sessionmaker = create_read_sessionmaker(engine)
                if parts.tables is not None:
                    app.state.metrics_refreshers["messaging"] = messaging_backlog(
                        engine.connect, [c.name for c in parts.consumers]
                    )
                dlqs = [dead_letter_topic(c.name) for c in parts.consumers]
                # Topics consumed by name are created too (as their owner would, if it has not started
                # yet): a consumer subscribed to a missing topic cannot start.
                consumed = [t for c in parts.consumers for t in c.subscribed_topics]
                topics = list(dict.fromkeys(publishes + consumed + dlqs))
                # The first contact with Kafka: wait for it quietly.
                with _quiet_kafka_client():
                    await _retry("reaching Kafka (creating topics)", lambda: ensure_topics(settings, topics))
                producer = make_producer(settings)
                await _retry("starting the Kafka producer", producer.start)
                app.state.producer = producer
                # The relay publishes the service's events and its consumers' parked dead letters.
                if parts.tables is not None and (publishes or parts.consumers):
                    relay = OutboxRelay(
                        service=settings.service_name,
                        dsn=asyncpg_dsn(settings.database_url),
                        producer=producer,
                        batch_size=settings.outbox_batch_size,
                        poll_seconds=settings.outbox_poll_seconds,
                        retention_hours=settings.outbox_retention_hours,
                        new_producer=lambda: make_producer(settings),
                    )
                    app.state.relay = relay
                    tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
                if parts.consumers:
                    if parts.tables is None:
                        raise RuntimeError(f"{settings.service_name} consumes events but has no messaging tables")
                    broker = make_broker(settings)
                    app.state.consumers = {
                        spec.name: IdempotentConsumer(
                            spec,
                            sessionmaker=app.state.sessionmaker,
                            tables=parts.tables,
                            service=settings.service_name,
                            max_attempts=settings.consumer_max_attempts,
                            retry_backoff=settings.consumer_retry_backoff_seconds,
                            max_backoff=settings.consumer_max_backoff_seconds,
                        )
                        for spec in parts.consumers
                    }
                    for consumer in app.state.consumers.values():
                        consumer.subscribe(broker, settings)
                    people_group = next(
                        (c.name for c in parts.consumers if IDENTITY_USERS in c.subscribed_topics), None
                    )
                    if parts.people is not None and people_group is not None:
                        revocations = ProjectedDeactivations(
                            settings, app.state.sessionmaker, parts.people, people_group
                        )
                    await _retry("starting the consumers", broker.start)
                    app.state.broker = broker
                    app.state.metrics_refreshers["consumer_lag"] = consumer_lag(lambda: broker.subscribers)
                if jobs:
                    runner = JobRunner(settings.service_name, app.state.sessionmaker, jobs)
                    app.state.jobs = runner
                    for job in jobs:
                        tasks.append(asyncio.create_task(runner.loop(job.name), name=f"job-{job.name}"))
            for hook in parts.on_startup:
                await hook(app)
            keys = (
                await parts.key_source(app)
                if parts.key_source
                else JWKSKeySource(settings.jwks_url, cache_seconds=settings.jwks_cache_seconds)
            )
            if revocations is None:
                revocations = DeactivatedUsers(settings)
            await _retry("following deactivated users", revocations.start)
            app.state.revocations = revocations
            app.state.token_verifier = TokenVerifier(
                issuer=settings.jwt_issuer,
                audience=settings.jwt_audience,
                keys=keys,
                is_deactivated=revocations.is_deactivated,
                revoked_before=revocations.revoked_before,
            )
            log.info("%s started on %s:%s", settings.service_name, settings.http_host, settings.http_port)
            yield
        finally:
            app.state.metrics_refreshers.clear()
            for hook in parts.on_shutdown:
                with contextlib.suppress(Exception):
                    await hook(app)
            if revocations is not None:
                await revocations.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if broker is not None:
                # Offsets handled since the last commit (CONSUMER_COMMIT_INTERVAL_MS): committed now rather than
                # redelivered (as no-ops) after the restart.
                for consumer in getattr(app.state, "consumers", {}).values():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(consumer.flush_commits(), 5)
                with contextlib.suppress(Exception):
                    await broker.stop()
            relay_producer = getattr(app.state, "relay", None) and app.state.relay.producer
            for each in {p for p in (producer, relay_producer) if p is not None}:
                with contextlib.suppress(Exception):
                    await each.stop()
            if engine is not None:
                await engine.dispose()
            if key_provider is not None:
                with contextlib.suppress(Exception):
                    await key_provider.close()

    # Spans go somewhere: OpenTelemetry's FastAPI instrumentation records the request's. Else only the trace
    # context is kept (`TraceContext`), and FastAPI's own telemetry (which would make the same unrecorded span,
    # and metrics nobody reads, once a tracer provider is set) is off.
    exported = settings.otel_traces_exporter != "none"
    app = FastAPI(
        telemetry=None if exported else {"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
        title=parts.title,
        description=parts.description,
        version="1.0.0",
        lifespan=lifespan,
        openapi_tags=parts.tags or None,
        openapi_url=parts.openapi_url,
        # The docs page is the platform's own, its assets served locally (`shared.docs`), not FastAPI's (a CDN).
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.job_names = sorted(job.name for job in jobs)
    app.state.messaging_tables = parts.tables
    # Gauges read when /metrics is scraped (shared.metrics_platform); the lifespan and services add to it.
    app.state.metrics_refreshers = {}
    app.state.stream_slots = StreamSlots(settings.sse_streams_per_user)
    install_problem_handlers(app)
    _document_problems(app)
    # Operational routes first, so a catch-all route (the gateway's proxy) cannot shadow them.
    _add_operational_routes(app, settings, liveness=parts.liveness_route)
    if parts.docs_for is not None:
        add_docs_routes(app, openapi_url=parts.docs_for, title=f"{parts.title} API")
    if settings.clock_control and parts.clock_control_routes:
        _add_clock_control_routes(app)
    for router in routers:
        app.include_router(router)
    if exported:
        try:
            from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

            # No span per ASGI message (`http send`/`receive`): three extra spans a request, a third of a proxied
            # request's CPU at the gateway, and nothing a trace reader needs beyond the request's own span.
            FastAPIInstrumentor.instrument_app(
                app, excluded_urls="healthz,readyz,metrics", exclude_spans=["receive", "send"]
            )
        except Exception:
            log.warning("FastAPI tracing is unavailable", exc_info=True)
    if isinstance(settings, DatabaseSettings):
        app.add_middleware(RefuseNulCharacters, pass_multipart=parts.multipart_uploads)
    # Outside the NUL check (which reads the body): the body is counted as it streams in, before anything keeps it.
    app.add_middleware(LimitRequestBody, max_bytes=settings.max_request_bytes, larger=parts.larger_bodies)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestContextMiddleware)
    if not exported:
        # Outermost, where the instrumentation's span would be: the request's own middleware logs within it.
        app.add_middleware(TraceContext)
    return app


def _document_problems(app: FastAPI) -> None:
    """The service's OpenAPI document says what its errors look like: problem+json."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problem_responses(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _add_operational_routes(app: FastAPI, settings: ServiceSettings, *, liveness: bool) -> None:
    if liveness:

        @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
        async def healthz() -> dict[str, str]:
            return {"status": "ok", "service": settings.service_name}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: database and Kafka reachable",
        responses={503: {"description": "a dependency is unreachable"}},
    )
    async def readyz(request: Request) -> JSONResponse:
        checks: dict[str, str] = {}
        engine = getattr(request.app.state, "engine", None)
        if engine is not None:
            try:
                async with engine.connect() as conn:
                    await asyncio.wait_for(conn.execute(text("SELECT 1")), 3)
                checks["database"] = "ok"
            except Exception as exc:
                checks["database"] = f"unreachable: {exc.__class__.__name__}"
        relay = getattr(request.app.state, "relay", None)
        # The relay may have replaced the producer it was given (after sends Kafka did not acknowledge).
        producer = relay.producer if relay is not None else getattr(request.app.state, "producer", None)
        if producer is not None:
            try:
                await asyncio.wait_for(producer.client.fetch_all_metadata(), 3)
                checks["kafka"] = "ok"
            except Exception as exc:
                checks["kafka"] = f"unreachable: {exc.__class__.__name__}"
        if not hasattr(request.app.state, "token_verifier"):
            checks["startup"] = "in progress"
        revocations = getattr(request.app.state, "revocations", None)
        if revocations is not None:
            checks["deactivated_users"] = "ok" if revocations.caught_up.is_set() else "catching up"
        for name, consumer in getattr(request.app.state, "consumers", {}).items():
            checks[f"consumer:{name}"] = consumer.health()
        ok = all(v == "ok" for v in checks.values())
        body = {"status": "ready" if ok else "not ready", "service": settings.service_name, "checks": checks}
        if relay is not None:
            body["outbox_relay"] = "active" if relay.is_leader else "standby"
        return JSONResponse(body, status_code=200 if ok else 503)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        await refresh(request.app.state.metrics_refreshers)
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


class ClockOffset(BaseModel):
    """The body of `PUT /internal/clock` (and its answer, with `now`)."""

    offset_seconds: float = Field(
        allow_inf_nan=False,
        description="How far this service's clock runs ahead of the wall clock, in seconds (negative: behind); "
        "absolute, not added to the current offset.",
    )


def _add_clock_control_routes(app: FastAPI) -> None:
    """Test and demo only (CLOCK_CONTROL=true): move this service's clock, run a periodic job now.

    Served on the service's own port to an Admin's token, never by the gateway (`ServiceParts.clock_control_routes`),
    and left out of the OpenAPI document.
    """
    from shared import clock
    from shared.auth import require_role

    admin = [Depends(require_role("Admin"))]

    def current_offset() -> ClockOffset:
        active = clock.get_clock()
        offset = active.offset if isinstance(active, clock.OffsetClock) else timedelta(0)
        return ClockOffset(offset_seconds=offset.total_seconds())

    @app.get("/internal/clock", include_in_schema=False, dependencies=admin)
    async def get_clock() -> dict[str, Any]:
        return {**current_offset().model_dump(), "now": clock.now().isoformat()}

    @app.put("/internal/clock", include_in_schema=False, dependencies=admin)
    async def put_clock(body: ClockOffset) -> dict[str, Any]:
        clock.set_clock(clock.OffsetClock(timedelta(seconds=body.offset_seconds)))
        return {**current_offset().model_dump(), "now": clock.now().isoformat()}

    @app.post("/internal/jobs/{name}/run", include_in_schema=False, dependencies=admin)
    async def run_job(name: str, request: Request) -> dict[str, Any]:
        names: list[str] = request.app.state.job_names
        if name not in names:
            raise NotFound(
                f"this service has no periodic job {name!r}; its jobs: {', '.join(names) or 'none'}",
                jobs=names,
            )
        runner: JobRunner | None = getattr(request.app.state, "jobs", None)
        if runner is None:
            raise NotFound(f"the job {name!r} is not running yet (the service is starting)")
        return await runner.run_once(name)
