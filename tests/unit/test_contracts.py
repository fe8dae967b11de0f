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
