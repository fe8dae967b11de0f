"""Stage checklists in pipeline, on TestKafkaBroker: the documents service's checklists and deal documents are
kept; a document that completes the checklist of its deal's stage advances the deal (actor `system:documents`)
when the stage's auto_advance is on, and not otherwise; an Employee's advance needs the documents, a Manager's
does not (the move says what was missing)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.pipeline import access, service
from services.pipeline.models import StageMove
from shared.contracts.base import FieldChange
from shared.contracts.documents import ChecklistUpdated, DocumentDeleted, DocumentUploaded, DocumentVersioned
from shared.errors import Conflict
from tests.bus import consumer_bus, consumer_of, handles
from tests.pipeline.support import a_deal

pytestmark = pytest.mark.usefixtures("acting")

REQUIREMENTS = [["proof_of_identity", "company_registration"], ["previous_policy"], ["risk_questionnaire"]]


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("pipeline", consumer_of("pipeline", "pipeline"), sessionmaker) as bus:
        yield bus


def checklist(auto_advance: bool, requirements=REQUIREMENTS, stage_key: str = "material_gathering"):
    return ChecklistUpdated(
        stage_key=stage_key,
        requirements=requirements,
        auto_advance=auto_advance,
        changes={"auto_advance": FieldChange(before=not auto_advance, after=auto_advance)},
    )


def document(deal, document_type: str, *, cls=DocumentUploaded, owner_type: str = "deal", **kw):
    fields = dict(
        document_id=uuid.uuid4(),
        owner_type=owner_type,
        owner_id=deal.id,
        client_id=deal.client_id,
        document_type=document_type,
        filename=f"{document_type}.pdf",
        document_version=1,
        size=1000,
        sha256="0" * 64,
        content_type="application/pdf",
        uploaded_by=uuid.uuid4(),
    )
    if cls is DocumentVersioned:
        fields.update(document_version=2, previous_version=1)
    if cls is DocumentDeleted:
        fields.pop("uploaded_by")
        fields.update(deleted_by=uuid.uuid4(), deleted_at=datetime.now(UTC), reason=None)
    return cls(**{**fields, **kw})


async def moves(session, deal) -> list[tuple[str, str | None, str, str | None]]:
    rows = await session.execute(
        select(StageMove).where(StageMove.opportunity_id == deal.id).order_by(StageMove.moved_at)
    )
    return [(m.from_stage, m.to_stage, m.actor, m.reason) for m in rows.scalars()]


@handles(
    "pipeline",
    "documents.checklist.updated",
    "documents.document.uploaded",
    "documents.document.versioned",
    "documents.document.deleted",
)
async def test_the_last_required_document_advances_the_deal_when_auto_advance_is_on(bus, session):
    await bus.publish(checklist(auto_advance=True), subject="material_gathering")
    deal = await a_deal(session, stage_key="material_gathering")
    await bus.publish(document(deal, "company_registration"), subject="d1")
    await bus.publish(document(deal, "previous_policy"), subject="d2")
    questionnaire = document(deal, "risk_questionnaire")
    deleted = document(deal, "risk_questionnaire", cls=DocumentDeleted, document_id=questionnaire.document_id)
    # A client's document counts for no deal.
    await bus.publish(document(deal, "risk_questionnaire", owner_type="client", owner_id=deal.client_id), subject="c")
    await session.refresh(deal)
    assert deal.stage_key == "material_gathering"
    await bus.publish(questionnaire, subject="d3")
    await session.refresh(deal)
    assert deal.stage_key == "technical_assignment"
    assert await moves(session, deal) == [
        (
            "material_gathering",
            "technical_assignment",
            "system:documents",
            "the material_gathering checklist is complete",
        )
    ]
    outbox = bus.tables.outbox
    [payload] = (
        await session.execute(
            select(outbox.c.payload).where(
                outbox.c.key == str(deal.id), outbox.c.event_type == "pipeline.opportunity.stage_advanced"
            )
        )
    ).scalars()
    assert json.loads(payload)["to_stage"]["key"] == "technical_assignment"
    # A later version, a deletion: nothing moves again.
    await bus.publish(
        document(deal, "risk_questionnaire", cls=DocumentVersioned, document_id=questionnaire.document_id), subject="d3"
    )
    await bus.publish(deleted, subject="d3")
    await session.refresh(deal)
    assert deal.stage_key == "technical_assignment" and len(await moves(session, deal)) == 1


async def test_with_auto_advance_off_a_complete_checklist_moves_nothing(bus, session):
    await bus.publish(checklist(auto_advance=False), subject="material_gathering")
    deal = await a_deal(session, stage_key="material_gathering")
    for document_type in ("proof_of_identity", "previous_policy", "risk_questionnaire"):
        await bus.publish(document(deal, document_type), subject=document_type)
    await session.refresh(deal)
    assert deal.stage_key == "material_gathering" and await moves(session, deal) == []


async def test_an_employee_needs_the_documents_a_manager_may_go_without_and_the_move_says_so(bus, session):
    await bus.publish(checklist(auto_advance=False), subject="material_gathering")
    deal = await a_deal(session, stage_key="material_gathering")
    employee = access.Viewer(user_id=deal.owner_id, role="Employee", department_id=None)
    with pytest.raises(Conflict) as refused:
        await service.move(session, deal.id, "advance", viewer=employee)
    assert refused.value.extra["missing_documents"] == REQUIREMENTS
    manager = access.Viewer(user_id=deal.owner_id, role="Manager", department_id=None)
    await service.move(session, deal.id, "advance", viewer=manager, reason="the client sends them next week")
    [(_, to_stage, _, reason)] = await moves(session, deal)
    assert to_stage == "technical_assignment"
    assert reason == (
        "the client sends them next week (advanced without proof_of_identity or company_registration; "
        "previous_policy; risk_questionnaire)"
    )

    # With the documents present, an Employee advances as before.
    other = await a_deal(session, stage_key="material_gathering")
    for document_type in ("proof_of_identity", "previous_policy", "risk_questionnaire"):
        await bus.publish(document(other, document_type), subject=document_type)
    owner = access.Viewer(user_id=other.owner_id, role="Employee", department_id=None)
    await service.move(session, other.id, "advance", viewer=owner)
    assert [(f, t, r) for f, t, _, r in await moves(session, other)] == [
        ("material_gathering", "technical_assignment", None)
    ]
