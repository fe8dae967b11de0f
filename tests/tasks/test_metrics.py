"""The scrape-time gauges on a real PostgreSQL (the tasks database, rolled back after each test): the outbox
backlog and its age, parked dead letters per consumer, tasks' SLA states; and `/metrics` answering when a
refresher fails."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from prometheus_client import REGISTRY
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from services.tasks import metrics as tasks_metrics
from services.tasks.models import Task, messaging
from shared import clock
from shared.metrics_platform import messaging_backlog, refresh


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def connect_to(session):
    @contextlib.asynccontextmanager
    async def connect() -> AsyncIterator[AsyncConnection]:
        yield await session.connection()

    return connect


async def test_outbox_backlog_and_age_and_parked_letters(session):
    now = clock.now()
    rows = [
        {"published_at": now, "created_at": now - timedelta(hours=1)},
        {"published_at": None, "created_at": now - timedelta(minutes=10)},
        {"published_at": None, "created_at": now - timedelta(minutes=1)},
    ]
    await session.execute(
        insert(messaging.outbox),
        [
            {
                "event_id": uuid.uuid4().hex,
                "event_type": "tasks.task.created",
                "topic": "tasks.task.events",
                "headers": {},
                "payload": "{}",
                **row,
            }
            for row in rows
        ],
    )
    letter = {"topic": "pipeline.opportunity.events", "partition": 0, "error": "boom", "headers": {}}
    await session.execute(
        insert(messaging.dead_letters),
        [
            {**letter, "consumer": "tasks.router", "offset": 1, "status": "parked"},
            {**letter, "consumer": "tasks.router", "offset": 2, "status": "parked"},
            {**letter, "consumer": "tasks.router", "offset": 3, "status": "replayed"},
        ],
    )
    await refresh({"messaging": messaging_backlog(connect_to(session), ["tasks.router", "tasks.people"])})

    assert gauge("outbox_backlog_events") == 2
    # The oldest unpublished row is ten minutes old (the database's now() is the transaction's start).
    age = gauge("outbox_oldest_unpublished_age_seconds")
    assert age is not None and 590 <= age <= 660
    assert gauge("dead_letters_parked", consumer="tasks.router") == 2
    # A consumer with nothing parked says 0, not nothing.
    assert gauge("dead_letters_parked", consumer="tasks.people") == 0


async def test_sla_states_count_open_tasks_only(session):
    now = clock.now()
    base = {"origin": "manual", "priority": "normal", "sla_started_at": now, "created_at": now, "updated_at": now}
    base |= {"last_activity_at": now}
    states = [("red", "open"), ("red", "in_progress"), ("yellow", "waiting"), ("red", "done"), ("green", "cancelled")]
    for number, (sla_state, status) in enumerate(states):
        session.add(Task(title=f"metrics {number}", sla_state=sla_state, status=status, **base))
    await session.flush()
    before = {s: gauge("tasks_sla_open", state=s) for s in ("green", "yellow", "red")}

    await tasks_metrics.count_sla_states(connect_to(session))

    after = {s: gauge("tasks_sla_open", state=s) for s in ("green", "yellow", "red")}
    assert all(v is not None for v in after.values()), after
    # Other tests' tasks are rolled back, so only these count: two red and one yellow are still open.
    assert after == {"green": 0, "yellow": 1, "red": 2}, before


async def test_a_failing_refresher_is_counted_and_metrics_still_answer():
    from services.gateway.app import create_app
    from services.gateway.settings import GatewaySettings

    app = create_app(GatewaySettings())

    async def broken() -> None:
        raise ConnectionError("database unreachable")

    app.state.metrics_refreshers["broken"] = broken
    before = gauge("metrics_refresh_failures_total", part="broken") or 0
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert "metrics_refresh_failures_total" in answer.text
    assert gauge("metrics_refresh_failures_total", part="broken") == before + 1
