"""The audit consumer group (a batch handler on a topic pattern) on TestKafkaBroker: every domain event of any
topic matching the pattern is appended to the hash chain once; dead-letter topics are not domain topics."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from services.audit.models import AuditRecord
from shared.contracts.topics import DOMAIN_TOPIC_PATTERN, dead_letter_topic
from tests import events
from tests.bus import consumer_bus, consumer_of, envelope_of, handles


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("audit", consumer_of("audit", "audit"), sessionmaker) as bus:
        yield bus


async def records(session, *event_ids: str) -> list[AuditRecord]:
    return list(
        (
            await session.scalars(
                select(AuditRecord).where(AuditRecord.event_id.in_(event_ids)).order_by(AuditRecord.seq)
            )
        ).all()
    )


@handles("audit", DOMAIN_TOPIC_PATTERN)
async def test_events_of_every_domain_topic_are_chained_once_in_order(bus, session):
    client = events.client_created()
    published = [
        await bus.publish(events.user_created(), subject="u"),
        await bus.publish(client, subject=str(client.client_id)),
        await bus.publish(events.opportunity_opened(client_id=client.client_id), subject="o"),
        await bus.publish(events.contract_activated(client_id=client.client_id), subject="c"),
        await bus.publish(events.task_created(client_id=client.client_id), subject="t"),
    ]
    chained = await records(session, *(e.id for e in published))
    assert [r.event_id for r in chained] == [e.id for e in published]
    assert [r.seq for r in chained] == list(range(chained[0].seq, chained[0].seq + len(published)))
    assert all(later.prev_hash == earlier.hash for earlier, later in itertools.pairwise(chained))
    first = chained[0]
    assert (first.actor_type, first.actor_id, first.topic, first.source) == (
        "system",
        "tests",
        "identity.user.events",
        "identity",
    )
    assert first.trace_id == "0af7651916cd43dd8448eb211c80319c" and first.correlation_id == published[0].correlation_id
    assert {r.client_id for r in chained[1:]} == {str(client.client_id)}

    for envelope in published:
        await bus.redeliver(envelope)
    assert len(await records(session, *(e.id for e in published))) == len(published)


async def test_a_topic_created_later_is_recorded_and_dead_letters_are_not(bus, session):
    later = envelope_of(events.task_stale())
    later.topic = "billing.invoice.events"  # a service that does not exist yet
    later.source = "billing"  # its owner (another source would be parked: tests/shared/test_source_check.py)
    await bus.send(later)
    assert len(await records(session, later.id)) == 1
    parked = envelope_of(events.task_stale())
    parked.topic = dead_letter_topic("notifications")
    await bus.send(parked)
    assert await records(session, parked.id) == []


async def test_a_deals_opening_moves_and_decisions_are_recorded_field_by_field(bus, session):
    """Issue 16: a deal's stage and outcome are its key fields; its records carry them before and after, like
    every other aggregate's (an opening, like a creation, from nothing to each first value)."""
    opened = events.opportunity_opened()
    moved = events.stage_advanced(
        opportunity_id=opened.opportunity_id,
        changes=events.changes(stage_key=("first_contact", "needs_analysis")),
    )
    declined = events.opportunity_declined(
        opportunity_id=opened.opportunity_id,
        changes=events.changes(status=("open", "lost"), archived=(False, True)),
    )
    published = [await bus.publish(e, subject=str(opened.opportunity_id)) for e in (opened, moved, declined)]
    first, second, third = await records(session, *(e.id for e in published))
    assert {c["field"]: c["after"] for c in first.changes}["title"] == opened.title
    assert all(c["before"] is None for c in first.changes)
    assert "opportunity_id" not in {c["field"] for c in first.changes}
    assert second.changes == [{"field": "stage_key", "before": "first_contact", "after": "needs_analysis"}]
    assert third.changes == [
        {"field": "status", "before": "open", "after": "lost"},
        {"field": "archived", "before": False, "after": True},
    ]
