"""Database access shared by the services: async SQLAlchemy over asyncpg.

One transaction per request and per handled event, opened and closed here: service code flushes
but never commits. `TransactionalRoute` commits after the endpoint (and the response model) have
succeeded and before the response leaves, so a client never sees a 2xx for a write that did not
commit; an error rolls everything back, outbox rows included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from sqlalchemy import MetaData
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


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True, echo=echo, pool_recycle=1800
    )
    try:
        from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

        SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine)
    except Exception:  # tracing is optional; never block the database on it
        pass
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


def asyncpg_dsn(sqlalchemy_url: str) -> str:
    """The same URL for plain asyncpg (LISTEN/NOTIFY and advisory locks need a raw connection)."""
    return sqlalchemy_url.replace("postgresql+asyncpg://", "postgresql://", 1)


class TransactionalRoute(APIRoute):
    """A route whose request runs in one database transaction, committed only when it succeeds."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def run_in_transaction(request: Request) -> Response:
            sessionmaker: async_sessionmaker[AsyncSession] | None = getattr(request.app.state, "sessionmaker", None)
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
