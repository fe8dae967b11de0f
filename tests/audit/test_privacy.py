"""Audit's part of a data subject's export (GDPR Art. 15): the trail records about a client (its own, its deals',
tasks' and contracts'), or about and by a user, in chain order. Records go through the real consumer group."""

from __future__ import annotations

import uuid

import pytest

from services.audit.privacy import PROCESSING, collect
from shared.context import Actor
from tests import events
from tests.bus import consumer_bus, consumer_of


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("audit", consumer_of("audit", "audit"), sessionmaker) as bus:
        yield bus


async def test_the_export_part_holds_the_trail_about_the_subject_in_chain_order(bus, session):
    client = events.client_created(kind="individual", name="Eleni Papadopoulou")
    other = events.client_created()
    deal = events.opportunity_opened(client_id=client.client_id)
    user = events.user_created()
    by_user = Actor("user", str(user.user_id))
    await bus.publish(client, subject=str(client.client_id), actor=by_user)
    await bus.publish(other, subject=str(other.client_id))
    await bus.publish(deal, subject=str(deal.opportunity_id))
    await bus.publish(user, subject=str(user.user_id))

    part = await collect(session, "client", client.client_id)
    assert [r["event_type"] for r in part["records"]] == ["clients.client.created", "pipeline.opportunity.opened"]
    assert part["records"][0]["data"]["name"] == "Eleni Papadopoulou"
    seqs = [r["seq"] for r in part["records"]]
    assert seqs == sorted(seqs) and all(r["hash"] for r in part["records"])

    mine = await collect(session, "user", user.user_id)
    assert [r["event_type"] for r in mine["records"]] == ["clients.client.created", "identity.user.created"]
    assert await collect(session, "client", uuid.uuid4()) == {"records": []}
    assert PROCESSING["client"].retention and PROCESSING["user"].purposes
