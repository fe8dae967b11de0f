"""The scrape-time gauges on the real platform: every consuming service reports the lag of each of its groups, every
service with a database its outbox backlog; a poison record shows up in `dead_letters_parked` as the database
counts it; `python -m devstack.groups` reads the groups' lag from Kafka."""

from __future__ import annotations

import re
import uuid

import httpx

from devstack import groups
from devstack.config import SERVICES
from devstack.k8s import service_parts
from tests.conftest import wait_until
from tests.integration.kafka_support import ensure_topics, produce


def sample(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0])) if "{" in line else {}
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_each_service_reports_lag_and_backlog(stack):
    async with httpx.AsyncClient(timeout=10) as client:
        for spec in SERVICES:
            parts = service_parts(spec.name)

            wanted = [c.name for c in parts.consumers]

            async def scraped(url: str = f"{stack.service_url(spec.name)}/metrics", wanted=wanted) -> str | None:
                text = (await client.get(url)).text
                # A group's gauge appears once its consumer holds partitions and has fetched from them.
                return (
                    text if all(sample(text, "consumer_lag_records", consumer=g) is not None for g in wanted) else None
                )

            text = await wait_until(scraped, timeout=60, what=f"{spec.name}'s lag gauges")
            for consumer in parts.consumers:
                assert sample(text, "consumer_lag_records", consumer=consumer.name) >= 0
            if parts.tables is not None:
                assert sample(text, "outbox_backlog_events") is not None, spec.name
                assert sample(text, "outbox_oldest_unpublished_age_seconds") is not None, spec.name
            assert sample(text, "metrics_refresh_failures_total") in (None, 0.0), spec.name


async def test_a_parked_record_is_counted_as_the_database_holds_it(stack, audit_db):
    topic = f"qa{uuid.uuid4().hex[:8]}.metrics.events"  # audit reads every *.events topic
    await ensure_topics(stack, [topic], partitions=1)
    await produce(stack, topic, (b"not an event", [("ce_id", b"half")]))
    await wait_until(
        lambda: audit_db.fetchval("SELECT count(*) FROM dead_letters WHERE topic = $1", topic),
        timeout=40,
        what="the parked record",
    )
    parked = await audit_db.fetchval("SELECT count(*) FROM dead_letters WHERE consumer = 'audit' AND status = 'parked'")
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(f"{stack.service_url('audit')}/metrics")).text
    assert sample(text, "dead_letters_parked", consumer="audit") == parked >= 1


async def test_groups_tool_reads_the_lag_from_kafka(stack):
    rows = await groups.lag_rows(stack.kafka_bootstrap, ["tasks.router"])
    assert rows and all(r.group == "tasks.router" and r.topic == "pipeline.opportunity.events" for r in rows)
    assert all(r.end >= (r.committed or 0) for r in rows)
