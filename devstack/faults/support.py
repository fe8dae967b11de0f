"""What the fault matrix and the stack tests share: polling, the stack's databases as their superuser, the gateway's
pages and logins, the supervisor's processes, Kafka coming back."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from devstack.config import SERVICES, StackSettings
from devstack.supervisor import Supervisor

DATABASES = tuple(s.name for s in SERVICES if s.has_database)
SERVICE_NAMES = tuple(s.name for s in SERVICES)


async def wait_until(
    check: Callable[[], Awaitable[Any]], *, timeout: float = 20.0, interval: float = 0.05, what: str = "condition"
) -> Any:
    """Poll `check` until it returns something truthy; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def superuser_dsn(cfg: StackSettings, database: str) -> str:
    """The stack's PostgreSQL superuser in `database`."""
    return urlunsplit(urlsplit(cfg.admin_dsn)._replace(path=f"/{database}"))


@contextlib.asynccontextmanager
async def database(stack: StackSettings, service: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(superuser_dsn(stack, service), timeout=10)
    try:
        yield conn
    finally:
        await conn.close()


async def fetch(stack: StackSettings, service: str, query: str, *args: Any) -> list[asyncpg.Record]:
    async with database(stack, service) as conn:
        return await conn.fetch(query, *args)


async def fetchval(stack: StackSettings, service: str, query: str, *args: Any) -> Any:
    async with database(stack, service) as conn:
        return await conn.fetchval(query, *args)


async def login(client: httpx.AsyncClient, email: str, password: str) -> str:
    response = await client.post("/api/v1/auth/token", data={"username": email, "password": password})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def all_items(client: httpx.AsyncClient, path: str, headers: dict[str, str], **params: Any) -> list[dict]:
    """Every item of a list endpoint, page by page."""
    items: list[dict] = []
    while True:
        response = await client.get(path, params={**params, "limit": 200, "offset": len(items)}, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if not body["items"] or len(items) >= body["total"]:
            return items


def random_afm(rng: random.Random | None = None) -> str:
    """A Greek tax number (AFM) with a valid check digit."""
    from services.clients.taxid import afm_check_digit

    first = f"{(rng or random).randint(10_000_000, 99_999_999)}"
    return first + str(afm_check_digit(first))


def tag() -> str:
    return uuid.uuid4().hex[:8]


# Processes ------------------------------------------------------------------------------------------
async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Supervisor calls block: run them beside the workload, not instead of it."""
    return await asyncio.to_thread(function, *args)


async def wait_state(supervisor: Supervisor, name: str, states: tuple[str, ...], timeout: float = 120) -> None:
    async def there() -> bool:
        return (await in_thread(supervisor.states)).get(name) in states

    await wait_until(there, timeout=timeout, interval=0.2, what=f"{name} {'/'.join(states)}")


async def readyz(stack: StackSettings, service: str) -> tuple[int, str]:
    async with httpx.AsyncClient(timeout=5) as client:
        try:
            response = await client.get(f"{stack.service_url(service)}/readyz")
        except httpx.HTTPError as exc:
            return 0, repr(exc)
        return response.status_code, response.text


async def not_ready(stack: StackSettings) -> dict[str, str]:
    """The services whose /readyz is not 200, with what they answered."""
    answers = await asyncio.gather(*(readyz(stack, name) for name in SERVICE_NAMES))
    return {name: text[:300] for name, (status, text) in zip(SERVICE_NAMES, answers, strict=True) if status != 200}


async def wait_all_ready(stack: StackSettings, timeout: float = 180) -> None:
    last: dict[str, str] = {}

    async def all_ready() -> bool:
        last.clear()
        last.update(await not_ready(stack))
        return not last

    try:
        await wait_until(all_ready, timeout=timeout, interval=0.5, what="every service ready (/readyz)")
    except AssertionError:
        raise AssertionError(f"not ready after {timeout}s: {last}") from None


async def kafka_answers(stack: StackSettings) -> bool:
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import KafkaError

    admin = AIOKafkaAdminClient(**stack.kafka_client_options(), request_timeout_ms=3000)
    try:
        await admin.start()
        return bool(await admin.list_topics())
    except (KafkaError, OSError, TimeoutError):
        return False
    finally:
        with contextlib.suppress(Exception):
            await admin.close()


async def wait_kafka_back(stack: StackSettings, timeout: float = 180) -> None:
    """Kafka answers again (supervisord restarts it if it could not bind its port at once)."""
    from devstack.cli import quiet_loggers

    with quiet_loggers("aiokafka"):
        await wait_until(lambda: kafka_answers(stack), timeout=timeout, interval=1.0, what="Kafka to answer again")


async def ensure_running(supervisor: Supervisor, name: str) -> None:
    """Start a program that a failed step may have left stopped (a restart in progress is left alone)."""
    state = (await in_thread(supervisor.states)).get(name)
    if state in ("STOPPED", "EXITED", "FATAL"):
        with contextlib.suppress(Exception):
            await in_thread(supervisor.start, name)
