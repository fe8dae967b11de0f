"""Test fixtures. Integration tests run against the real platform: if it is not running, the session
starts it (Kafka, PostgreSQL, every service, demo data) and stops it again at the end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from devstack.config import StackSettings, load


def pytest_collection_modifyitems(items):
    for item in items:
        if "/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.stack)


@pytest.fixture(scope="session")
def stack() -> StackSettings:
    from devstack.cli import start
    from devstack.seed import seed
    from devstack.supervisor import Supervisor

    cfg = load()
    sup = Supervisor(cfg)
    started_here = not sup.running()
    start(cfg, quiet=True)
    seed(cfg)
    yield cfg
    if started_here:
        sup.shutdown()


@pytest.fixture(scope="session")
def supervisor(stack):
    from devstack.supervisor import Supervisor

    return Supervisor(stack)


async def wait_until(check: Callable[[], Awaitable[Any]], *, timeout: float = 20.0, interval: float = 0.05,
                     what: str = "condition") -> Any:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def superuser_dsn(cfg: StackSettings, database: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    return urlunsplit(urlsplit(cfg.admin_dsn)._replace(path=f"/{database}"))


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
