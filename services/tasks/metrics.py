"""Tasks' SLA states as a Prometheus gauge, read when /metrics is scraped (see `shared.metrics_platform`):
the open tasks in each SLA state, counted in one query over the active tasks."""

from __future__ import annotations

from fastapi import FastAPI
from prometheus_client import Gauge
from sqlalchemy import func, select

from services.tasks.models import ACTIVE_STATUSES, SLA_STATES, Task
from shared.metrics_platform import Connect

SLA_OPEN = Gauge(
    "tasks_sla_open", "Open tasks (open, in progress, waiting) by SLA state: green, yellow (at risk), red", ["state"]
)


async def count_sla_states(connect: Connect) -> None:
    query = select(Task.sla_state, func.count()).where(Task.status.in_(ACTIVE_STATUSES)).group_by(Task.sla_state)
    async with connect() as conn:
        counts = {state: int(n) for state, n in (await conn.execute(query)).all()}
    for state in SLA_STATES:
        SLA_OPEN.labels(state).set(counts.get(state, 0))


async def register(app: FastAPI) -> None:
    """On start-up: count the SLA states on every scrape."""

    async def refresher() -> None:
        await count_sla_states(app.state.engine.connect)

    app.state.metrics_refreshers["sla_states"] = refresher
