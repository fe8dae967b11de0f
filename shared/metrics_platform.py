"""Gauges read when Prometheus scrapes `/metrics`: consumer lag, the outbox backlog and its age, parked dead
letters (and, through the same hook, a service's own states, e.g. tasks' SLA states).

Nothing runs between scrapes. Each service's app keeps `app.state.metrics_refreshers` (name -> coroutine
function); `/metrics` awaits them (each within a timeout, a failure counted, never an error to the scraper)
before it answers. What they cost:

- consumer lag: no I/O. For each partition a consumer of this process holds, the end of the partition the
  consumer last heard from the broker (its last stable offset: the consumers read committed) minus the
  position it will fetch next. Records already fetched and being handled (at most one batch) are not counted.
  Replicas hold different partitions, so a group's lag is the `sum` over replicas.
- outbox and dead letters: two indexed queries on the service's own database (the unpublished-row index, the
  dead letters' consumer/status index); the backlog is counted up to `BACKLOG_CAP` rows. Every replica reports
  the same database, so take the `max` over replicas.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger("insureops.metrics")

Refresher = Callable[[], Awaitable[None]]
# How a refresher reaches its database: `engine.connect`.
Connect = Callable[[], AbstractAsyncContextManager[AsyncConnection]]

CONSUMER_LAG = Gauge(
    "consumer_lag_records",
    "Records of a partition this process consumes that it has not fetched yet (sum over replicas per group)",
    ["consumer", "topic", "partition"],
)
OUTBOX_BACKLOG = Gauge("outbox_backlog_events", "Outbox rows not yet published, read on scrape (counted up to 100000)")
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_unpublished_age_seconds", "Age of the oldest outbox row not yet published (0: none), read on scrape"
)
DEAD_LETTERS_PARKED = Gauge(
    "dead_letters_parked", "Dead letters waiting for an Admin (replay or discard), per consumer group", ["consumer"]
)
REFRESH_FAILURES = Counter(
    "metrics_refresh_failures_total",
    "Scrape-time reads that failed or timed out (the gauge keeps its last value)",
    ["part"],
)

BACKLOG_CAP = 100_000
REFRESH_TIMEOUT_SECONDS = 2.0


async def refresh(refreshers: Mapping[str, Refresher], timeout: float = REFRESH_TIMEOUT_SECONDS) -> None:
    """Run every refresher; a slow or failing one is counted and leaves its gauges as they were."""
    for name, refresher in list(refreshers.items()):
        try:
            await asyncio.wait_for(refresher(), timeout)
        except Exception:
            REFRESH_FAILURES.labels(name).inc()
            log.debug("refreshing the %s metrics failed", name, exc_info=True)


def consumer_lag(subscribers: Callable[[], Iterable[Any]]) -> Refresher:
    """Lag of the consumer groups behind `subscribers()` (FastStream Kafka subscribers: `group_id`, `consumer`)."""
    reported: set[tuple[str, str, str]] = set()

    async def read() -> None:
        seen: set[tuple[str, str, str]] = set()
        for subscriber in subscribers():
            consumer = getattr(subscriber, "consumer", None)
            group = getattr(subscriber, "group_id", None)
            if consumer is None or not group:
                continue
            for tp in consumer.assignment():
                end = consumer.last_stable_offset(tp)
                if end is None or end < 0:
                    end = consumer.highwater(tp)
                if end is None:
                    continue  # nothing fetched from this partition yet: its end is not known here
                try:
                    position = await asyncio.wait_for(consumer.position(tp), 0.5)
                except Exception:
                    continue  # revoked or resetting meanwhile
                labels = (str(group), str(tp.topic), str(tp.partition))
                CONSUMER_LAG.labels(*labels).set(max(0, int(end) - int(position)))
                seen.add(labels)
        # Partitions given to another replica (or another member) are reported there, not here any more.
        for labels in reported - seen:
            try:
                CONSUMER_LAG.remove(*labels)
            except KeyError:
                pass
        reported.clear()
        reported.update(seen)

    return read


def messaging_backlog(connect: Connect, consumers: Iterable[str]) -> Refresher:
    """The service's outbox backlog and its oldest unpublished row's age, and its consumers' parked letters."""
    names = list(consumers)
    backlog = text(
        "SELECT (SELECT count(*) FROM (SELECT 1 FROM outbox WHERE published_at IS NULL LIMIT :cap) AS pending), "
        "COALESCE((SELECT extract(epoch FROM now() - created_at) FROM outbox WHERE published_at IS NULL "
        "ORDER BY id LIMIT 1), 0)"
    )
    parked = text("SELECT consumer, count(*) FROM dead_letters WHERE status = 'parked' GROUP BY consumer")

    async def read() -> None:
        async with connect() as conn:
            pending, age = (await conn.execute(backlog, {"cap": BACKLOG_CAP})).one()
            counts = {str(c): int(n) for c, n in (await conn.execute(parked)).all()} if names else {}
        OUTBOX_BACKLOG.set(int(pending))
        OUTBOX_OLDEST_AGE.set(max(0.0, float(age)))
        for name in set(names) | set(counts):
            DEAD_LETTERS_PARKED.labels(name).set(counts.get(name, 0))

    return read
