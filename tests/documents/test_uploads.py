"""Uploads, versions and soft deletion at the service layer, on the real database and a real folder as the blob
store: what an upload must be (size, type detected from its bytes), who may add to and see a record's documents,
and the events each change leaves in the outbox."""

from __future__ import annotations

import hashlib
import io
import json
import uuid

import pytest
from fastapi import UploadFile
from sqlalchemy import select

from services.documents import repository as repo
from services.documents import service
from services.documents.files import content_disposition, sanitise_filename
from services.documents.models import messaging
from services.documents.settings import DocumentsSettings
from services.documents.storage import LocalStore
from shared.auth import Principal
from shared.errors import Forbidden, InvalidInput, NotFound
from shared.middleware import PayloadTooLarge
from shared.pagination import PageParams
from tests.documents.files import pdf, windows_executable

pytestmark = pytest.mark.usefixtures("acting")


def person(role: str, department: uuid.UUID | None) -> Principal:
    return Principal(user_id=uuid.uuid4(), role=role, department_id=department, name=role, email="p@x.io")  # type: ignore[arg-type]


def upload_of(data: bytes, filename: str = "scan.pdf") -> UploadFile:
    return UploadFile(file=io.BytesIO(data), filename=filename, size=len(data))


@pytest.fixture
def settings(tmp_path) -> DocumentsSettings:
    return DocumentsSettings(documents_storage_dir=str(tmp_path), documents_owner_wait_seconds=0)


@pytest.fixture
def store(settings) -> LocalStore:
    from pathlib import Path

    return LocalStore(Path(settings.documents_storage_dir))


async def a_deal(session, department: uuid.UUID) -> uuid.UUID:
    deal, client = uuid.uuid4(), uuid.uuid4()
    await repo.upsert_record(session, "client", client, {"client_id": client, "department_id": department})
    await repo.upsert_record(
        session, "deal", deal, {"client_id": client, "department_id": department, "person_id": uuid.uuid4()}
    )
    return deal


async def read_all(store: LocalStore, key: str) -> bytes:
    return b"".join([chunk async for chunk in store.read(key)])


async def outbox_events(session) -> list[dict]:
    rows = (await session.execute(select(messaging.outbox).order_by(messaging.outbox.c.id))).mappings()
    return [{"type": r["event_type"], "key": r["key"], **json.loads(r["payload"])} for r in rows]


async def test_an_upload_is_stored_whole_with_its_facts_and_announced(session, settings, store):
    sales = uuid.uuid4()
    deal = await a_deal(session, sales)
    data = pdf(b"x" * 300_000)  # past one read chunk
    uploader = person("Employee", sales)
    incoming = await service.inspect_upload(upload_of(data, "../../etc/Πρόταση\x00 υπογεγραμμένη.pdf"), settings)
    document, version = await service.upload(
        session,
        store,
        uploader,
        owner_type="deal",
        owner_id=deal,
        document_type="signed_proposal",
        incoming=incoming,
        settings=settings,
    )
    assert (version.size, version.sha256, version.content_type) == (
        len(data),
        hashlib.sha256(data).hexdigest(),
        "application/pdf",
    )
    assert version.filename == "Πρόταση_ υπογεγραμμένη.pdf"
    assert await read_all(store, version.storage_key) == data
    [event] = await outbox_events(session)
    assert event["type"] == "documents.document.uploaded" and event["key"] == str(document.id)
    assert (event["owner_type"], event["owner_id"], event["document_version"]) == ("deal", str(deal), 1)
    assert event["client_id"] == str(document.client_id) and event["uploaded_by"] == str(uploader.user_id)


async def test_a_file_past_the_limit_is_413_an_executable_is_415_whatever_its_name_and_empty_is_422(settings):
    small = settings.model_copy(update={"documents_max_upload_bytes": 1000})
    with pytest.raises(PayloadTooLarge):
        await service.inspect_upload(upload_of(pdf(b"y" * 1000)), small)
    with pytest.raises(service.UnsupportedMediaType) as refused:
        await service.inspect_upload(upload_of(windows_executable(), "invoice.pdf"), settings)
    assert refused.value.status == 415 and refused.value.errors == [
        {
            "field": "body.file",
            "message": f"content type {refused.value.extra['detected_content_type']} is not accepted",
        }
    ]
    with pytest.raises(InvalidInput):
        await service.inspect_upload(upload_of(b""), settings)
    accepted = await service.inspect_upload(upload_of(pdf()), small)
    assert accepted.content_type == "application/pdf"


async def test_another_departments_employee_neither_adds_nor_sees_nor_lists(session, settings, store):
    sales, claims = uuid.uuid4(), uuid.uuid4()
    deal = await a_deal(session, sales)
    outsider = person("Employee", claims)
    incoming = await service.inspect_upload(upload_of(pdf()), settings)
    with pytest.raises(NotFound):
        await service.upload(
            session,
            store,
            outsider,
            owner_type="deal",
            owner_id=deal,
            document_type="risk_questionnaire",
            incoming=incoming,
            settings=settings,
        )
    with pytest.raises(NotFound):  # a record nobody told this service of
        await service.upload(
            session,
            store,
            person("Admin", None),
            owner_type="deal",
            owner_id=uuid.uuid4(),
            document_type="risk_questionnaire",
            incoming=incoming,
            settings=settings,
        )
    document, _ = await service.upload(
        session,
        store,
        person("Employee", sales),
        owner_type="deal",
        owner_id=deal,
        document_type="risk_questionnaire",
        incoming=incoming,
        settings=settings,
    )
    with pytest.raises(NotFound):
        await service.visible_document(session, outsider, document.id)
    page = PageParams(limit=50, offset=0, sort=None)
    filters = repo.DocumentFilters(owner_type="deal", owner_id=deal)
    assert (await repo.list_documents(session, page, filters, outsider))[1] == 0
    [(listed, _)] = (await repo.list_documents(session, page, filters, person("Manager", sales)))[0]
    assert listed.id == document.id
    by_client = repo.DocumentFilters(client_id=document.client_id)
    assert (await repo.list_documents(session, page, by_client, person("Admin", None)))[1] == 1


async def test_versions_count_up_keep_the_old_bytes_and_a_soft_delete_is_announced(session, settings, store):
    sales = uuid.uuid4()
    deal = await a_deal(session, sales)
    uploader, colleague, manager = person("Employee", sales), person("Employee", sales), person("Manager", sales)
    first = await service.inspect_upload(upload_of(pdf(b"first")), settings)
    document, v1 = await service.upload(
        session,
        store,
        uploader,
        owner_type="deal",
        owner_id=deal,
        document_type="previous_policy",
        incoming=first,
        settings=settings,
    )
    second = await service.inspect_upload(upload_of(pdf(b"second"), "policy-2.pdf"), settings)
    document, v2 = await service.add_version(session, store, colleague, document.id, second)
    assert (v2.version, document.current_version, v2.filename) == (2, 2, "policy-2.pdf")
    assert await read_all(store, v1.storage_key) == pdf(b"first")
    assert [v.version for v in await repo.versions_of(session, document.id)] == [2, 1]

    with pytest.raises(Forbidden):  # a colleague who did not upload it
        await service.delete(session, colleague, document.id, "wrong file")
    await service.delete(session, manager, document.id, "wrong file")
    with pytest.raises(NotFound):
        await service.visible_document(session, uploader, document.id)
    types = [(e["type"], e["document_version"]) for e in await outbox_events(session)]
    assert types == [
        ("documents.document.uploaded", 1),
        ("documents.document.versioned", 2),
        ("documents.document.deleted", 2),
    ]
    deleted = (await outbox_events(session))[-1]
    assert (deleted["deleted_by"], deleted["reason"]) == (str(manager.user_id), "wrong file")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("report.pdf", "report.pdf"),
        ("C:\\Users\\me\\scan.pdf", "scan.pdf"),
        ("../../.hidden", "hidden"),
        ('a<b>c:"d"|e?.pdf', "a_b_c_d_e_.pdf"),
        ("", "document"),
        ("x" * 300 + ".docx", "x" * 195 + ".docx"),
    ],
)
def test_filenames_are_sanitised(given, kept):
    assert sanitise_filename(given) == kept


def test_content_disposition_carries_any_name_safely():
    assert content_disposition("Πρόταση.pdf") == (
        "attachment; filename=\"_______.pdf\"; filename*=UTF-8''%CE%A0%CF%81%CF%8C%CF%84%CE%B1%CF%83%CE%B7.pdf"
    )


@pytest.mark.parametrize("content_type", ["multipart/form-data; boundary=x", "multipart/form-data"])
async def test_a_body_that_is_not_a_readable_multipart_form_is_a_documented_400_problem(content_type):
    import httpx

    from services.documents.app import create_app

    app = create_app(DocumentsSettings())
    documented = app.openapi()["paths"]["/api/v1/documents/{document_id}/versions"]["post"]["responses"]
    assert "400" in documented
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://documents") as client:
        answer = await client.post(
            f"/api/v1/documents/{uuid.uuid4()}/versions",
            headers={"content-type": content_type, "authorization": "Bearer unused"},
            content=b"not a form",
        )
    assert answer.status_code == 400 and answer.headers["content-type"] == "application/problem+json"
