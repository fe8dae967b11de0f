"""The test-only clock control every service serves when CLOCK_CONTROL is on."""

from datetime import UTC, datetime, timedelta

import httpx


async def test_moving_a_service_clock_and_putting_it_back(stack, move_clock):
    url = f"{stack.service_url('audit')}/internal/clock"
    async with httpx.AsyncClient() as client:
        await move_clock(timedelta(days=3), services=["audit"])
        body = (await client.get(url)).json()
        assert body["offset_seconds"] == 3 * 86400
        moved_now = datetime.fromisoformat(body["now"])
        assert moved_now - datetime.now(UTC) > timedelta(days=2, hours=23)


async def test_clock_is_back_after_the_test_that_moved_it(stack):
    async with httpx.AsyncClient() as client:
        body = (await client.get(f"{stack.service_url('audit')}/internal/clock")).json()
    assert body["offset_seconds"] == 0


async def test_unknown_job_is_404_problem(stack):
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{stack.service_url('audit')}/internal/jobs/nothing/run")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
