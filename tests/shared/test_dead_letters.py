"""Dead letters an Admin works with: the pieces that need no stack (how a stored record is read back and
shown, which service each consumer's letters live in, the contracts and routes every consuming service has)."""

import base64
import importlib
import json
import re
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from devstack.config import SERVICES
from services.gateway.routes import DEAD_LETTER_SERVICES, service_for
from shared.context import Actor
from shared.contracts import model_for
from shared.contracts.dead_letters import CONTRACTS
from shared.contracts.topics import DEAD_LETTER_EVENTS, DOMAIN_TOPIC_PATTERN, topic_for
from shared.messaging.dead_letters.service import is_replayable, payload_view, stored_record
from shared.messaging.envelope import Envelope, MalformedEvent


def _app_paths(service: str) -> set[str]:
    return set(importlib.import_module(f"services.{service}.app").create_app().openapi()["paths"])


@pytest.mark.parametrize("service", [s.name for s in SERVICES if s.name != "gateway"])
def test_every_consuming_service_and_only_those_serve_dead_letters(service):
    paths = _app_paths(service)
    serves = "/api/v1/dead-letters/{consumer}/{dead_letter_id}/replay" in paths
    assert serves == (service in DEAD_LETTER_SERVICES), service
    if serves:
        assert {
            "/api/v1/dead-letters",
            "/api/v1/dead-letters/{consumer}",
            "/api/v1/dead-letters/{consumer}/replay",
            "/api/v1/dead-letters/{consumer}/{dead_letter_id}",
            "/api/v1/dead-letters/{consumer}/{dead_letter_id}/discard",
        } <= paths


def test_each_consuming_service_reports_on_its_own_topic_with_its_own_contracts():
    assert set(CONTRACTS) == set(DEAD_LETTER_EVENTS)
    for service, topic in DEAD_LETTER_EVENTS.items():
        replayed, discarded = CONTRACTS[service]
        assert model_for(f"{service}.dead_letter.replayed") is replayed
        assert model_for(f"{service}.dead_letter.discarded") is discarded
        assert topic_for(replayed.event_type) == topic_for(discarded.event_type) == topic
        assert re.match(DOMAIN_TOPIC_PATTERN, topic), "audit records it"
    data = CONTRACTS["tasks"][1](
        consumer="tasks.router",
        dead_letter_id=3,
        parked_event_id="e",
        parked_event_type="pipeline.opportunity.accepted",
        topic="x",
        partition=0,
        offset=1,
        reason="obsolete",
    )
    assert data.reason == "obsolete" and data.event_type == "tasks.dead_letter.discarded"


def test_the_gateway_routes_a_consumers_letters_to_the_service_owning_it():
    assert service_for("/api/v1/dead-letters/tasks.router") == "tasks"
    assert service_for("/api/v1/dead-letters/tasks.people/12/replay") == "tasks"
    assert service_for("/api/v1/dead-letters/audit/3") == "audit"
    assert service_for("/api/v1/dead-letters/contracts/replay") == "contracts"
    assert service_for("/api/v1/dead-letters/gateway/1") is None
    assert service_for("/api/v1/dead-letters/identity") == "identity"  # erasures of data subjects
    assert service_for("/api/v1/dead-letters/documents.x") == "documents"
    assert service_for("/api/v1/dead-letters/nope") is None
    assert service_for("/api/v1/dead-lettersX/audit") is None
    assert service_for("/api/v1/dead-letters") is None  # the gateway's own composed list


def test_the_merged_document_has_the_dead_letter_paths_once():
    from devstack import openapi

    doc = openapi.document()
    assert "x-missing-services" not in doc["info"]
    assert "get" in doc["paths"]["/api/v1/dead-letters"]
    assert doc["paths"]["/api/v1/dead-letters"]["get"]["tags"] == ["composed"]
    for path in ("/api/v1/dead-letters/{consumer}", "/api/v1/dead-letters/{consumer}/{dead_letter_id}/replay"):
        assert doc["paths"][path]


def test_payloads_are_shown_as_json_text_or_base64():
    assert payload_view(b'{"a": 1}') == ("json", {"a": 1})
    assert payload_view(b"not json") == ("text", "not json")
    assert payload_view(b"\x00 nul") == ("base64", base64.b64encode(b"\x00 nul").decode())
    assert payload_view(b"\xff\xfe") == ("base64", base64.b64encode(b"\xff\xfe").decode())
    assert payload_view(None) == ("none", None)


def _row(**overrides):
    envelope = Envelope(
        id="e1",
        type="pipeline.opportunity.accepted",
        source="pipeline",
        time=datetime(2026, 1, 2, tzinfo=UTC),
        data={"opportunity_id": "o1"},
        subject="o1",
        actor=Actor("user", "u1"),
    )
    values = dict(
        id=5,
        topic="pipeline.opportunity.events",
        partition=2,
        offset=40,
        key="o1",
        headers=envelope.attribute_headers(),
        payload=envelope.encode_value(),
        event_id="e1",
        event_type="pipeline.opportunity.accepted",
        error="InvalidInput: no such line",
    )
    values.update(overrides)
    return SimpleNamespace(**values)


def test_a_stored_record_reads_back_as_the_event_it_was():
    envelope = Envelope.from_record(stored_record(_row()))
    assert (envelope.id, envelope.type, envelope.subject, envelope.data) == (
        "e1",
        "pipeline.opportunity.accepted",
        "o1",
        {"opportunity_id": "o1"},
    )
    assert (envelope.topic, envelope.partition, envelope.offset) == ("pipeline.opportunity.events", 2, 40)
    assert envelope.actor == Actor("user", "u1")
    assert is_replayable(_row())


def test_an_event_refused_for_its_source_is_not_replayable():
    assert not is_replayable(_row(error="ForgedSource: pipeline.opportunity.accepted e1 says ce_source 'clients' ..."))


def test_a_record_that_was_not_an_event_is_not_replayable():
    row = _row(headers={"ce_id": "half"}, payload=b"\x00junk", event_id=None, event_type=None)
    assert not is_replayable(row)
    with pytest.raises(MalformedEvent):
        Envelope.from_record(stored_record(row))
    assert json.loads(json.dumps(stored_record(row).headers[0][0])) == "ce_id"


class _Composer:
    """Every service's answer scripted: a page, or a failure (the part goes missing)."""

    settings = None

    def __init__(self, answers: dict):
        self.answers = answers
        self.calls: list = []

    async def gather(self, request, calls, **kw):
        from services.gateway.parts import MissingPart, Outcome

        self.calls += calls
        parts = {c.name: self.answers[c.service] for c in calls if isinstance(self.answers.get(c.service), dict)}
        missing = [MissingPart(c.name, "unavailable", 503, "down") for c in calls if c.name not in parts]
        return Outcome(parts=parts, missing=missing)


def _composed(answers: dict, role: str = "Admin"):
    import uuid as _uuid

    from fastapi import APIRouter, FastAPI
    from fastapi.testclient import TestClient

    from services.gateway.dead_letters import add_dead_letters
    from shared.auth import Principal
    from shared.errors import install_problem_handlers

    class Verifier:
        async def verify(self, token):
            return Principal(user_id=_uuid.uuid4(), role=role, department_id=None, name="x", email="x@y.z")

    router, composer = APIRouter(), _Composer(answers)
    add_dead_letters(router, composer)
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(router)
    app.state.token_verifier = Verifier()
    return TestClient(app, headers={"Authorization": "Bearer t"}), composer


def _letter(consumer: str, letter_id: int, minute: int) -> dict:
    return {"id": letter_id, "consumer": consumer, "parked_at": f"2026-12-01T10:{minute:02d}:00Z"}


def test_the_composed_list_merges_every_service_newest_first_and_names_the_missing():
    answers = {s: {"items": [], "total": 0} for s in DEAD_LETTER_SERVICES}
    answers["tasks"] = {"items": [_letter("tasks.router", 7, 30), _letter("tasks.people", 2, 10)], "total": 2}
    answers["audit"] = {"items": [_letter("audit", 5, 20)], "total": 1}
    answers["contracts"] = None  # down
    client, composer = _composed(answers)
    body = client.get("/api/v1/dead-letters", params={"limit": 2, "offset": 1, "status": "any"}).json()
    assert [(i["consumer"], i["id"]) for i in body["items"]] == [("audit", 5), ("tasks.people", 2)]
    assert body["total"] == 3 and not body["complete"]
    assert [m["part"] for m in body["missing"]] == ["contracts"]
    assert {c.service for c in composer.calls} == set(DEAD_LETTER_SERVICES)
    assert ("limit", "3") in composer.calls[0].params and ("status", "any") in composer.calls[0].params

    client, composer = _composed(answers)
    client.get("/api/v1/dead-letters", params={"consumer": "tasks.router"})
    assert [c.service for c in composer.calls] == ["tasks"]


def test_the_composed_list_is_the_admins_and_pages_within_its_window():
    client, _ = _composed({}, role="Manager")
    assert client.get("/api/v1/dead-letters").status_code == 403
    client, _ = _composed({s: {"items": [], "total": 0} for s in DEAD_LETTER_SERVICES})
    response = client.get("/api/v1/dead-letters", params={"limit": 150, "offset": 100})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "query.offset"
