"""Event contracts: registry, versions, tolerance of unknown fields."""

import uuid

from shared.contracts import REGISTRY, model_for
from shared.contracts.identity import UserCreated, UserUpdated


def test_every_contract_is_registered_under_its_type_and_version():
    assert model_for("identity.user.created", 1) is UserCreated
    assert model_for("identity.user.created", 2) is None
    for (event_type, version), model in REGISTRY.items():
        assert model.event_type == event_type and model.version == version
        assert len(event_type.split(".")) == 3


def test_consumers_ignore_fields_they_do_not_know():
    data = {"user_id": str(uuid.uuid4()), "changes": {"name": {"before": "a", "after": "b"}}, "added_later": 1}
    event = UserUpdated.model_validate(data)
    assert event.changes["name"].after == "b"


def test_no_contract_carries_a_password():
    for model in REGISTRY.values():
        assert not any("password" in name and name != "password_changed" for name in model.model_fields)


def test_asyncapi_document_is_generated_and_current():
    from pathlib import Path

    from shared.contracts.asyncapi import build_document, render

    doc = build_document()
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == {event_type for event_type, _ in REGISTRY}
    assert doc["channels"]["identity_user_events"]["address"] == "identity.user.events"
    committed = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.json"
    assert committed.read_text() == render(), "run `python -m shared.contracts.asyncapi > docs/asyncapi.json`"


def test_events_published_before_titles_and_versions_were_added_still_validate():
    from shared.contracts.pipeline import StageAdvanced
    from shared.contracts.tasks import TaskReassigned

    stage = {"key": "first_contact", "name": "First Contact", "position": 1, "department_id": None, "sla_hours": 8}
    old_move = {
        "opportunity_id": str(uuid.uuid4()),
        "client_id": str(uuid.uuid4()),
        "line_id": str(uuid.uuid4()),
        "owner_id": str(uuid.uuid4()),
        "from_stage": stage,
        "to_stage": {**stage, "key": "needs_analysis"},
        "direction": "forward",
        "reason": None,
        "seconds_in_stage": 1.0,
        "status": "open",
    }
    move = StageAdvanced.model_validate(old_move)
    assert (move.title, move.line_name, move.opportunity_version) == (None, None, None)
    old_reassignment = {
        "task_id": str(uuid.uuid4()),
        "client_id": None,
        "opportunity_id": None,
        "department_id": None,
        "assignee_id": None,
        "changes": {},
        "assignment_reason": None,
    }
    assert TaskReassigned.model_validate(old_reassignment).title is None
