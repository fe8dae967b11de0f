"""The engines' pool hands out live connections (`shared.db._check_out`), on a real PostgreSQL: a connection the
server closed is replaced without an error reaching the caller, and only a connection that sat idle is pinged."""

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection

import shared.db
from shared.db import create_engine


@pytest.fixture
async def engine(pg):
    engine = create_engine(pg.database_url("tasks"), pool_size=1)
    yield engine
    await engine.dispose()


async def _backend_pid(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def test_a_connection_the_server_closed_is_replaced_on_checkout(pg, engine):
    before = await _backend_pid(engine)
    admin = await asyncpg.connect(pg.admin_dsn)
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", before)
    finally:
        await admin.close()
    await asyncio.sleep(0.2)  # the server's goodbye reaches the pooled connection
    after = await _backend_pid(engine)  # no error: the dead connection was not handed out
    assert after != before


async def test_only_an_idle_connection_is_pinged(engine, monkeypatch):
    pings: list[object] = []
    real_ping = AsyncAdapt_asyncpg_connection.ping

    def counting_ping(self):
        pings.append(self)
        return real_ping(self)

    monkeypatch.setattr(AsyncAdapt_asyncpg_connection, "ping", counting_ping)
    monkeypatch.setattr(shared.db, "PING_AFTER_IDLE_SECONDS", 0.3)

    first = await _backend_pid(engine)
    assert len(pings) == 1  # a new connection is checked once
    for _ in range(5):
        assert await _backend_pid(engine) == first
    assert len(pings) == 1  # reused at once: no round trip spent on a ping
    await asyncio.sleep(0.4)
    assert await _backend_pid(engine) == first
    assert len(pings) == 2  # idle for longer than the bound: pinged before it was handed out
