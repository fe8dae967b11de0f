"""Stage checklists at the documents service: the defaults a new installation starts with, an Admin's change
published as `documents.checklist.updated` (only when something changed), an unknown stage refused."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from services.documents import checklists
from services.documents import repository as repo
from services.documents.models import messaging
from services.documents.schemas import ChecklistUpdate
from shared.auth import Principal
from shared.contracts.documents import DEFAULT_CHECKLISTS, missing_requirements
from shared.errors import InvalidInput

pytestmark = pytest.mark.usefixtures("acting")

ADMIN = Principal(user_id=uuid.uuid4(), role="Admin", department_id=None, name="Ada", email="ada@example.com")


async def published(session) -> list[dict]:
    outbox = messaging.outbox
    rows = await session.execute(
        select(outbox.c.event_type, outbox.c.key, outbox.c.payload).where(
            outbox.c.topic == "documents.checklist.events"
        )
    )
    return [{"type": t, "key": k, **json.loads(p)} for t, k, p in rows]


async def test_a_new_installation_has_the_default_checklists(session):
    found = {c.stage_key: (c.requirements, c.auto_advance) for c in await repo.checklists(session)}
    assert found == {key: (value, False) for key, value in DEFAULT_CHECKLISTS.items()}


async def test_an_admins_change_is_published_once_and_an_unknown_stage_refused(session):
    body = ChecklistUpdate(requirements=[["signed_proposal", "signed_proposal"], ["payment_proof"]], auto_advance=True)
    saved = await checklists.update_checklist(session, "policy_issuance", body, ADMIN)
    assert (saved.requirements, saved.auto_advance, saved.updated_by) == (
        [["signed_proposal"], ["payment_proof"]],
        True,
        ADMIN.user_id,
    )
    await checklists.update_checklist(session, "policy_issuance", body, ADMIN)  # no change: no event
    [event] = await published(session)
    assert (event["type"], event["key"], event["auto_advance"]) == (
        "documents.checklist.updated",
        "policy_issuance",
        True,
    )
    assert event["changes"]["requirements"] == {
        "before": [["signed_proposal"]],
        "after": [["signed_proposal"], ["payment_proof"]],
    }
    new_stage = await checklists.update_checklist(
        session, "needs_analysis", ChecklistUpdate(requirements=[["broker_mandate"]], auto_advance=False), ADMIN
    )
    assert new_stage.requirements == [["broker_mandate"]]
    with pytest.raises(InvalidInput) as refused:
        await checklists.update_checklist(session, "nowhere", body, ADMIN)
    assert refused.value.errors[0]["field"] == "path.stage_key"


def test_a_requirement_is_met_by_any_one_of_its_types():
    requirements = DEFAULT_CHECKLISTS["material_gathering"]
    assert missing_requirements(requirements, {"company_registration", "risk_questionnaire"}) == [["previous_policy"]]
    assert missing_requirements(requirements, set()) == requirements
    assert missing_requirements([], set()) == []
