"""`shared.privacy`: a service's part of a subject's export is for an Admin's token alone; names are scrubbed as whole
words in any case; a record is its columns as JSON."""

from __future__ import annotations

import uuid

import httpx
import pytest
from fastapi import FastAPI

from shared.auth import Principal, current_user
from shared.db import get_session
from shared.errors import NotFound, install_problem_handlers
from shared.privacy.rights import Processing, erased_email, kept_ids, privacy_router, scrub
from tests import events

PROCESSING = {
    "client": Processing(purposes=["p"], categories=["c"], recipients=["r"], retention="t", source="s"),
}


async def collect(session, kind, subject_id):
    if subject_id.int == 0:
        raise NotFound("no such subject")
    return {"things": [{"id": str(subject_id), "kind": kind}]}


@pytest.mark.parametrize(
    ("role", "status"), [("Employee", 403), ("Manager", 403), ("Admin", 200)], ids=["employee", "manager", "admin"]
)
async def test_the_part_of_an_export_is_for_an_admin_alone(role, status):
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(privacy_router("clients", PROCESSING, collect))
    app.dependency_overrides[current_user] = lambda: Principal(uuid.uuid4(), role, None, "X", "x@example.com")
    app.dependency_overrides[get_session] = lambda: None
    subject = uuid.uuid4()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        response = await client.get(f"/internal/privacy/subjects/client/{subject}")
        assert response.status_code == status, response.text
        if status == 200:
            body = response.json()
            assert (body["service"], body["records"]["things"][0]["id"]) == ("clients", str(subject))
            assert body["processing"]["purposes"] == ["p"]
            user = (await client.get(f"/internal/privacy/subjects/user/{subject}")).json()
            assert user["processing"]["retention"] == "nothing is held"
            assert (await client.get(f"/internal/privacy/subjects/client/{uuid.UUID(int=0)}")).status_code == 404
            assert (await client.get(f"/internal/privacy/subjects/person/{subject}")).status_code == 422


def test_names_are_scrubbed_as_whole_words_in_any_case():
    assert scrub("Call ELENI about Eleni's car; Elenis", ["Eleni"]) == "Call erased about erased's car; Elenis"
    assert scrub("Fleet (A.B.) cover", ["A.B."]) == "Fleet (erased) cover"
    assert scrub(None, ["x"]) is None and scrub("text", [None, "", "erased", "x"]) == "text"


def test_kept_parts_and_the_erased_email():
    contract = uuid.uuid4()
    erasure = events.subject_erased(uuid.uuid4(), kept=[events.kept("contract", contract)])
    assert kept_ids(erasure, "contract") == {contract} and kept_ids(erasure, "deal") == set()
    assert erased_email(contract).endswith("@erased.invalid")
