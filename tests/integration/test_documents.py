"""Documents end to end through the gateway: an upload is stored and served back byte for byte with the same
SHA-256 (and its new version too); a 30 MB file is refused with 413, an executable renamed `.pdf` with 415;
an Employee of another department gets 404 on the document and does not see it listed; Client 360 lists it;
a soft deletion hides it and, like the upload, reaches the client's audit trail."""

from __future__ import annotations

import hashlib
import os

import httpx

from tests.conftest import assert_problem, wait_until
from tests.documents.files import pdf, windows_executable
from tests.integration.clients_contracts_helpers import (
    SALES_EMPLOYEE,
    SALES_MANAGER,
    TECH_EMPLOYEE,
    create_client,
    headers_for,
    line_named,
    tag,
)


async def _upload(gateway: httpx.AsyncClient, headers, deal_id: str, data: bytes, name: str = "questionnaire.pdf"):
    return await gateway.post(
        "/api/v1/documents",
        headers=headers,
        params={"owner_type": "deal", "owner_id": deal_id, "document_type": "risk_questionnaire"},
        files={"file": (name, data, "application/pdf")},
    )


async def _deal(gateway: httpx.AsyncClient, manager) -> tuple[dict, dict]:
    client = await create_client(gateway, manager, name=f"Documents Shipping {tag()}")
    line = await line_named(gateway, manager, "Auto")
    opened = await gateway.post(
        "/api/v1/opportunities",
        headers=manager,
        json={"client_id": client["id"], "line_id": line["id"], "title": f"Hull cover {tag()}"},
    )
    assert opened.status_code == 201, opened.text
    return client, opened.json()


async def test_upload_version_download_limits_scope_360_and_audit(stack, gateway, admin_headers):
    manager = await headers_for(gateway, SALES_MANAGER)
    employee = await headers_for(gateway, SALES_EMPLOYEE)
    outsider = await headers_for(gateway, TECH_EMPLOYEE)
    client, deal = await _deal(gateway, manager)

    # Upload (a few MB, past the gateway's buffers) and download byte for byte.
    data = pdf(os.urandom(3 * 1024 * 1024))
    uploaded = await _upload(gateway, employee, deal["id"], data, "Ερωτηματολόγιο κινδύνου.pdf")
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()
    assert (document["size"], document["sha256"], document["content_type"], document["version"]) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
        "application/pdf",
        1,
    )
    assert document["filename"] == "Ερωτηματολόγιο κινδύνου.pdf" and document["client_id"] == client["id"]
    downloaded = await gateway.get(f"/api/v1/documents/{document['id']}/content", headers=manager)
    assert downloaded.status_code == 200
    assert downloaded.content == data and hashlib.sha256(downloaded.content).hexdigest() == document["sha256"]
    assert downloaded.headers["content-type"] == "application/pdf"
    assert "filename*=UTF-8''" in downloaded.headers["content-disposition"]

    # A new version; both stay downloadable.
    second = pdf(os.urandom(100_000))
    versioned = await gateway.post(
        f"/api/v1/documents/{document['id']}/versions", headers=manager, files={"file": ("v2.pdf", second)}
    )
    assert versioned.status_code == 201, versioned.text
    assert (versioned.json()["version"], versioned.json()["sha256"]) == (2, hashlib.sha256(second).hexdigest())
    current = await gateway.get(f"/api/v1/documents/{document['id']}/content", headers=employee)
    first = await gateway.get(f"/api/v1/documents/{document['id']}/content?version=1", headers=employee)
    assert (current.content, first.content) == (second, data)
    detail = (await gateway.get(f"/api/v1/documents/{document['id']}", headers=employee)).json()
    assert [v["version"] for v in detail["versions"]] == [2, 1]

    # Limits: 30 MB is 413, an executable named .pdf is 415, both problem+json naming the file.
    too_large = await _upload(gateway, employee, deal["id"], pdf(b"z" * (30 * 1000 * 1000)))
    assert_problem(too_large, 413)
    exe = await _upload(gateway, employee, deal["id"], windows_executable(), "invoice.pdf")
    assert_problem(exe, 415, "body.file")

    # Another department's Employee: 404 on the document, its bytes and the deal; nothing listed.
    for path in (f"/api/v1/documents/{document['id']}", f"/api/v1/documents/{document['id']}/content"):
        assert_problem(await gateway.get(path, headers=outsider), 404)
    assert_problem(await _upload(gateway, outsider, deal["id"], pdf()), 404)
    listed = await gateway.get("/api/v1/documents", headers=outsider, params={"client_id": client["id"]})
    assert listed.status_code == 200 and listed.json()["total"] == 0
    mine = await gateway.get("/api/v1/documents", headers=employee, params={"owner_id": deal["id"]})
    assert [d["id"] for d in mine.json()["items"]] == [document["id"]]

    # Client 360 lists the client's documents (its deal's too).
    c360 = (await gateway.get(f"/api/v1/clients/{client['id']}/360", headers=manager)).json()
    assert [d["id"] for d in c360["documents"]["items"]] == [document["id"]]

    # A soft deletion (the Manager; not a colleague who did not upload it): gone from lists and downloads.
    colleague_delete = await gateway.delete(f"/api/v1/documents/{document['id']}", headers=outsider)
    assert_problem(colleague_delete, 404)
    deleted = await gateway.delete(
        f"/api/v1/documents/{document['id']}", headers=manager, params={"reason": "superseded by the broker's copy"}
    )
    assert deleted.status_code == 204, deleted.text
    assert_problem(await gateway.get(f"/api/v1/documents/{document['id']}/content", headers=manager), 404)

    # Upload, version and deletion are in the client's audit trail.
    async def trail():
        records = await gateway.get(
            "/api/v1/audit/records", headers=admin_headers, params={"client_id": client["id"], "limit": 200}
        )
        types = {r["event_type"] for r in records.json()["items"]}
        wanted = {"documents.document.uploaded", "documents.document.versioned", "documents.document.deleted"}
        return wanted <= types

    await wait_until(trail, timeout=20, what="the documents' events in the client's audit trail")
