"""`bench.limits`' bare endpoint does identity's work and no less: for the same rows (in the fast tests'
PostgreSQL, rolled back) it runs the statements identity's `GET /api/v1/departments` runs and answers the same
bytes. Its load and the Kafka and commit figures need the stack (`python -m bench.limits`)."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime

import asyncpg
import httpx
import pytest
from sqlalchemy import event

from bench import limits
from services.identity.models import Department, User
from shared.auth import Principal

pytestmark = pytest.mark.service("identity")

ADMIN = Principal(user_id=uuid.uuid4(), role="Admin", department_id=None, name="Ada", email="ada@example.com")


class AnyToken:
    async def verify(self, token: str) -> Principal:
        return ADMIN


class OneConnection:
    """A pool of the test's own connection: the bare endpoint reads inside the test's transaction."""

    def __init__(self, connection):
        self.connection = connection

    @contextlib.asynccontextmanager
    async def acquire(self):
        yield self.connection


def _identity_app(sessionmaker):
    from services.identity.app import create_app

    app = create_app()
    app.state.sessionmaker = sessionmaker
    app.state.token_verifier = AnyToken()
    return app


async def _rows(session) -> None:
    """Departments whose names sort apart from their creation order, one non-ASCII, one with a manager; times
    with and without microseconds."""
    manager = User(name="Maria", email=f"maria.{uuid.uuid4().hex[:6]}@example.com", password_hash="x", role="Manager")
    session.add(manager)
    await session.flush()
    for n, name in enumerate(["Zeta claims", "Ασφάλειες Ζωής", "Alpha sales", "Marine", '"Quoted" & <b>']):
        session.add(
            Department(
                name=name,
                manager_id=manager.id if n == 3 else None,
                created_at=datetime(2026, 1, 2, 3, 4, 5, 0 if n % 2 else 123456, tzinfo=UTC),
                updated_at=datetime(2026, 5, 6, 7, 8, 9, 654321, tzinfo=UTC),
            )
        )
    await session.flush()


@pytest.mark.parametrize("query", ["", "?limit=20", "?limit=2&offset=1", "?limit=200&offset=3"])
async def test_the_bare_endpoint_answers_identitys_bytes_with_identitys_statements(db, pg_engines, query):
    await _rows(db.session)
    raw = await (await db.session.connection()).get_raw_connection()
    bare = limits.bare_app()
    bare.state.pool = OneConnection(raw.driver_connection)

    statements: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "departments" in statement:
            statements.append(" ".join(statement.split()))

    engine = pg_engines("identity").sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=_identity_app(db.sessionmaker)),
            base_url="http://identity",
            headers={"authorization": "Bearer any"},
        ) as client:
            expected = await client.get(f"/api/v1/departments{query}")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=bare), base_url="http://bare") as client:
        answer = await client.get(f"/api/v1/departments{query}")

    assert expected.status_code == 200, expected.text
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert answer.content == expected.content
    body = answer.json()
    assert body["total"] >= 5 and body["items"], body
    # Identity ran exactly the bare endpoint's statements: the page, then the count only for a full page.
    full = len(body["items"]) == body["limit"]
    assert statements == [limits.PAGE_SQL, *([limits.COUNT_SQL] if full else [])]


@pytest.mark.parametrize("query", ["?limit=0", "?limit=201", "?offset=-1", "?limit=ten"])
async def test_a_page_identity_refuses_is_refused(query):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=limits.bare_app()), base_url="http://bare") as c:
        assert (await c.get(f"/api/v1/departments{query}")).status_code == 422


def test_the_commit_payload_has_the_size_asked_for():
    for size in (300, 500, 2000):
        assert abs(len(limits._payload(size).encode()) - size) <= 2


async def test_the_bare_server_runs_in_its_own_process_and_is_measured(pg):
    """The real thing on the fast tests' PostgreSQL: uvicorn in a process of its own, its pool on identity's
    database as identity's role, loaded by bench.gateway's client; its CPU is read from /proc."""
    args = limits.parse_args(["--concurrency", "2", "--seconds", "0.5", "--warmup", "0.2", "--idle-seconds", "0.2"])
    report = await limits.measure_bare(pg.cfg, args)

    [run] = report["sweep"]
    assert run["concurrency"] == 2 and run["requests"] > 0 and run["errors"] == 0 and run["non_200"] == {}, run
    assert run["p50_ms"] is not None and run["p50_ms"] <= run["p99_ms"]
    assert run["cpu_ms_per_request"]["bare"] > 0, run  # the process answered, so it spent CPU
    assert report["statements"] == [limits.PAGE_SQL, limits.COUNT_SQL]
    assert "httptools" in report["server"]


async def test_the_commit_phase_measures_in_a_scratch_database_it_drops(pg):
    args = limits.parse_args(["--commit-connections", "1,3", "--commit-seconds", "0.3", "--warmup", "0.1"])
    report = await limits.measure_commits(pg.cfg, args)

    assert [r["connections"] for r in report["runs"]] == [1, 3]
    assert all(r["commits"] > 0 and r["commits_per_second"] > 0 for r in report["runs"]), report
    assert report["synchronous_commit"] in {"on", "off", "local", "remote_write", "remote_apply"}
    assert abs(report["payload_bytes"] - 500) <= 2
    admin = await asyncpg.connect(pg.cfg.admin_dsn)
    try:
        left = await admin.fetchval("SELECT count(*) FROM pg_database WHERE datname = $1", report["database"])
    finally:
        await admin.close()
    assert left == 0
