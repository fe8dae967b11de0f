"""Test fixtures.

Fast tests (`tests/<service>/`, `tests/shared/`, `pytest -m "not stack"`) need at most PostgreSQL: the `pg`
fixture starts a server of the test session's own (see `tests/pg.py`), and `session`/`sessionmaker` give a
test its service's database in a transaction rolled back afterwards. The service is the test's folder
(`tests/tasks/...` uses the tasks database) unless the test says otherwise with `@pytest.mark.service("...")`.

Integration and end-to-end tests (`tests/integration/`, `tests/e2e/`, marked `stack`) run against a real
platform of their own (`devstack.teststack`: `.run/test` and ports apart from `make up`'s unless the environment
says otherwise): a running test platform is reused; otherwise the session starts one from empty data (Kafka,
PostgreSQL, every service, demo data) and stops it again at the end. A platform the tests did not start (`make
up`'s) is never written into: the session stops, saying so.

`INSUREOPS_TESTCONTAINERS=1` runs both on testcontainers' PostgreSQL and Kafka instead of local processes
(see `tests/containers.py`); without a Docker engine the tests that need them are skipped, saying why."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.config import StackSettings, load
from devstack.faults.support import superuser_dsn, wait_until  # noqa: F401 (the tests' helpers too)
from devstack.teststack import use_defaults

# Stack tests run on a platform of their own: without a run folder named in the environment, the tests' folder and
# ports (as `make test`), never `make up`'s.
use_defaults()


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath) or "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session")
def containers():
    """With INSUREOPS_TESTCONTAINERS=1: testcontainers' PostgreSQL and Kafka, their addresses put in the
    environment the stack settings are read from (skips when no Docker engine answers). Otherwise nothing."""
    from tests import containers as tc

    if not tc.wanted():
        yield None
        return
    with tc.started() as running:
        yield running


# The fast tests' PostgreSQL ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg(containers):
    """The fast tests' PostgreSQL server, its service databases migrated (started once per session)."""
    from tests import pg as test_pg

    server = test_pg.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def pg_engines(pg):
    """`pg_engines("tasks")`: one engine per service database, as the service's runtime role."""
    from shared.db import create_engine

    engines: dict = {}

    def engine(service: str):
        if service not in engines:
            engines[service] = create_engine(pg.database_url(service), pool_size=2)
        return engines[service]

    yield engine
    for engine_ in engines.values():
        await engine_.dispose()


_FAST_TEST_FOLDERS = {
    "identity",
    "clients",
    "pipeline",
    "tasks",
    "contracts",
    "audit",
    "notifications",
    "documents",
    "privacy",
}


@pytest.fixture
def service_name(request) -> str:
    """The service whose database a test uses: `@pytest.mark.service(name)`, else the test's folder."""
    marker = request.node.get_closest_marker("service")
    if marker is not None:
        return marker.args[0]
    folder = request.path.parent.name
    if folder not in _FAST_TEST_FOLDERS:
        raise pytest.UsageError(f"{request.node.nodeid}: say which service database to use (@pytest.mark.service(...))")
    return folder


@pytest.fixture
async def db(pg_engines, service_name):
    """The service's database in a transaction rolled back after the test: `db.session` for the test,
    `db.sessionmaker` for code that opens its own sessions (they join the same transaction)."""
    from tests.pg import rolled_back

    async with rolled_back(pg_engines(service_name)) as view:
        yield view


@pytest.fixture
def session(db):
    return db.session


@pytest.fixture
async def acting():
    """A person acting, bound as a request binds its caller (`shared.auth`): service code that records who made a
    change reads it (`shared.context.current_actor`). Use with `pytestmark = pytest.mark.usefixtures("acting")`."""
    from shared.context import Actor, acting_as

    with acting_as(Actor("user", "tests")):
        yield


@pytest.fixture
def sessionmaker(db):
    return db.sessionmaker


@pytest.fixture(autouse=True)
def key_provider(request):
    """Every fast test has the subjects' keys in memory (there is no privacy service): the outbox and the test bus
    seal personal fields as in production and the consumers open them, so every handler test also shows the
    services work on sealed events. `key_provider.destroy("client:<id>")` erases a subject. The stack tests keep
    the process without one (their services get keys from the stack's privacy service)."""
    from shared.privacy import keys

    if request.node.get_closest_marker("stack") is not None:
        yield None
        return
    memory = keys.InMemoryKeyProvider()
    previous = keys.set_provider(memory)
    yield memory
    keys.set_provider(previous)


# The real platform ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def stack(containers) -> StackSettings:
    """The platform of the tests' own (`devstack.teststack`): the running test stack, reused; else one started
    here from empty data, seeded, and stopped at the end. A platform the tests did not start is never used, and
    a stack whose start or seeding fails is stopped, not left for the next session to reuse."""
    from devstack import teststack
    from devstack.cli import start
    from devstack.seed import seed

    try:
        with teststack.session_stack(load(), lambda cfg: start(cfg, quiet=True), seed) as cfg:
            yield cfg
    except teststack.NotTheTestsStack as exc:
        pytest.exit(str(exc), returncode=4)


@pytest.fixture(scope="session")
def supervisor(stack):
    from devstack.supervisor import Supervisor

    return Supervisor(stack)


@contextlib.asynccontextmanager
async def scratch_database(cfg: StackSettings, service: str):
    """`async with scratch_database(stack, "tasks") as name:` an empty database of the stack's PostgreSQL owned
    by the service's schema owner (for migration tests), dropped afterwards."""
    import uuid

    name = f"{service}_migration_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(cfg.admin_dsn)
    await admin.execute(f'CREATE DATABASE "{name}" OWNER "{service}_owner"')
    try:
        db = await asyncpg.connect(superuser_dsn(cfg, name))
        await db.execute(f'ALTER SCHEMA public OWNER TO "{service}_owner"')
        await db.close()
        yield name
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def migrate_database(cfg: StackSettings, service: str, database: str, target: str, action: str = "upgrade") -> None:
    """Run the service's migrations (`upgrade` or `downgrade`) to `target` in `database`, as its schema owner."""
    import os
    import subprocess
    import sys
    from urllib.parse import urlsplit, urlunsplit

    url = urlunsplit(urlsplit(cfg.database_url(service, owner=True))._replace(path=f"/{database}"))
    env = {**os.environ, "DATABASE_URL": url, "MIGRATION_DATABASE_URL": url}
    subprocess.run(
        [sys.executable, "-m", "shared.db.migrate", service, action, target],
        check=True,
        env=env,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
async def audit_db(stack):
    conn = await asyncpg.connect(superuser_dsn(stack, "audit"))
    yield conn
    await conn.close()


@pytest.fixture
async def identity_db(stack):
    conn = await asyncpg.connect(superuser_dsn(stack, "identity"))
    yield conn
    await conn.close()


@pytest.fixture
async def gateway(stack):
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as client:
        yield client


async def login(client: httpx.AsyncClient, email: str, password: str) -> str:
    response = await client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


@pytest.fixture
async def admin_headers(gateway) -> dict[str, str]:
    from devstack.seed import ADMIN

    return {"Authorization": f"Bearer {await login(gateway, ADMIN.email, ADMIN.password)}"}


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> dict:
    """A 4xx answer in RFC 9457 form; if `field` is given, the problem names it."""
    assert response.status_code == status, f"{response.status_code}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"] and body["detail"]
    if field is not None:
        assert any(e["field"] == field for e in body.get("errors", [])), body
    return body


# Events and time ----------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def event_publisher(stack: StackSettings):
    """`async with event_publisher(stack) as publish:` the `publish_event` fixture's function, for fixtures
    of a wider scope."""
    from aiokafka import AIOKafkaProducer

    from shared import clock
    from shared.context import Actor
    from shared.messaging.envelope import Envelope, new_event_id, topic_for

    producer = AIOKafkaProducer(**stack.kafka_client_options(), enable_idempotence=True, acks="all")
    await producer.start()

    async def publish(
        data, *, subject: str, source: str | None = None, actor: Actor | None = None, event_id: str | None = None
    ) -> Envelope:
        envelope = Envelope(
            id=event_id or new_event_id(),
            type=data.event_type,
            source=source or data.event_type.split(".")[0],
            time=clock.now(),
            data=data.model_dump(mode="json"),
            subject=subject,
            dataversion=data.version,
            actor=actor or Actor("system", "tests"),
        )
        await producer.send_and_wait(
            topic_for(envelope.type),
            envelope.encode_value(),
            key=subject.encode(),
            headers=[(k, v.encode()) for k, v in envelope.attribute_headers().items()],
        )
        return envelope

    try:
        yield publish
    finally:
        await producer.stop()


@pytest.fixture
async def publish_event(stack):
    """Publish a contract event to Kafka as if another service had sent it (for testing one consumer
    before or without its producer). Returns the envelope; `await publish_event(data, subject=...)`."""
    async with event_publisher(stack) as publish:
        yield publish


_internal_token: dict[str, Any] = {}


async def internal_headers(cfg: StackSettings) -> dict[str, str]:
    """An Admin's token for the test-only `/internal/...` routes (CLOCK_CONTROL), logged in at identity itself
    (not through the gateway's rate limits) and reused for five minutes."""
    from devstack.seed import ADMIN

    if _internal_token.get("until", 0.0) < time.monotonic():
        async with httpx.AsyncClient(base_url=cfg.service_url("identity"), timeout=30) as client:
            _internal_token["value"] = await login(client, ADMIN.email, ADMIN.password)
        _internal_token["until"] = time.monotonic() + 300
    return {"Authorization": f"Bearer {_internal_token['value']}"}


@pytest.fixture
async def move_clock(stack):
    """Move the clocks of running services (CLOCK_CONTROL) and put them back after the test.

    `await move_clock(timedelta(hours=9), services=["tasks"])` moves those services' clocks forward by
    that much more. Identity and the gateway keep wall time so access tokens stay valid.
    `await run_job("tasks", "sla_watch")` runs a periodic job at once instead of waiting for its round.
    """
    from datetime import timedelta

    moved: dict[str, float] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        client.headers.update(await internal_headers(stack))

        async def move(by: timedelta, *, services: list[str]) -> None:
            for name in services:
                current = (await client.get(f"{stack.service_url(name)}/internal/clock")).json()["offset_seconds"]
                moved.setdefault(name, current)
                response = await client.put(
                    f"{stack.service_url(name)}/internal/clock", json={"offset_seconds": current + by.total_seconds()}
                )
                assert response.status_code == 200, response.text

        yield move
        for name, original in moved.items():
            await client.put(f"{stack.service_url(name)}/internal/clock", json={"offset_seconds": original})


async def run_job(stack: StackSettings, service: str, job: str) -> dict:
    """Run a service's periodic job once, now, and return its report."""
    async with httpx.AsyncClient(timeout=60, headers=await internal_headers(stack)) as client:
        response = await client.post(f"{stack.service_url(service)}/internal/jobs/{job}/run")
        assert response.status_code == 200, response.text
        return response.json()


async def all_items(client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any) -> list[dict]:
    """Every item of a list endpoint, page by page: a test stack reused over sessions holds more than one page of
    users, departments or tasks, so a helper that reads only the first page misses what it looks for."""
    items: list[dict] = []
    while True:
        response = await client.get(path, params={**params, "limit": 200, "offset": len(items)}, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if not body["items"] or len(items) >= body["total"]:
            return items
