"""A Manager reads their department's trail (issue 16): audit learns each aggregate's department from its events
(`audit_scopes`), and a record is a department's when its aggregate is, or the client it concerns is. On the
rolled-back audit database, through the real consumer group on TestKafkaBroker."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from services.audit import repository as repo
from services.audit import service
from services.audit.models import AuditScope
from shared.auth import Principal
from shared.errors import NotFound
from tests import events
from tests.bus import consumer_bus, consumer_of

SALES, TECH = uuid.uuid4(), uuid.uuid4()


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("audit", consumer_of("audit", "audit"), sessionmaker) as bus:
        yield bus


def manager(department_id: uuid.UUID | None) -> Principal:
    return Principal(uuid.uuid4(), "Manager", department_id, "M", "m@example.com")


async def readable(session, reader: Principal, **filters) -> set[str]:
    rows, _ = await service.query_records(
        session, limit=500, cursor=None, newest_first=False, **filters, department_id=service.scope_of(reader)
    )
    return {r.event_id for r in rows}


async def test_records_are_read_by_the_department_of_their_aggregate_or_client(bus, session):
    client = events.client_created(department_id=SALES)
    theirs = events.client_created(department_id=TECH)
    # A deal of the Sales client worked on a Technical line: Sales reads it through its client, Tech through its own.
    deal = events.opportunity_opened(client_id=client.client_id, department_id=TECH)
    moved = events.stage_advanced(opportunity_id=deal.opportunity_id, client_id=client.client_id)
    their_task = events.task_created(client_id=theirs.client_id, department_id=TECH)
    published = {
        name: (await bus.publish(e, subject=subject)).id
        for name, e, subject in (
            ("client", client, str(client.client_id)),
            ("theirs", theirs, str(theirs.client_id)),
            ("deal", deal, str(deal.opportunity_id)),
            ("moved", moved, str(deal.opportunity_id)),
            ("their_task", their_task, str(their_task.task_id)),
        )
    }
    everything = set(published.values())
    sales = await readable(session, manager(SALES))
    tech = await readable(session, manager(TECH))
    assert {published[n] for n in ("client", "deal", "moved")} <= sales
    assert {published["theirs"], published["their_task"]}.isdisjoint(sales)
    assert {published[n] for n in ("theirs", "deal", "moved", "their_task")} <= tech
    assert published["client"] not in tech
    assert everything <= await readable(session, Principal(uuid.uuid4(), "Admin", None, "A", "a@example.com"))
    assert everything.isdisjoint(await readable(session, manager(None)))  # a Manager of no department: none

    # One by one as in the list; a client's history, as the client: another department's is unknown.
    assert (await service.record_of_event(session, published["client"], manager(SALES))).event_id == published["client"]
    with pytest.raises(NotFound):
        await service.record_of_event(session, published["theirs"], manager(SALES))
    rows, _ = await service.client_history(session, manager(SALES), str(client.client_id), limit=50, cursor=None)
    assert {r.event_id for r in rows} == {published[n] for n in ("client", "deal", "moved")}
    with pytest.raises(NotFound):
        await service.client_history(session, manager(SALES), str(theirs.client_id), limit=50, cursor=None)


async def test_a_client_moved_to_another_department_goes_with_its_trail_and_a_late_word_does_not_move_it_back(
    bus, session
):
    client = events.client_created(department_id=SALES)
    created = await bus.publish(client, subject=str(client.client_id))
    moved = events.client_updated(client.client_id, changes=events.changes(department_id=(str(SALES), str(TECH))))
    await bus.publish(moved, subject=str(client.client_id))
    renamed = events.client_updated(client.client_id, changes=events.changes(name=("A", "B")))
    await bus.publish(renamed, subject=str(client.client_id))
    scope = await session.get(AuditScope, ("clients.client", str(client.client_id)), populate_existing=True)
    assert scope.department_id == TECH
    assert created.id in await readable(session, manager(TECH))
    assert created.id not in await readable(session, manager(SALES))
    # A batch chained earlier (a lower seq) never overrides a later word.
    await repo.set_scopes(session, [("clients.client", str(client.client_id), SALES, 1)])
    assert (
        await session.scalar(select(AuditScope.department_id).where(AuditScope.aggregate_id == str(client.client_id)))
    ) == TECH
