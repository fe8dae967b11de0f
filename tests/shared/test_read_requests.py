"""A GET runs without a transaction and may only read (`shared.db.create_read_sessionmaker`, `TransactionalRoute`),
and the pool keeps its connections instead of opening and closing overflow ones, on a real PostgreSQL."""

import asyncio
import uuid

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import (
    ReadOnlyRequest,
    TransactionalRoute,
    create_engine,
    create_read_sessionmaker,
    create_sessionmaker,
    get_session,
)


@pytest.fixture
async def engine(pg):
    engine = create_engine(pg.database_url("tasks"), pool_size=1)
    yield engine
    await engine.dispose()


@pytest.fixture
async def scratch(pg):
    """A table of the test's own in the tasks database, dropped afterwards."""
    import asyncpg

    name = f"read_requests_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg.admin_dsn.rsplit("/", 1)[0] + "/tasks")
    try:
        await admin.execute(f"CREATE TABLE {name} (n int)")
        await admin.execute(f"GRANT ALL ON {name} TO PUBLIC")
        yield name
    finally:
        await admin.execute(f"DROP TABLE {name}")
        await admin.close()


async def _two_clock_readings(session: AsyncSession) -> tuple[object, object]:
    first = (await session.execute(text("SELECT now()"))).scalar_one()
    await asyncio.sleep(0.01)
    return first, (await session.execute(text("SELECT now()"))).scalar_one()


async def test_a_reading_session_runs_each_statement_on_its_own(engine):
    # now() is the transaction's start: equal within one transaction, apart when each statement is its own.
    async with create_sessionmaker(engine)() as session:
        first, second = await _two_clock_readings(session)
        assert first == second
    async with create_read_sessionmaker(engine)() as session:
        first, second = await _two_clock_readings(session)
        assert first != second


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO {t} VALUES (1)",
        "  update {t} SET n = 2",
        "DELETE FROM {t}",
        "WITH gone AS (DELETE FROM {t} RETURNING n) SELECT count(*) FROM gone",
        "CREATE TABLE {t}_more (n int)",
    ],
)
async def test_a_reading_session_refuses_writes(engine, scratch, statement):
    async with create_read_sessionmaker(engine)() as session:
        with pytest.raises(ReadOnlyRequest):
            await session.execute(text(statement.format(t=scratch)))
        # Reads go on, and the refused statement reached nothing.
        assert (await session.execute(text(f"SELECT count(*) FROM {scratch}"))).scalar_one() == 0
        assert (await session.execute(text(f"SELECT n FROM {scratch} FOR UPDATE"))).all() == []


async def test_the_pool_keeps_its_connections_and_opens_no_overflow(engine):
    async def backend(hold: float) -> int:
        async with engine.connect() as conn:
            pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await asyncio.sleep(hold)
            return pid

    # Two callers at once on a pool of one: the second waits for the first's connection, no second one is opened
    # (an overflow connection would be closed when returned, and a new one opened for the next caller).
    pids = await asyncio.gather(backend(0.2), backend(0.0), backend(0.0))
    assert len(set(pids)) == 1
    assert await backend(0) == pids[0]


def _app(engine, table: str) -> FastAPI:
    router = APIRouter(route_class=TransactionalRoute)

    @router.get("/count")
    async def count(session: AsyncSession = Depends(get_session)):
        return (await session.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()

    @router.get("/sneaky")
    async def sneaky(session: AsyncSession = Depends(get_session)):
        await session.execute(text(f"INSERT INTO {table} VALUES (1)"))
        return "written"

    @router.post("/add")
    async def add(session: AsyncSession = Depends(get_session)):
        await session.execute(text(f"INSERT INTO {table} VALUES (1)"))
        return "written"

    app = FastAPI()
    app.include_router(router)
    app.state.sessionmaker = create_sessionmaker(engine)
    app.state.read_sessionmaker = create_read_sessionmaker(engine)
    return app


async def test_a_get_that_writes_is_refused_and_a_post_writes(engine, scratch):
    transport = httpx.ASGITransport(app=_app(engine, scratch), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        assert (await client.post("/add")).status_code == 200
        assert (await client.get("/sneaky")).status_code == 500
        assert (await client.get("/count")).json() == 1  # the POST's row, and nothing of the GET's
