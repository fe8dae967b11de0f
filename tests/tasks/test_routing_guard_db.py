"""Routing's guard on a real PostgreSQL session: the router's batch handler (`routing.batch_handler`) runs
against the tasks database in a transaction rolled back after each test (the fast tests' PostgreSQL,
tests/pg.py); no Kafka, no other service.

A deal event applies only if the deal is where the event says it was: a late or replayed move under a new
event id (which the inbox cannot recognise) opens nothing and closes nothing."""

from __future__ import annotations

import uuid

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import routing
from services.tasks.models import Deal as DealRow
from services.tasks.models import Task
from services.tasks.settings import TasksSettings
from shared import clock
from shared.messaging.envelope import Envelope, new_event_id
from tests.integration.tasks_support import Deal, stage

FIRST, NEEDS, GATHERING = (stage(key, None, 8) for key in ("first_contact", "needs_analysis", "material_gathering"))
PROPOSAL, DECISION = stage("proposal_sent", None, 8), stage("client_decision", None, 40)
STAGE_TYPE = "pipeline.opportunity.stage_advanced"


@pytest.fixture
def route(session):
    handler = routing.batch_handler(TasksSettings())

    async def route(*events) -> None:
        """Route one batch of these events, each under a new event id (as pipeline publishing again would)."""
        await handler(
            session,
            [
                Envelope(
                    id=new_event_id(),
                    type=data.event_type,
                    source="pipeline",
                    time=clock.now(),
                    data=data.model_dump(mode="json"),
                    subject=str(data.opportunity_id),
                )
                for data in events
            ],
        )
        await session.flush()

    return route


async def tasks_of(session: AsyncSession, deal: Deal) -> list[tuple[str, str]]:
    rows = await session.execute(
        select(Task.stage_key, Task.status).where(Task.opportunity_id == deal.opportunity_id).order_by(Task.number)
    )
    return [tuple(r) for r in rows]


async def position_of(session: AsyncSession, deal: Deal) -> tuple | None:
    row = (
        await session.execute(
            select(DealRow.stage_key, DealRow.status, DealRow.version).where(
                DealRow.opportunity_id == deal.opportunity_id
            )
        )
    ).first()
    return tuple(row) if row else None


def skipped(reason: str, event_type: str = STAGE_TYPE) -> float:
    return (
        REGISTRY.get_sample_value("tasks_routing_events_skipped_total", {"type": event_type, "reason": reason}) or 0.0
    )


def a_deal() -> Deal:
    return Deal(owner_id=uuid.uuid4(), title="Fleet cover for QA Guard")


async def test_the_normal_flow_opens_and_closes_each_stage_and_keeps_the_position(session, route):
    deal = a_deal()
    await route(deal.opened(FIRST, version=1))
    await route(deal.advanced(FIRST, NEEDS, version=2))
    await route(deal.advanced(NEEDS, GATHERING, version=3))
    assert await tasks_of(session, deal) == [
        ("first_contact", "done"),
        ("needs_analysis", "done"),
        ("material_gathering", "open"),
    ]
    titles = (
        (
            await session.execute(
                select(Task.title).where(Task.opportunity_id == deal.opportunity_id).order_by(Task.number)
            )
        )
        .scalars()
        .all()
    )
    assert titles[-1] == "Material Gathering: Fleet cover for QA Guard"
    assert await position_of(session, deal) == ("material_gathering", "open", 3)


async def test_a_late_copy_of_a_move_under_a_new_event_id_opens_and_closes_nothing(session, route):
    deal = a_deal()
    await route(deal.opened(FIRST, version=1))
    await route(deal.advanced(FIRST, NEEDS, version=2))
    await route(deal.advanced(NEEDS, GATHERING, version=3))
    before = skipped("not_newer")

    await route(deal.advanced(FIRST, NEEDS, version=2))  # the old move, published again
    await route(deal.advanced(FIRST, NEEDS))  # the same, from before versions were carried

    assert await tasks_of(session, deal) == [
        ("first_contact", "done"),
        ("needs_analysis", "done"),
        ("material_gathering", "open"),
    ]
    assert await position_of(session, deal) == ("material_gathering", "open", 3)
    assert skipped("not_newer") == before + 2


async def test_a_late_move_into_a_stage_visited_once_opens_no_second_task(session, route):
    deal = a_deal()
    await route(deal.opened(FIRST, version=1))
    await route(deal.advanced(FIRST, NEEDS, version=2))
    await route(deal.advanced(NEEDS, FIRST, direction="back", reason="wrong line", version=3))
    after_back = [("first_contact", "done"), ("needs_analysis", "cancelled"), ("first_contact", "open")]
    assert await tasks_of(session, deal) == after_back

    # The deal is at First Contact again, where the late move starts: only the version tells it is old.
    await route(deal.advanced(FIRST, NEEDS, version=2))
    assert await tasks_of(session, deal) == after_back

    await route(deal.advanced(FIRST, NEEDS, version=4))  # the real move forward
    assert await tasks_of(session, deal) == [*after_back[:2], ("first_contact", "done"), ("needs_analysis", "open")]


async def test_the_guard_holds_within_one_batch(session, route):
    deal = a_deal()
    await route(
        deal.opened(FIRST, version=1),
        deal.advanced(FIRST, NEEDS, version=2),
        deal.advanced(NEEDS, GATHERING, version=3),
        deal.advanced(FIRST, NEEDS, version=2),
        deal.opened(FIRST, version=1),
    )
    assert await tasks_of(session, deal) == [
        ("first_contact", "done"),
        ("needs_analysis", "done"),
        ("material_gathering", "open"),
    ]
    assert await position_of(session, deal) == ("material_gathering", "open", 3)


async def test_events_from_before_versions_are_guarded_by_the_stage_they_leave(session, route):
    deal = a_deal()
    await route(deal.opened(FIRST))
    await route(deal.advanced(FIRST, NEEDS))
    before = skipped("other_stage")
    await route(deal.advanced(FIRST, NEEDS))  # published again under a new id
    assert await tasks_of(session, deal) == [("first_contact", "done"), ("needs_analysis", "open")]
    assert skipped("other_stage") == before + 1
    assert await position_of(session, deal) == ("needs_analysis", "open", None)

    await route(deal.advanced(NEEDS, GATHERING, version=5))  # the first versioned event is newer
    assert await tasks_of(session, deal) == [
        ("first_contact", "done"),
        ("needs_analysis", "done"),
        ("material_gathering", "open"),
    ]
    assert await position_of(session, deal) == ("material_gathering", "open", 5)


async def test_a_replayed_opening_opens_nothing(session, route):
    deal = a_deal()
    await route(deal.opened(FIRST, version=1))
    await route(deal.advanced(FIRST, NEEDS, version=2))
    before = skipped("already_opened", "pipeline.opportunity.opened")
    await route(deal.opened(FIRST, version=1))
    assert await tasks_of(session, deal) == [("first_contact", "done"), ("needs_analysis", "open")]
    assert skipped("already_opened", "pipeline.opportunity.opened") == before + 1


async def test_a_lost_deal_takes_no_late_move(session, route):
    deal = a_deal()
    await route(deal.advanced(PROPOSAL, DECISION, version=6))
    await route(deal.declined(DECISION, version=7))
    assert await tasks_of(session, deal) == [("client_decision", "cancelled")]
    before = skipped("deal_closed")
    await route(deal.advanced(PROPOSAL, DECISION, version=6))
    assert await tasks_of(session, deal) == [("client_decision", "cancelled")]
    assert await position_of(session, deal) == ("client_decision", "lost", 7)
    assert skipped("deal_closed") == before + 1


async def test_a_move_missed_by_routing_does_not_stop_the_later_ones(session, route):
    deal = a_deal()
    await route(deal.opened(FIRST, version=1))
    await route(deal.advanced(NEEDS, GATHERING, version=3))  # FIRST -> NEEDS (version 2) never arrived
    assert await tasks_of(session, deal) == [("first_contact", "done"), ("material_gathering", "open")]
    assert await position_of(session, deal) == ("material_gathering", "open", 3)


async def test_a_move_from_before_titles_were_carried_names_the_task_by_the_deal_id(session, route):
    deal = a_deal()
    await route(deal.advanced(FIRST, NEEDS).model_copy(update={"title": None, "line_name": None}))
    title = (await session.execute(select(Task.title).where(Task.opportunity_id == deal.opportunity_id))).scalar_one()
    assert title == f"Needs Analysis: deal {str(deal.opportunity_id)[:8]}"
