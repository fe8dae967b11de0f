"""The test-only clock control every service serves when CLOCK_CONTROL is on: to an Admin's token, on the
service's own port, never on the gateway."""

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from devstack.seed import DEMO_USERS
from tests.conftest import assert_problem, internal_headers, login


async def test_moving_a_service_clock_and_putting_it_back(stack, move_clock):
    url = f"{stack.service_url('audit')}/internal/clock"
    async with httpx.AsyncClient(headers=await internal_headers(stack)) as client:
        await move_clock(timedelta(days=3), services=["audit"])
        body = (await client.get(url)).json()
        assert body["offset_seconds"] == 3 * 86400
        moved_now = datetime.fromisoformat(body["now"])
        assert moved_now - datetime.now(UTC) > timedelta(days=2, hours=23)


async def test_clock_is_back_after_the_test_that_moved_it(stack):
    async with httpx.AsyncClient(headers=await internal_headers(stack)) as client:
        body = (await client.get(f"{stack.service_url('audit')}/internal/clock")).json()
    assert body["offset_seconds"] == 0


async def test_unknown_job_is_404_problem(stack):
    async with httpx.AsyncClient(headers=await internal_headers(stack)) as client:
        response = await client.post(f"{stack.service_url('audit')}/internal/jobs/nothing/run")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/internal/clock"), ("PUT", "/internal/clock"), ("POST", "/internal/jobs/sla_watch/run")],
)
async def test_the_clock_routes_need_an_admins_token(stack, method, path):
    employee = next(u for u in DEMO_USERS if u.role == "Employee")
    async with httpx.AsyncClient(base_url=stack.service_url("tasks"), timeout=30) as client:
        body = {"offset_seconds": 86400} if method == "PUT" else None
        assert_problem(await client.request(method, path, json=body), 401)
        token = await login(
            httpx.AsyncClient(base_url=stack.service_url("identity")), employee.email, employee.password
        )
        refused = await client.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})
        assert_problem(refused, 403)
        clock = await client.get("/internal/clock", headers=await internal_headers(stack))
        assert clock.json()["offset_seconds"] == 0


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/internal/clock"), ("PUT", "/internal/clock"), ("POST", "/internal/jobs/x/run")]
)
async def test_the_gateway_never_routes_the_clock_routes(stack, gateway, method, path):
    """The stack runs with CLOCK_CONTROL on, the gateway too: its public port still has no such routes, even
    for an Admin."""
    response = await gateway.request(
        method, path, json={"offset_seconds": 86400} if method == "PUT" else None, headers=await internal_headers(stack)
    )
    assert response.status_code in (404, 405), response.text
    assert "offset_seconds" not in response.text
