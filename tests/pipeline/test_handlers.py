"""The pipeline consumer group on TestKafkaBroker: clients known by name and department, and a deal at Policy
Issuance completed when its contract is issued. People events: tests/shared."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.pipeline.models import KnownClient, Line, Opportunity, people
from tests import events
from tests.bus import consumer_bus, consumer_of, handles
from tests.pipeline.support import a_deal


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("pipeline", consumer_of("pipeline", "pipeline"), sessionmaker) as bus:
        yield bus


async def known(session, client_id: uuid.UUID) -> KnownClient | None:
    return await session.scalar(
        select(KnownClient).where(KnownClient.id == client_id).execution_options(populate_existing=True)
    )


@handles("pipeline", "clients.client.created")
async def test_a_created_client_is_known(bus, session):
    client = events.client_created(department_id=uuid.uuid4())
    envelope = await bus.publish(client, subject=str(client.client_id))
    row = await known(session, client.client_id)
    assert (row.name, row.department_id) == (client.name, client.department_id)
    await bus.redeliver(envelope)
    assert not await bus.dead_letters(session)


@handles("pipeline", "clients.client.updated")
async def test_an_updated_client_changes_name_and_department_only(bus, session):
    client = events.client_created()
    await bus.publish(client, subject=str(client.client_id))
    department = uuid.uuid4()
    await bus.publish(
        events.client_updated(
            client.client_id,
            changes=events.changes(department_id=(None, str(department)), phone=(None, "+30 210 1234567")),
        ),
        subject=str(client.client_id),
    )
    row = await known(session, client.client_id)
    assert (row.name, row.department_id) == (client.name, department)
    await bus.publish(
        events.client_updated(client.client_id, changes=events.changes(name=(client.name, "New Name"))),
        subject=str(client.client_id),
    )
    assert (await known(session, client.client_id)).name == "New Name"


@handles("pipeline", "contracts.contract.issued")
async def test_an_issued_contract_completes_its_deal_once(bus, session):
    deal = await a_deal(session, stage_key="policy_issuance")
    issued = events.contract_issued(opportunity_id=deal.id, client_id=deal.client_id)
    envelope = await bus.publish(issued, subject=str(issued.contract_id))
    await session.refresh(deal)
    assert (deal.stage_key, deal.status, deal.contract_id) == ("completion", "won", issued.contract_id)
    outbox = bus.tables.outbox
    moves = [
        json.loads(p)
        for p in (
            await session.execute(
                select(outbox.c.payload).where(
                    outbox.c.key == str(deal.id), outbox.c.event_type == "pipeline.opportunity.stage_advanced"
                )
            )
        ).scalars()
    ]
    assert [(m["from_stage"]["key"], m["to_stage"]["key"], m["status"]) for m in moves] == [
        ("policy_issuance", "completion", "won")
    ]

    await bus.redeliver(envelope)
    # The same issuance under a new event id: the deal is already complete, nothing moves.
    await bus.publish(
        events.contract_issued(contract_id=issued.contract_id, opportunity_id=deal.id, client_id=deal.client_id),
        subject=str(issued.contract_id),
    )
    assert (
        len(
            (
                await session.execute(
                    select(outbox.c.id).where(
                        outbox.c.key == str(deal.id), outbox.c.event_type == "pipeline.opportunity.stage_advanced"
                    )
                )
            ).all()
        )
        == 1
    )


async def test_an_issued_contract_of_a_deal_elsewhere_or_unknown_moves_nothing(bus, session):
    deal = await a_deal(session, stage_key="client_decision")
    await bus.publish(events.contract_issued(opportunity_id=deal.id), subject="c1")
    await bus.publish(events.contract_issued(opportunity_id=uuid.uuid4()), subject="c2")
    await bus.publish(events.contract_issued(opportunity_id=None), subject="c3")  # a contract made by hand
    await session.refresh(deal)
    assert (deal.stage_key, deal.status) == ("client_decision", "open")
    assert not await bus.dead_letters(session)


async def test_a_contract_of_another_client_never_completes_a_deal(bus, session):
    """A deal completes only on a contract of its own client (issue 12: a contract bound to another
    department's deal completed it)."""
    deal = await a_deal(session, stage_key="policy_issuance")
    await bus.publish(events.contract_issued(opportunity_id=deal.id, client_id=uuid.uuid4()), subject="c1")
    await session.refresh(deal)
    assert (deal.stage_key, deal.status, deal.contract_id) == ("policy_issuance", "open", None)
    assert not await bus.dead_letters(session)
    own = events.contract_issued(opportunity_id=deal.id, client_id=deal.client_id)
    await bus.publish(own, subject=str(own.contract_id))
    await session.refresh(deal)
    assert (deal.stage_key, deal.status, deal.contract_id) == ("completion", "won", own.contract_id)


@handles("pipeline", "contracts.contract.renewal_due")
async def test_a_renewal_notice_opens_one_renewal_deal_at_needs_analysis_for_the_lines_specialist(bus, session):
    specialist, department = uuid.uuid4(), uuid.uuid4()
    await session.execute(
        people.users.insert().values(
            id=specialist, name="Eleni", email=f"{specialist.hex}@example.com", role="Employee", active=True
        )
    )
    line = Line(
        id=uuid.uuid4(), name=f"Marine {uuid.uuid4().hex[:8]}", specialist_id=specialist, department_id=department
    )
    session.add(line)
    await session.flush()
    due = events.contract_renewal_due(line_id=line.id, policy_number="POL-7", premium=Decimal("5000.00"))
    envelope = await bus.publish(due, subject=str(due.contract_id))

    [deal] = await renewal_deals(session, due.contract_id)
    assert (deal.stage_key, deal.owner_id, deal.department_id, deal.client_id) == (
        "needs_analysis",
        specialist,
        department,
        due.client_id,
    )
    assert deal.title == "Renewal of POL-7" and deal.expected_premium == Decimal("5000.00")
    outbox = bus.tables.outbox
    [opened] = [
        json.loads(p)
        for p in (
            await session.execute(
                select(outbox.c.payload).where(
                    outbox.c.key == str(deal.id), outbox.c.event_type == "pipeline.opportunity.opened"
                )
            )
        ).scalars()
    ]
    assert opened["renews_contract_id"] == str(due.contract_id) and opened["stage"]["key"] == "needs_analysis"

    # Delivered again, or noticed again under a new event id (a second scanner): still one deal.
    await bus.redeliver(envelope)
    await bus.publish(
        events.contract_renewal_due(contract_id=due.contract_id, line_id=line.id), subject=str(due.contract_id)
    )
    assert len(await renewal_deals(session, due.contract_id)) == 1


async def test_a_contract_without_a_line_gets_no_renewal_deal(bus, session):
    due = events.contract_renewal_due(line_id=None)
    await bus.publish(due, subject=str(due.contract_id))
    assert await renewal_deals(session, due.contract_id) == []


async def renewal_deals(session, contract_id) -> list[Opportunity]:
    stmt = select(Opportunity).where(Opportunity.renews_contract_id == contract_id)
    return list((await session.execute(stmt.execution_options(populate_existing=True))).scalars())
