"""The contracts consumer group on TestKafkaBroker: accepted deals become contracts (once), clients are known
by name, department and status. Each event is published as pipeline or clients would publish it."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from services.contracts.models import Contract, KnownClient
from shared.contracts.pipeline import OpportunityUpdated
from tests import events
from tests.bus import consumer_bus, consumer_of, handles


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("contracts", consumer_of("contracts", "contracts"), sessionmaker) as bus:
        yield bus


async def contracts_of_deal(session, opportunity_id: uuid.UUID) -> list[Contract]:
    return list((await session.scalars(select(Contract).where(Contract.opportunity_id == opportunity_id))).all())


async def known_client(session, client_id: uuid.UUID) -> KnownClient | None:
    return await session.scalar(
        select(KnownClient).where(KnownClient.id == client_id).execution_options(populate_existing=True)
    )


@handles("contracts", "pipeline.opportunity.accepted")
async def test_an_accepted_deal_becomes_one_pending_contract_announced_once(bus, session):
    department = uuid.uuid4()
    client = events.client_created(department_id=department)
    await bus.publish(client, subject=str(client.client_id))
    accepted = events.opportunity_accepted(
        client_id=client.client_id, terms=events.terms(currency="eur", premium="1000.005")
    )
    envelope = await bus.publish(accepted, subject=str(accepted.opportunity_id))

    [contract] = await contracts_of_deal(session, accepted.opportunity_id)
    assert (contract.status, contract.origin, contract.currency, str(contract.premium)) == (
        "pending_issuance",
        "deal",
        "EUR",
        "1000.00",
    )
    assert contract.department_id == department  # the client's department, known from its event
    assert contract.created_by == "system:tests"
    outbox = bus.tables.outbox
    [row] = (await session.execute(select(outbox).where(outbox.c.key == str(contract.id)))).mappings()
    assert row["event_type"] == "contracts.contract.created"
    assert row["headers"]["ce_causationid"] == envelope.id
    assert json.loads(row["payload"])["opportunity_id"] == str(accepted.opportunity_id)

    await bus.redeliver(envelope)  # the same event again
    accepted_again = events.opportunity_accepted(opportunity_id=accepted.opportunity_id, client_id=client.client_id)
    await bus.publish(accepted_again, subject=str(accepted.opportunity_id))  # the deal accepted again, a new id
    assert len(await contracts_of_deal(session, accepted.opportunity_id)) == 1
    assert (
        await session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.event_type == "contracts.contract.created")
        )
        == 1
    )


async def test_an_accepted_deal_with_unusable_terms_is_refused_and_parked_at_once(sessionmaker, session):
    # Any retry would wait half a minute: a refusal is parked without one.
    async with consumer_bus(
        "contracts", consumer_of("contracts", "contracts"), sessionmaker, max_attempts=3, retry_backoff=30.0
    ) as bus:
        accepted = events.opportunity_accepted(terms=events.terms(premium="0", end_date=date(2029, 1, 1)))
        envelope = await asyncio.wait_for(bus.publish(accepted, subject=str(accepted.opportunity_id)), 5)
        [dead] = await bus.dead_letters(session)
        assert "unusable terms" in dead["error"] and "terms.premium" in dead["error"], dead["error"]
        assert "terms.start_date" in dead["error"] and "terms.currency" not in dead["error"]
        assert dead["event_id"] == envelope.id
        [copy] = await bus.dead_letter_copies(session)
        assert copy["headers"]["dlq_kind"] == "permanent"
        assert await contracts_of_deal(session, accepted.opportunity_id) == []


async def test_an_accepted_deal_held_by_a_hand_made_contract_is_parked_not_taken(sessionmaker, session):
    """A hand-made contract can no longer name a deal (ContractCreate); one made before that was refused must
    not pass for the deal's contract: the acceptance is parked for a person, nothing is announced."""
    accepted = events.opportunity_accepted()
    now = datetime.now(UTC)
    held = Contract(
        id=uuid.uuid4(),
        client_id=uuid.uuid4(),
        opportunity_id=accepted.opportunity_id,
        origin="manual",
        status="pending_issuance",
        premium=Decimal("10.00"),
        currency="EUR",
        start_date=date(2029, 1, 1),
        end_date=date(2030, 1, 1),
        created_at=now,
        updated_at=now,
    )
    session.add(held)
    await session.flush()
    async with consumer_bus(
        "contracts", consumer_of("contracts", "contracts"), sessionmaker, max_attempts=3, retry_backoff=30.0
    ) as bus:
        await asyncio.wait_for(bus.publish(accepted, subject=str(accepted.opportunity_id)), 5)
        [dead] = await bus.dead_letters(session)
        assert f"held by hand-made contract {held.id}" in dead["error"], dead["error"]
        assert [c.id for c in await contracts_of_deal(session, accepted.opportunity_id)] == [held.id]
        outbox = bus.tables.outbox
        assert not (await session.execute(select(outbox.c.id).where(outbox.c.key == str(held.id)))).all()


@handles("contracts", "clients.client.created")
async def test_a_created_client_is_known_by_name_department_and_status(bus, session):
    client = events.client_created(department_id=uuid.uuid4(), status="prospect")
    envelope = await bus.publish(client, subject=str(client.client_id))
    known = await known_client(session, client.client_id)
    assert (known.name, known.department_id, known.status, known.archived) == (
        client.name,
        client.department_id,
        "prospect",
        False,
    )
    await bus.redeliver(envelope)
    assert (
        await session.scalar(select(func.count()).select_from(KnownClient).where(KnownClient.id == client.client_id))
        == 1
    )


@handles("contracts", "clients.client.updated")
async def test_an_updated_client_changes_name_department_and_archived(bus, session):
    client = events.client_created()
    await bus.publish(client, subject=str(client.client_id))
    department = uuid.uuid4()
    update = events.client_updated(
        client.client_id,
        changes=events.changes(
            name=(client.name, "Renamed Ltd"),
            department_id=(None, str(department)),
            archived=(False, True),
            phone=(None, "+49 30 1234"),
        ),
    )
    envelope = await bus.publish(update, subject=str(client.client_id))
    known = await known_client(session, client.client_id)
    assert (known.name, known.department_id, known.archived) == ("Renamed Ltd", department, True)

    # An update of a client never seen changes nothing and fails nothing.
    stranger = events.client_updated(uuid.uuid4())
    await bus.publish(stranger, subject=str(stranger.client_id))
    assert await known_client(session, stranger.client_id) is None
    await bus.redeliver(envelope)
    assert not await bus.dead_letters(session)


@handles("contracts", "pipeline.opportunity.accepted", "clients.client.created", "clients.client.updated")
async def test_a_contract_follows_its_clients_department_so_its_events_name_the_owner(bus, session):
    # The deal's acceptance arrives before the client's creation (different topics): the contract keeps the deal's
    # department until the client is known, then takes the client's, and follows it when the client moves.
    deal_department, client_department, moved_to = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    client = events.client_created(department_id=client_department)
    accepted = events.opportunity_accepted(client_id=client.client_id, department_id=deal_department)
    await bus.publish(accepted, subject=str(accepted.opportunity_id))
    [contract] = await contracts_of_deal(session, accepted.opportunity_id)
    assert contract.department_id == deal_department

    async def department() -> uuid.UUID | None:
        return await session.scalar(
            select(Contract.department_id).where(Contract.id == contract.id).execution_options(populate_existing=True)
        )

    await bus.publish(client, subject=str(client.client_id))
    assert await department() == client_department
    moved = events.client_updated(
        client.client_id, changes=events.changes(department_id=(str(client_department), str(moved_to)))
    )
    await bus.publish(moved, subject=str(client.client_id))
    assert await department() == moved_to
    renamed = events.client_updated(client.client_id)  # a change that is not a move leaves it
    await bus.publish(renamed, subject=str(client.client_id))
    assert await department() == moved_to


@handles("contracts", "clients.client.status_changed")
async def test_a_client_status_change_is_followed(bus, session):
    client = events.client_created(status="prospect")
    await bus.publish(client, subject=str(client.client_id))
    changed = events.client_status_changed(client.client_id, "prospect", "active")
    envelope = await bus.publish(changed, subject=str(client.client_id))
    assert (await known_client(session, client.client_id)).status == "active"

    # A later change, then the first one redelivered: the redelivery is recognised and changes nothing back.
    await bus.publish(
        events.client_status_changed(client.client_id, "active", "inactive"), subject=str(client.client_id)
    )
    await bus.redeliver(envelope)
    assert (await known_client(session, client.client_id)).status == "inactive"


@handles("contracts", "pipeline.opportunity.accepted")
async def test_the_contract_of_an_accepted_deal_takes_the_id_pipeline_gave_it(bus, session):
    client = events.client_created()
    await bus.publish(client, subject=str(client.client_id))
    named = uuid.uuid4()
    accepted = events.opportunity_accepted(client_id=client.client_id, contract_id=named)
    await bus.publish(accepted, subject=str(accepted.opportunity_id))
    [contract] = await contracts_of_deal(session, accepted.opportunity_id)
    assert contract.id == named


@handles(
    "contracts",
    "pipeline.opportunity.opened",
    "pipeline.opportunity.stage_advanced",
    "pipeline.opportunity.updated",
    "pipeline.opportunity.declined",
)
async def test_a_renewal_deal_is_followed_for_the_workbench(bus, session):
    expiring = uuid.uuid4()
    # A new-business deal is not a renewal: nothing kept.
    await bus.publish(events.opportunity_opened())
    opened = events.opportunity_opened(
        renews_contract_id=expiring, stage=events.stage("needs_analysis", position=2), expected_premium=Decimal("900")
    )
    await bus.publish(opened, subject=str(opened.opportunity_id))
    renewal = await renewal_of(session, expiring)
    assert (renewal.opportunity_id, renewal.stage_key, renewal.deal_status, renewal.proposed_premium) == (
        opened.opportunity_id,
        "needs_analysis",
        "open",
        Decimal("900.00"),
    )

    async def advance(from_stage: tuple[str, int], to_stage: tuple[str, int], **kw) -> None:
        """Publish the deal's advance from one (key, position) stage to another."""
        await bus.publish(
            events.stage_advanced(
                opportunity_id=opened.opportunity_id,
                from_stage=events.stage(from_stage[0], position=from_stage[1]),
                to_stage=events.stage(to_stage[0], position=to_stage[1]),
                **kw,
            )
        )

    # An advance published before events said whether the deal is a renewal: looked up, followed.
    await advance(("needs_analysis", 2), ("quote_preparation", 5))
    assert (await renewal_of(session, expiring)).stage_key == "quote_preparation"
    # One that says the deal is not a renewal is not looked up at all (this one's word is taken, as pipeline's is).
    await advance(("quote_preparation", 5), ("negotiation", 6), renewal=False)
    assert (await renewal_of(session, expiring)).stage_key == "quote_preparation"
    await advance(("quote_preparation", 5), ("proposal_sent", 6), renewal=True)
    await bus.publish(
        OpportunityUpdated(
            opportunity_id=opened.opportunity_id,
            client_id=opened.client_id,
            changes=events.changes(expected_premium=("900", "1100.50")),
        )
    )
    renewal = await renewal_of(session, expiring)
    assert (renewal.stage_key, renewal.proposed_premium) == ("proposal_sent", Decimal("1100.50"))
    await bus.publish(events.opportunity_declined(opportunity_id=opened.opportunity_id, client_id=opened.client_id))
    assert (await renewal_of(session, expiring)).deal_status == "lost"


async def renewal_of(session, contract_id):
    from services.contracts.models import Renewal

    return await session.scalar(
        select(Renewal).where(Renewal.contract_id == contract_id).execution_options(populate_existing=True)
    )
