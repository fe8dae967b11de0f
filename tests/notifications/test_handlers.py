"""The notifications consumer group (a batch handler) on TestKafkaBroker: each event type that tells someone
something becomes one stored notification per recipient, once however often it is delivered. Who is told
what in detail: tests/notifications/test_recipients.py. People events: tests/shared."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from services.notifications.models import Notification, people
from services.notifications.recipients import SOURCE_EVENT_TYPES
from shared.contracts import EventData
from tests import events
from tests.bus import consumer_bus, consumer_of, handles


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("notifications", consumer_of("notifications", "notifications"), sessionmaker) as bus:
        yield bus


@dataclass
class Case:
    event: Callable[[uuid.UUID, uuid.UUID], EventData]  # (person, department) -> the event
    kind: str
    manager_told: bool = False  # the department's manager is told too
    person_told: bool = True  # the person the event names (False: only the manager is told)
    title: str = ""


CASES = {
    "tasks.task.created": Case(
        lambda p, d: events.task_created(assignee_id=p),
        "task_assigned",
        title="Task assigned: Needs Analysis: Fleet cover",
    ),
    "tasks.task.reassigned": Case(lambda p, d: events.task_reassigned(assignee_id=p), "task_assigned"),
    "tasks.task.sla_changed": Case(lambda p, d: events.task_sla_changed("yellow", assignee_id=p), "task_at_risk"),
    "tasks.task.escalated": Case(lambda p, d: events.task_escalated(manager_id=p), "task_escalated"),
    "tasks.task.stale": Case(lambda p, d: events.task_stale(assignee_id=p), "task_stale"),
    "pipeline.opportunity.opened": Case(
        lambda p, d: events.opportunity_opened(owner_id=p), "deal_opened", title="New deal: Fleet cover"
    ),
    "pipeline.opportunity.accepted": Case(
        lambda p, d: events.opportunity_accepted(owner_id=p, department_id=d), "decision_recorded", manager_told=True
    ),
    "pipeline.opportunity.declined": Case(
        lambda p, d: events.opportunity_declined(owner_id=p, department_id=d), "decision_recorded", manager_told=True
    ),
    "contracts.contract.renewal_due": Case(
        lambda p, d: events.contract_renewal_due(specialist_id=p, policy_number="POL-1"),
        "contract_renewal_due",
        title="Renewal due: POL-1",
    ),
    "contracts.contract.expired": Case(lambda p, d: events.contract_expired(specialist_id=p), "contract_expired"),
    "contracts.contract.renewal_at_risk": Case(
        lambda p, d: events.contract_renewal_at_risk(owner_id=p, policy_number="POL-3"),
        "renewal_at_risk",
        title="Renewal at risk: POL-3",
    ),
    "contracts.contract.referred": Case(
        lambda p, d: events.contract_referred(department_id=d, policy_number="POL-9"),
        "contract_referred",
        manager_told=True,
        person_told=False,
        title="Referral to approve: POL-9",
    ),
}
assert set(CASES) == set(SOURCE_EVENT_TYPES)


async def notifications_of(session, source_event_id: str) -> list[Notification]:
    return list(
        (
            await session.scalars(
                select(Notification).where(Notification.source_event_id == source_event_id).order_by(Notification.seq)
            )
        ).all()
    )


@pytest.mark.parametrize("event_type", [pytest.param(t, marks=handles("notifications", t), id=t) for t in CASES])
async def test_an_event_becomes_one_notification_per_recipient_once(bus, session, event_type):
    case = CASES[event_type]
    person, manager, department = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await session.execute(people.departments.insert().values(id=department, name="Motor", manager_id=manager))
    data = case.event(person, department)
    envelope = await bus.publish(data, subject=str(uuid.uuid4()))
    stored = await notifications_of(session, envelope.id)
    expected = ({person} if case.person_told else set()) | ({manager} if case.manager_told else set())
    assert {n.recipient_id for n in stored} == expected
    assert {(n.kind, n.source_event_type) for n in stored} == {(case.kind, event_type)}
    if case.title:
        assert {n.title for n in stored} == {case.title}

    await bus.redeliver(envelope)
    assert len(await notifications_of(session, envelope.id)) == len(expected)


async def test_a_batch_of_several_events_is_stored_in_order_and_nothing_is_parked(bus, session):
    person = uuid.uuid4()
    first = await bus.publish(events.task_created(assignee_id=person), subject="a")
    second = await bus.publish(events.task_stale(assignee_id=person), subject="b")
    [one], [two] = await notifications_of(session, first.id), await notifications_of(session, second.id)
    assert one.seq < two.seq
    # An event nobody is told of (an SLA back to green) is claimed and stores nothing.
    quiet = await bus.publish(events.task_sla_changed("green", assignee_id=person), subject="c")
    assert await bus.claimed(session, quiet) and not await notifications_of(session, quiet.id)
    assert not await bus.dead_letters(session)
