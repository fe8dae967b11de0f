"""A data subject's rights on the running platform (issue 16): the Art. 15 export of a client who is a person gathers
every service's part (JSON, and a PDF that renders), and the privacy service's `privacy.subject.erased` (published
here as it would publish it) makes every service show "erased" where the person was, once."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid

import pytest

from devstack.seed import ADMIN
from services.gateway.privacy_export import EXPORT_SERVICES
from shared.contracts.privacy import ERASED, SubjectErased
from tests.conftest import assert_problem, wait_until
from tests.integration.clients_contracts_helpers import (
    SALES_MANAGER,
    create_client,
    create_contract,
    headers_for,
    line_named,
    tag,
)

pytestmark = pytest.mark.stack


@pytest.fixture
async def person(gateway):
    """A client who is a person, with a deal, a task with a comment and a contract, each naming them (Sales)."""
    manager = await headers_for(gateway, SALES_MANAGER)
    name = f"Eleni Privacy{tag()}"
    client = await create_client(
        gateway,
        manager,
        kind="individual",
        name=name,
        email=f"eleni.{tag()}@example.com",
        phone="+30 210 555 0101",
        address="Odos Ermou 1, Athens",
    )
    line = await line_named(gateway, manager, "Marine")
    deal = await gateway.post(
        "/api/v1/opportunities",
        headers=manager,
        json={"client_id": client["id"], "line_id": line["id"], "title": f"Yacht cover for {name}"},
    )
    assert deal.status_code == 201, deal.text
    task = await gateway.post(
        "/api/v1/tasks", headers=manager, json={"title": f"Call {name} back", "client_id": client["id"]}
    )
    assert task.status_code == 201, task.text
    comment = await gateway.post(
        f"/api/v1/tasks/{task.json()['id']}/comments", headers=manager, json={"body": f"{name} asked for a quote"}
    )
    assert comment.status_code == 201, comment.text
    contract = await create_contract(gateway, manager, client["id"])
    return {
        "name": name,
        "manager": manager,
        "client": client,
        "deal": deal.json(),
        "task": task.json(),
        "contract": contract,
    }


async def test_a_persons_export_holds_every_service_then_an_erasure_shows_erased_everywhere_once(
    gateway, person, publish_event, tmp_path
):
    admin = await headers_for(gateway, ADMIN)
    manager, client, name = person["manager"], person["client"], person["name"]
    url = f"/api/v1/privacy/subjects/client/{client['id']}/export"

    async def export_with_every_part():
        response = await gateway.get(url, headers=admin, params={"format": "json"})
        assert response.status_code == 200, response.text
        parts = {p["service"]: p for p in response.json()["services"]}
        records = {service: part["records"] for service, part in parts.items()}
        ready = (
            records["pipeline"]["deals"]
            and records["tasks"]["comments"]
            and records["contracts"]["contracts"]
            and records["documents"]["records"]
            and records["notifications"]["notifications"]
            and {r["event_type"] for r in records["audit"]["records"]}
            >= {"clients.client.created", "pipeline.opportunity.opened", "tasks.task.commented"}
        )
        return response.json() if ready else None

    export = await wait_until(export_with_every_part, timeout=60, what="every service's part of the export")
    assert [p["service"] for p in export["services"]] == list(EXPORT_SERVICES)
    parts = {p["service"]: p for p in export["services"]}
    assert parts["clients"]["records"]["profile"][0]["email"] == client["email"]
    assert [d["id"] for d in parts["pipeline"]["records"]["deals"]] == [person["deal"]["id"]]
    # The ticket, and the deal's task routing opened.
    assert person["task"]["id"] in [t["id"] for t in parts["tasks"]["records"]["tasks"]]
    assert parts["tasks"]["records"]["comments"][0]["body"] == f"{name} asked for a quote"
    assert [c["id"] for c in parts["contracts"]["records"]["contracts"]] == [person["contract"]["id"]]
    assert parts["contracts"]["records"]["versions"], "the contract's base version"
    assert parts["identity"]["records"] == {}
    for part in export["services"][1:]:  # identity holds nothing about a client: nothing to declare
        processing = part["processing"]
        assert processing["purposes"] and processing["recipients"] and processing["retention"] and processing["source"]
    # Admin only; an unknown subject is 404.
    assert_problem(await gateway.get(url, headers=manager), 403)
    assert_problem(await gateway.get(f"/api/v1/privacy/subjects/client/{uuid.uuid4()}/export", headers=admin), 404)

    response = await gateway.get(url, headers=admin, params={"format": "pdf"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "export.pdf"
    pdf.write_bytes(response.content)
    assert shutil.which("pdftotext"), "make pdftools installs poppler-utils"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True).stdout
    assert name in text and "Purposes of the processing (Art. 15(1)(a))" in text
    for service in EXPORT_SERVICES:
        assert f"The {service} service" in text, service
    subprocess.run(["pdftoppm", "-png", "-r", "30", "-l", "1", str(pdf), str(tmp_path / "p")], check=True)
    assert list(tmp_path.glob("p*.png"))

    erasure = SubjectErased(subject_kind="client", subject_id=client["id"], request_id=uuid.uuid4(), kept=[])
    await publish_event(erasure, subject=client["id"], source="privacy")

    async def part_of(service: str) -> dict:
        parts = (await gateway.get(url, headers=admin)).json()["services"]
        return next(part for part in parts if part["service"] == service)

    async def shown():
        return {
            "client": (await gateway.get(f"/api/v1/clients/{client['id']}", headers=manager)).json(),
            "deals": (
                await gateway.get("/api/v1/opportunities", headers=manager, params={"client_id": client["id"]})
            ).json()["items"],
            "task": (await gateway.get(f"/api/v1/tasks/{person['task']['id']}", headers=manager)).json(),
            "comments": (await gateway.get(f"/api/v1/tasks/{person['task']['id']}/comments", headers=manager)).json()[
                "items"
            ],
            "contract": (await gateway.get(f"/api/v1/contracts/{person['contract']['id']}", headers=manager)).json(),
            # The notifications go to whoever works the deal and the task: read through the export (Admin).
            "notifications": (await part_of("notifications"))["records"]["notifications"],
        }

    seen: dict = {}

    async def erased_everywhere():
        now = await shown()
        seen.update(now)
        done = (
            now["client"]["name"] == ERASED
            and [d["client_name"] for d in now["deals"]] == [ERASED]
            and now["task"]["client_name"] == ERASED
            and now["contract"]["client_name"] == ERASED
            and now["notifications"]
            and all(n["body"] == ERASED for n in now["notifications"])
        )
        return now if done else None

    try:
        after = await wait_until(erased_everywhere, timeout=60, what='"erased" in every service')
    except AssertionError as timed_out:
        raise AssertionError(f"{timed_out}; what they showed last: {seen}") from None
    assert (after["client"]["email"], after["client"]["phone"], after["client"]["address"]) == (None, None, None)
    assert after["client"]["tax_id"] is None and after["client"]["erased_at"]
    assert after["deals"][0]["title"] == f"Yacht cover for {ERASED}"
    assert after["task"]["title"] == f"Call {ERASED} back"
    assert [c["body"] for c in after["comments"]] == [f"{ERASED} asked for a quote"]
    assert all(n["title"].endswith(f": {ERASED}") for n in after["notifications"])
    assert name not in str(after)
    refused = assert_problem(
        await gateway.patch(f"/api/v1/clients/{client['id']}", headers=manager, json={"name": name}), 409
    )
    assert refused["errors"] == [{"field": "body.name", "message": "erased"}]

    # A second erasure changes nothing more (the audit trail records it: every service has had it by then too).
    second = await publish_event(erasure, subject=client["id"], source="privacy")

    async def recorded():
        response = await gateway.get(f"/api/v1/audit/records/{second.id}", headers=admin)
        return response.status_code == 200

    await wait_until(recorded, timeout=30, what="the second erasure in the audit trail")
    await asyncio.sleep(3)  # the services' consumers, each on its own
    assert await shown() == after
