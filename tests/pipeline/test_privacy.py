"""Pipeline and data-subject rights: `privacy.subject.erased` makes the client's name read "erased" on every deal,
takes the name out of the deals' free text and drops their notes, once; a kept deal is left; the export part."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from services.pipeline.models import KnownClient, StageMove, people
from services.pipeline.privacy import collect
from shared import clock
from shared.contracts.privacy import ERASED
from shared.privacy.rights import erased_email
from tests import events
from tests.bus import consumer_bus, consumer_of, handles
from tests.pipeline.support import a_deal


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("pipeline", consumer_of("pipeline", "pipeline"), sessionmaker) as bus:
        yield bus


async def a_person_with_deals(bus, session):
    created = events.client_created(kind="individual", name="Eleni Papadopoulou")
    await bus.publish(created, subject=str(created.client_id))
    deals = []
    for _ in range(2):
        deal = await a_deal(session, stage_key="client_decision")
        deal.client_id = created.client_id
        deal.title = "Home cover for Eleni Papadopoulou"
        deal.notes = "Prefers calls after 6pm on +30 210 1234567"
        session.add(
            StageMove(
                opportunity_id=deal.id,
                kind="back",
                from_stage="policy_issuance",
                to_stage="client_decision",
                actor="user:x",
                moved_at=clock.now(),
                reason="eleni papadopoulou asked for another quote",
                status_after="open",
            )
        )
        deals.append(deal)
    await session.flush()
    return created.client_id, deals


@handles("pipeline", "privacy.subject.erased")
async def test_an_erased_client_reads_erased_on_every_deal_once(bus, session):
    client_id, (deal, kept) = await a_person_with_deals(bus, session)
    erasure = events.subject_erased(client_id, kept=[events.kept("deal", kept.id)])
    envelope = await bus.publish(erasure, subject=str(client_id))

    known = await session.get(KnownClient, client_id, populate_existing=True)
    assert known.name == ERASED
    await session.refresh(deal)
    assert (deal.title, deal.notes) == ("Home cover for erased", None)
    move = await session.scalar(select(StageMove).where(StageMove.opportunity_id == deal.id))
    await session.refresh(move)
    assert move.reason == "erased asked for another quote"
    await session.refresh(kept)
    assert kept.title == "Home cover for Eleni Papadopoulou" and kept.notes  # restricted, not erased

    deal.title = "Renamed later"
    await session.flush()
    await bus.redeliver(envelope)
    await bus.publish(events.subject_erased(client_id), subject=str(client_id))  # a second erasure
    await session.refresh(deal)
    await session.refresh(kept)
    assert deal.title == "Renamed later" and kept.notes  # nothing more happened
    assert not await bus.dead_letters(session)


async def test_an_erased_user_is_pseudonymised_in_the_replica(bus, session):
    user = events.user_created(name="Nikos Employee")
    await bus.publish(user, subject=str(user.user_id))
    await bus.publish(events.subject_erased(user.user_id, "user"), subject=str(user.user_id))
    row = (await session.execute(select(people.users).where(people.users.c.id == user.user_id))).one()
    assert (row.name, row.email) == (ERASED, erased_email(user.user_id))


async def test_the_export_part_holds_the_deals_and_their_moves(bus, session):
    client_id, deals = await a_person_with_deals(bus, session)
    part = await collect(session, "client", client_id)
    assert {d["id"] for d in part["deals"]} == {str(d.id) for d in deals}
    assert len(part["stage_moves"]) == 2 and part["client"][0]["name"] == "Eleni Papadopoulou"
    assert await collect(session, "client", uuid.uuid4()) == {"client": [], "deals": [], "stage_moves": []}


async def test_a_client_event_still_on_its_way_brings_no_name_back(bus, session):
    late = events.client_created(kind="individual", name="Eleni Papadopoulou")
    await bus.publish(events.subject_erased(late.client_id), subject=str(late.client_id))  # before its creation
    await bus.publish(late, subject=str(late.client_id))
    known = await session.get(KnownClient, late.client_id, populate_existing=True)
    assert (known.name, known.department_id) == (ERASED, late.department_id)

    client_id, _ = await a_person_with_deals(bus, session)
    await bus.publish(events.subject_erased(client_id), subject=str(client_id))
    renamed = events.client_updated(client_id, changes=events.changes(name=("Eleni Papadopoulou", "Eleni P.")))
    await bus.publish(renamed, subject=str(client_id))
    assert (await session.get(KnownClient, client_id, populate_existing=True)).name == ERASED
