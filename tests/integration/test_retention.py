"""Bounded growth on the running platform: the retention jobs run through the clock control's job endpoint, keep
what is young, and delete what has outlived its retention once the service's clock is past it."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import httpx

from devstack.config import SERVICES
from tests.conftest import internal_headers, run_job, superuser_dsn

CONSUMING = ("clients", "pipeline", "tasks", "contracts", "audit", "notifications", "documents")


async def _inbox_rows(stack, service: str) -> int:
    conn = await asyncpg.connect(superuser_dsn(stack, service))
    try:
        return int(await conn.fetchval("SELECT count(*) FROM inbox"))
    finally:
        await conn.close()


async def test_the_retention_jobs_run_and_keep_what_is_young(stack):
    assert {s.name for s in SERVICES} >= set(CONSUMING)
    for service in CONSUMING:
        before = await _inbox_rows(stack, service)
        report = await run_job(stack, service, "messaging_retention")
        assert report["ran"] is True and report["result"] == {"inbox": 0, "dead_letters": 0}, (service, report)
        assert await _inbox_rows(stack, service) >= before  # nothing young deleted
    report = await run_job(stack, "notifications", "notification_retention")
    assert report["ran"] is True and set(report["result"]) == {"notifications", "email_deliveries"}, report


async def test_inbox_rows_past_their_retention_are_deleted(stack, move_clock):
    held = await _inbox_rows(stack, "clients")
    assert held > 0  # the seed's events
    await move_clock(timedelta(hours=337), services=["clients"])  # past INBOX_RETENTION_HOURS (336)
    report = await run_job(stack, "clients", "messaging_retention")
    assert report["result"]["inbox"] >= min(held, 10000), report
    assert await _inbox_rows(stack, "clients") < held


async def test_a_job_a_service_does_not_run_is_a_404_naming_those_it_does(stack):
    async with httpx.AsyncClient(timeout=30, headers=await internal_headers(stack)) as client:
        response = await client.post(f"{stack.service_url('tasks')}/internal/jobs/sla-watch/run")
    assert response.status_code == 404, response.text
    body = response.json()
    assert body["jobs"] == ["messaging_retention", "sla_watch", "stale_watch"] and "sla_watch" in body["detail"]
