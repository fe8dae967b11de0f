"""Rate limits and CORS at the gateway. The limits are tested on a second gateway process started
here with tight limits, in front of the same running services."""

import asyncio
import os
import socket
import subprocess
import sys

import httpx
import pytest

from devstack.seed import ADMIN, DEMO_USERS
from tests.conftest import login, wait_until


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def tight_gateway(stack):
    port = _free_port()
    env = {
        **os.environ,
        **stack.service_env("gateway"),
        "HTTP_PORT": str(port),
        "RATE_LIMIT_ADDRESS_PER_SECOND": "1",
        "RATE_LIMIT_ADDRESS_BURST": "12",
        "RATE_LIMIT_USER_PER_SECOND": "1",
        "RATE_LIMIT_USER_BURST": "4",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "services.gateway"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

            async def ready():
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_until(ready, timeout=60, what="the tight gateway to be ready")
            yield client
    finally:
        process.terminate()
        process.wait(timeout=20)


async def test_a_user_over_the_limit_gets_429_with_retry_after_and_others_do_not(stack, gateway, tight_gateway):
    first = await login(gateway, ADMIN.email, ADMIN.password)
    employee = next(u for u in DEMO_USERS if u.role == "Employee")
    second = await login(gateway, employee.email, employee.password)

    answers = [
        await tight_gateway.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {first}"}) for _ in range(6)
    ]
    codes = [a.status_code for a in answers]
    assert codes[:4] == [200] * 4 and 429 in codes[4:], codes
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["status"] == 429
    assert answers[0].headers["ratelimit-limit"] == "4"

    # Another user from the same address still has their own allowance.
    other = await tight_gateway.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {second}"})
    assert other.status_code == 200, other.text


async def test_one_address_is_limited_even_without_a_token(stack, tight_gateway):
    codes = [
        (
            await tight_gateway.post("/api/v1/auth/token", data={"username": "x@example.com", "password": "nope"})
        ).status_code
        for _ in range(16)
    ]
    assert 429 in codes and all(c in (401, 429) for c in codes), codes
    # Operational endpoints are never limited.
    assert (await tight_gateway.get("/readyz")).status_code == 200
    await asyncio.sleep(0)


async def test_cors_preflight_allows_configured_frontends_only(stack, gateway):
    allowed = await gateway.options(
        "/api/v1/users",
        headers={
            "Origin": "http://localhost:5173",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:5173"
    refused = await gateway.options(
        "/api/v1/users", headers={"Origin": "https://evil.example.com", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in refused.headers
