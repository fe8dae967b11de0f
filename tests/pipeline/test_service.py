"""Pipeline's moves (`service.move`) on the rolled-back pipeline database: a deal advances one stage at a time,
moves back with a reason, is declined, each move versioned, recorded and announced; a refused move changes
nothing. The pure rule table: tests/pipeline/test_rules.py."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from services.pipeline import service
from services.pipeline.models import Opportunity, StageMove, messaging
from shared.errors import Conflict
from tests.pipeline.support import a_deal

pytestmark = pytest.mark.usefixtures("acting")


async def announced(session, deal: Opportunity) -> list[dict]:
    outbox = messaging.outbox
    rows = await session.execute(
        select(outbox.c.event_type, outbox.c.payload).where(outbox.c.key == str(deal.id)).order_by(outbox.c.id)
    )
    return [{"type": t, **json.loads(p)} for t, p in rows]


async def test_advance_goes_one_stage_forward_versioned_recorded_and_announced(session):
    deal = await a_deal(session, stage_key="first_contact")
    await service.move(session, deal.id, "advance", viewer=None, from_stage="first_contact")
    await session.refresh(deal)
    assert (deal.stage_key, deal.status, deal.version) == ("needs_analysis", "open", 9)
    [moved] = (await session.scalars(select(StageMove).where(StageMove.opportunity_id == deal.id))).all()
    assert (moved.kind, moved.from_stage, moved.to_stage, moved.actor) == (
        "forward",
        "first_contact",
        "needs_analysis",
        "user:tests",
    )
    [event] = await announced(session, deal)
    assert (event["type"], event["from_stage"]["key"], event["to_stage"]["key"], event["opportunity_version"]) == (
        "pipeline.opportunity.stage_advanced",
        "first_contact",
        "needs_analysis",
        9,
    )
    assert event["title"] == "Fleet cover"
    # The stage change, before and after, as other aggregates' events carry their changes (issue 16).
    assert event["changes"] == {"stage_key": {"before": "first_contact", "after": "needs_analysis"}}


async def test_a_move_from_a_stage_the_deal_has_left_is_a_conflict_and_changes_nothing(session):
    deal = await a_deal(session, stage_key="needs_analysis")
    with pytest.raises(Conflict, match="no longer at first_contact"):
        await service.move(session, deal.id, "advance", viewer=None, from_stage="first_contact")
    await session.refresh(deal)
    assert (deal.stage_key, deal.version) == ("needs_analysis", 8) and await announced(session, deal) == []


async def test_back_from_the_first_stage_is_refused_and_back_elsewhere_carries_its_reason(session):
    first = await a_deal(session, stage_key="first_contact")
    with pytest.raises(Conflict):
        await service.move(session, first.id, "move_back", viewer=None, reason="oops")
    deal = await a_deal(session, stage_key="quote_preparation")
    await service.move(session, deal.id, "move_back", viewer=None, reason="missing documents")
    [event] = await announced(session, deal)
    assert (event["direction"], event["to_stage"]["key"], event["reason"]) == (
        "back",
        "technical_assignment",
        "missing documents",
    )


async def test_a_declined_deal_is_lost_archived_and_announced_with_its_stage(session):
    deal = await a_deal(session, stage_key="client_decision")
    await service.move(session, deal.id, "decline", viewer=None, reason="too expensive")
    await session.refresh(deal)
    assert (deal.status, deal.archived, deal.decline_reason) == ("lost", True, "too expensive")
    [event] = await announced(session, deal)
    assert (event["type"], event["stage"]["key"], event["status"]) == (
        "pipeline.opportunity.declined",
        "client_decision",
        "lost",
    )
    assert event["changes"] == {
        "status": {"before": "open", "after": "lost"},
        "archived": {"before": False, "after": True},
        "decline_reason": {"before": None, "after": "too expensive"},
    }
    with pytest.raises(Conflict):  # a closed deal moves no more
        await service.move(session, deal.id, "advance", viewer=None)


async def test_an_accepted_deal_names_its_contract_at_once_and_the_event_carries_the_id(session):
    from datetime import date
    from decimal import Decimal

    from services.pipeline.schemas import TermsIn

    deal = await a_deal(session, stage_key="client_decision")
    terms = TermsIn(
        premium=Decimal("1200.50"),
        currency="EUR",
        start_date=date(2027, 1, 1),
        end_date=date(2027, 12, 31),
        insurer="Aegean Mutual",
    )
    await service.move(session, deal.id, "accept", viewer=None, terms=terms)
    await session.refresh(deal)
    assert deal.stage_key == "policy_issuance" and deal.contract_id is not None  # no wait for the contracts service
    accepted = [e for e in await announced(session, deal) if e["type"] == "pipeline.opportunity.accepted"]
    assert [e["contract_id"] for e in accepted] == [str(deal.contract_id)]
    # The decision's terms and contract, each from nothing to its value; the move itself, the stage.
    [changes] = [e["changes"] for e in accepted]
    assert changes == {
        "premium": {"before": None, "after": "1200.50"},
        "premium_currency": {"before": None, "after": "EUR"},
        "start_date": {"before": None, "after": "2027-01-01"},
        "end_date": {"before": None, "after": "2027-12-31"},
        "insurer": {"before": None, "after": "Aegean Mutual"},
        "contract_id": {"before": None, "after": str(deal.contract_id)},
    }
    [advanced] = [e for e in await announced(session, deal) if e["type"] == "pipeline.opportunity.stage_advanced"]
    assert advanced["changes"] == {"stage_key": {"before": "client_decision", "after": "policy_issuance"}}
    assert advanced["renewal"] is False  # a new-business deal; its readers need not look it up
