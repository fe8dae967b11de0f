"""Documents end to end through the gateway: an upload is stored and served back byte for byte with the same
SHA-256 (and its new version too); a 30 MB file is refused with 413, an executable renamed `.pdf` with 415;
an Employee of another department gets 404 on the document and does not see it listed; Client 360 lists it;
a soft deletion hides it and, like the upload, reaches the client's audit trail."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time

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

MIB = 1024 * 1024


async def _upload(gateway: httpx.AsyncClient, headers, deal_id: str, data: bytes, name: str = "questionnaire.pdf"):
    return await gateway.post(
        "/api/v1/documents",
        headers=headers,
        params={"owner_type": "deal", "owner_id": deal_id, "document_type": "risk_questionnaire"},
        files={"file": (name, data, "application/pdf")},
    )


async def _raw_upload(base_url: str, target: str, authorization: str, size: int, *, chunked: bool):
    """POST a multipart upload of a `size`-byte PDF over a plain socket, as a browser would: with its length
    declared (only the head is sent: the answer must come before the body) or chunked (sent until the server
    answers). Returns (status, content type, whether the whole body went)."""
    host, _, port = base_url.removeprefix("http://").partition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    boundary = "insureops-test-boundary"
    opening = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
        "Content-Type: application/pdf\r\n\r\n"
    ).encode() + b"%PDF-1.4\n"
    head = (
        f"POST {target} HTTP/1.1\r\nHost: {host}\r\nAuthorization: {authorization}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
    )
    head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {len(opening) + size}\r\n\r\n"
    writer.write(head.encode())
    answer = asyncio.create_task(reader.readuntil(b"\r\n\r\n"))
    sent = 0
    try:
        if chunked:
            piece = opening + b"z" * (MIB - len(opening))
            while sent < size and not answer.done():
                writer.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
                sent += len(piece)
                piece = b"z" * MIB
                with contextlib.suppress(ConnectionError):
                    await asyncio.wait_for(writer.drain(), 30)
        answered = await asyncio.wait_for(answer, 30)
    finally:
        writer.close()
    status = int(answered.split(b" ", 2)[1])
    content_type = next(
        (
            line.split(b":", 1)[1].strip().decode()
            for line in answered.split(b"\r\n")
            if line.lower().startswith(b"content-type:")
        ),
        "",
    )
    return status, content_type, sent >= size


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

    # Limits: 30 MB is 413 (declared, refused before any byte of the body; or chunked, refused as it streams in,
    # long before its end), an executable named .pdf is 415, each problem+json.
    token = employee["Authorization"]
    query = f"owner_type=deal&owner_id={deal['id']}&document_type=risk_questionnaire"
    declared = await _raw_upload(
        stack.gateway_url, f"/api/v1/documents?{query}", token, 30 * 1000 * 1000, chunked=False
    )
    assert declared[0] == 413 and declared[1].startswith("application/problem+json"), declared
    streamed = await _raw_upload(stack.gateway_url, f"/api/v1/documents?{query}", token, 30 * 1000 * 1000, chunked=True)
    assert streamed[0] == 413 and streamed[1].startswith("application/problem+json"), streamed
    # Passed on as it arrives and cut off at the limit: a 200 MB stream is refused long before its end.
    endless = await _raw_upload(stack.gateway_url, f"/api/v1/documents?{query}", token, 200 * MIB, chunked=True)
    assert endless[0] == 413 and not endless[2], endless
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


async def _checklist_of(gateway: httpx.AsyncClient, headers, deal_id: str) -> dict:
    response = await gateway.get(f"/api/v1/opportunities/{deal_id}/checklist", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def _to_material_gathering(gateway: httpx.AsyncClient, manager) -> tuple[dict, dict]:
    client, deal = await _deal(gateway, manager)
    for stage in ("first_contact", "needs_analysis"):
        moved = await gateway.post(
            f"/api/v1/opportunities/{deal['id']}/advance", headers=manager, json={"from_stage": stage}
        )
        assert moved.status_code == 200, moved.text
    return client, moved.json()


async def _upload_type(gateway: httpx.AsyncClient, headers, deal_id: str, document_type: str) -> dict:
    response = await gateway.post(
        "/api/v1/documents",
        headers=headers,
        params={"owner_type": "deal", "owner_id": deal_id, "document_type": document_type},
        files={"file": (f"{document_type}.pdf", pdf(document_type.encode()), "application/pdf")},
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _set_auto_advance(gateway: httpx.AsyncClient, admin_headers, checklist: dict, on: bool) -> None:
    response = await gateway.put(
        "/api/v1/documents/checklists/material_gathering",
        headers=admin_headers,
        json={"requirements": checklist["requirements"], "auto_advance": on},
    )
    assert response.status_code == 200, response.text


async def test_the_last_required_document_advances_the_deal_and_routes_its_next_task(stack, gateway, admin_headers):
    manager = await headers_for(gateway, SALES_MANAGER)
    employee = await headers_for(gateway, SALES_EMPLOYEE)
    checklists = (await gateway.get("/api/v1/documents/checklists", headers=employee)).json()
    original = next(c for c in checklists if c["stage_key"] == "material_gathering")
    assert original["requirements"] == [
        ["proof_of_identity", "company_registration"],
        ["previous_policy"],
        ["risk_questionnaire"],
    ]
    try:
        await _set_auto_advance(gateway, admin_headers, original, True)
        _, deal = await _to_material_gathering(gateway, manager)

        # pipeline has the stage's checklist (from documents' event); an Employee may not advance without it.
        async def auto_advance_known():
            return (await _checklist_of(gateway, employee, deal["id"]))["auto_advance"]

        await wait_until(auto_advance_known, timeout=20, what="pipeline to learn the checklist's auto_advance")
        refused = await gateway.post(f"/api/v1/opportunities/{deal['id']}/advance", headers=employee)
        assert_problem(refused, 409)
        assert len(refused.json()["missing_documents"]) == 3

        await _upload_type(gateway, employee, deal["id"], "company_registration")
        await _upload_type(gateway, employee, deal["id"], "previous_policy")

        async def one_missing():
            checklist = await _checklist_of(gateway, employee, deal["id"])
            return checklist["missing"] == [["risk_questionnaire"]] and checklist

        checklist = await wait_until(one_missing, timeout=20, what="pipeline to count the first two documents")
        assert [r["present"] for r in checklist["requirements"]] == [True, True, False]

        started = time.monotonic()
        await _upload_type(gateway, employee, deal["id"], "risk_questionnaire")

        async def routed():
            tasks = await gateway.get(
                "/api/v1/tasks", headers=admin_headers, params={"opportunity_id": deal["id"], "limit": 50}
            )
            by_stage = {t["stage_key"]: t["status"] for t in tasks.json()["items"]}
            if by_stage.get("technical_assignment") == "open" and by_stage.get("material_gathering") == "done":
                return time.monotonic() - started
            return None

        delay = await wait_until(routed, timeout=10, interval=0.02, what="the next stage's task")
        assert delay < 2.0, f"the next task was routed {delay:.2f} s after the last document"
        timeline = (await gateway.get(f"/api/v1/opportunities/{deal['id']}/timeline", headers=manager)).json()
        last = timeline["entries"][-1]
        assert (last["from_stage"], last["to_stage"], last["actor"]) == (
            "material_gathering",
            "technical_assignment",
            "system:documents",
        )

        # With auto-advance off, a complete checklist moves nothing; a Manager may advance without documents.
        await _set_auto_advance(gateway, admin_headers, original, False)
        _, still = await _to_material_gathering(gateway, manager)

        async def auto_advance_off():
            return not (await _checklist_of(gateway, employee, still["id"]))["auto_advance"]

        await wait_until(auto_advance_off, timeout=20, what="pipeline to learn auto_advance is off")
        for document_type in ("proof_of_identity", "previous_policy", "risk_questionnaire"):
            await _upload_type(gateway, employee, still["id"], document_type)

        async def complete():
            return (await _checklist_of(gateway, employee, still["id"]))["complete"]

        await wait_until(complete, timeout=20, what="pipeline to count the three documents")
        await asyncio.sleep(1.0)
        now = (await gateway.get(f"/api/v1/opportunities/{still['id']}", headers=manager)).json()
        assert now["stage"]["key"] == "material_gathering"

        _, bare = await _to_material_gathering(gateway, manager)
        advanced = await gateway.post(
            f"/api/v1/opportunities/{bare['id']}/advance",
            headers=manager,
            json={"reason": "the client brings them to the meeting"},
        )
        assert advanced.status_code == 200, advanced.text
        entries = (await gateway.get(f"/api/v1/opportunities/{bare['id']}/timeline", headers=manager)).json()
        assert entries["entries"][-1]["reason"].startswith("the client brings them to the meeting (advanced without")
    finally:
        await _set_auto_advance(gateway, admin_headers, original, original["auto_advance"])
