"""Database access shared by the services: async SQLAlchemy over asyncpg.

One transaction per request and per handled event, opened and closed here: service code flushes
but never commits. `TransactionalRoute` commits after the endpoint (and the response model) have
succeeded and before the response leaves, so a client never sees a 2xx for a write that did not
commit; an error rolls everything back, outbox rows included.

A GET (or HEAD) only reads, so it runs without a transaction: each statement on its own, in autocommit.
At READ COMMITTED a transaction around a list's two reads gives them no common snapshot anyway, and
its BEGIN and COMMIT were two of a list call's four round trips (py-spy, an identity list under load:
a fifth of the service's CPU, and as much again in PostgreSQL). A GET that tries to write is refused
(`ReadOnlyRequest`, a 500): by HTTP a GET is safe, and without a transaction its writes would not be
atomic with each other or with their outbox rows.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from sqlalchemy import MetaData, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from starlette.responses import Response

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> MetaData:
    """The metadata of one service's declarative base, with the shared naming convention:
    `class Base(DeclarativeBase): metadata = service_metadata()` (a class statement, so type checkers know it)."""
    return MetaData(naming_convention=NAMING_CONVENTION)


# A pooled connection idle for longer than this is pinged before it is handed out (see `_check_out`).
PING_AFTER_IDLE_SECONDS = 1.0


def _checked_in(dbapi_connection: Any, record: Any, *_: Any) -> None:
    record.info["insureops.idle_since"] = time.monotonic()


def _check_out(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Hand out only a live connection, at the cost of a round trip only when one may be needed.

    SQLAlchemy's `pool_pre_ping` pings on every checkout, and its asyncpg ping is three round trips (BEGIN,
    `;`, ROLLBACK): on a one-query request that was most of the database time. Instead: a connection whose
    socket the server closed (a restart, fast or immediate, closes it; asyncpg notices at once) is refused
    for free, and one that sat idle for more than `PING_AFTER_IDLE_SECONDS` is pinged. `DisconnectionError`
    makes the pool drop the connection and take another (SQLAlchemy's "pessimistic disconnect handling").
    A connection that dies unannounced between two uses within the second fails its statement instead: a
    transient error, which consumers retry and a request answers with a 5xx, as it would mid-statement."""
    if dbapi_connection._connection.is_closed():
        raise DisconnectionError("the server closed the connection")
    idle_since = record.info.get("insureops.idle_since")
    if idle_since is None or time.monotonic() - idle_since > PING_AFTER_IDLE_SECONDS:
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError(f"ping failed: {exc}") from exc


def create_engine(url: str, *, pool_size: int = 20, echo: bool = False, traced: bool = False) -> AsyncEngine:
    """The service's engine. `traced`: a span per statement (only worth its cost when spans are exported).

    At most `pool_size` connections, opened as they are needed and then kept: no overflow beyond the pool,
    whose connections SQLAlchemy closes as soon as they are returned. Under a load wider than the pool
    (C=32 on a list) that opened and closed connections all the time (py-spy: asyncpg's connect and close
    in every profile, and a PostgreSQL backend started for each)."""
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=0, echo=echo, pool_recycle=1800)
    event.listen(engine.sync_engine.pool, "checkin", _checked_in)
    event.listen(engine.sync_engine.pool, "checkout", _check_out)
    if not traced:
        return engine
    try:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)
    except Exception:  # tracing is optional; never block the database on it
        pass
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


class ReadOnlyRequest(RuntimeError):
    """A GET (or HEAD) request tried to write: it runs without a transaction, so it may only read."""


# What a statement of a reading request may begin with.
_READING = ("SELECT", "WITH", "SHOW", "VALUES", "TABLE", "EXPLAIN")


def _refuse_writes(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    head = statement.lstrip(" \t\n(").split(None, 1)[:1]
    if not head or head[0].upper() not in _READING or (head[0].upper() == "WITH" and _writes_in_with(statement)):
        raise ReadOnlyRequest(f"a GET request may only read, and ran: {statement[:120]!r}")


_DATA_MODIFYING = re.compile(r"\bINSERT\s+INTO\b|\bDELETE\s+FROM\b|\bUPDATE\s+\S+\s+SET\b", re.IGNORECASE)


def _writes_in_with(statement: str) -> bool:
    """A data-modifying common table expression (`WITH moved AS (UPDATE ... RETURNING ...) SELECT ...`)."""
    return _DATA_MODIFYING.search(statement) is not None


def create_read_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for requests that only read: autocommit (no BEGIN, no COMMIT; the asyncpg dialect sets
    it on the connection without a round trip), on the engine's own pool, refusing any statement that
    is not a read (`ReadOnlyRequest`)."""
    reading = engine.execution_options(isolation_level="AUTOCOMMIT")
    event.listen(reading.sync_engine, "before_cursor_execute", _refuse_writes)
    return async_sessionmaker(reading, expire_on_commit=False, autoflush=False)


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The same URL for plain asyncpg (LISTEN/NOTIFY and advisory locks need a raw connection)."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


class TransactionalRoute(APIRoute):
    """A route whose request runs in one database transaction, committed only when it succeeds."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def run_in_transaction(request: Request) -> Response:
            state = request.app.state
            sessionmaker: async_sessionmaker[AsyncSession] | None = getattr(state, "sessionmaker", None)
            if request.method in ("GET", "HEAD"):
                sessionmaker = getattr(state, "read_sessionmaker", sessionmaker)
            if sessionmaker is None:
                return await handler(request)
            session = sessionmaker()
            request.state.session = session
            try:
                response = await handler(request)
                if response.status_code < 400:
                    await session.commit()
                else:
                    await session.rollback()
                return response
            except BaseException:
                await session.rollback()
                raise
            finally:
                await session.close()

        return run_in_transaction


async def get_session(request: Request) -> AsyncSession:
    """FastAPI dependency: the request's session (the route class opened it). Async, so FastAPI does not
    hop to its thread pool for it on every request."""
    session: AsyncSession = request.state.session
    return session
