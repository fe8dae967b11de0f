"""Documents and data-subject rights: `privacy.subject.erased` renames the versions of an erased client's documents
(their names often name the person), deletes the documents and their bytes, but those of a kept contract, once; the
export part holds the metadata."""

from __future__ import annotations

import io
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from services.documents.models import Document, DocumentVersion
from services.documents.privacy import ERASURE_REASON, collect
from services.documents.settings import DocumentsSettings
from services.documents.storage import LocalStore
from services.documents.subscriptions import consumers
from tests import events
from tests.bus import consumer_bus, consumer_named, consumer_of, handles


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("documents", consumer_of("documents", "documents"), sessionmaker) as bus:
        yield bus


async def a_document(session, client_id, owner_type: str, owner_id, filename: str) -> Document:
    now, user = datetime.now(UTC), uuid.uuid4()
    document = Document(
        id=uuid.uuid4(),
        owner_type=owner_type,
        owner_id=owner_id,
        client_id=client_id,
        document_type="id_card",
        current_version=1,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    session.add(document)
    await session.flush()
    session.add(
        DocumentVersion(
            document_id=document.id,
            version=1,
            storage_key=uuid.uuid4().hex,
            filename=filename,
            content_type="application/pdf",
            size=10,
            sha256="0" * 64,
            uploaded_by=user,
            uploaded_at=now,
        )
    )
    await session.flush()
    return document


async def filename_of(session, document: Document) -> str:
    version = await session.scalar(select(DocumentVersion).where(DocumentVersion.document_id == document.id))
    await session.refresh(version)
    return version.filename


@handles("documents", "privacy.subject.erased")
async def test_an_erased_clients_documents_are_renamed_but_a_kept_contracts(bus, session):
    client_id, contract_id = uuid.uuid4(), uuid.uuid4()
    card = await a_document(session, client_id, "client", client_id, "Eleni Papadopoulou - ID.pdf")
    policy = await a_document(session, client_id, "contract", contract_id, "Eleni policy.pdf")
    other = await a_document(session, uuid.uuid4(), "client", uuid.uuid4(), "Someone else.pdf")

    erasure = events.subject_erased(client_id, kept=[events.kept("contract", contract_id)])
    envelope = await bus.publish(erasure, subject=str(client_id))
    assert await filename_of(session, card) == "erased.pdf"
    assert await filename_of(session, policy) == "Eleni policy.pdf"
    assert await filename_of(session, other) == "Someone else.pdf"
    await bus.redeliver(envelope)
    await bus.publish(events.subject_erased(client_id), subject=str(client_id))  # now the contract too
    assert await filename_of(session, policy) == "erased.pdf"
    assert not await bus.dead_letters(session)


@handles("documents", "privacy.subject.erased")
async def test_an_erased_clients_document_bytes_leave_the_store_and_the_document_is_deleted(
    sessionmaker, session, tmp_path
):
    store = LocalStore(tmp_path / "blobs")
    spec = consumer_named(consumers(DocumentsSettings(), store), "documents")
    client_id, contract_id = uuid.uuid4(), uuid.uuid4()
    card = await a_document(session, client_id, "client", client_id, "Eleni Papadopoulou - ID.pdf")
    policy = await a_document(session, client_id, "contract", contract_id, "Eleni policy.pdf")
    keys = {}
    for document in (card, policy):
        version = await session.scalar(select(DocumentVersion).where(DocumentVersion.document_id == document.id))
        keys[document.id] = version.storage_key
        await store.put(version.storage_key, io.BytesIO(b"%PDF-1.4 a scan"))

    async with consumer_bus("documents", spec, sessionmaker) as bus:
        erasure = events.subject_erased(client_id, kept=[events.kept("contract", contract_id)])
        envelope = await bus.publish(erasure, subject=str(client_id))
        await bus.redeliver(envelope)  # once more: the bytes are gone already, nothing fails
        assert not await bus.dead_letters(session)

    assert not store._path(keys[card.id]).exists()  # the ID scan is gone from the store
    assert [chunk async for chunk in store.read(keys[policy.id])] == [b"%PDF-1.4 a scan"]  # kept with its contract
    await session.refresh(card)
    await session.refresh(policy)
    assert (card.deleted_at is not None, card.delete_reason) == (True, ERASURE_REASON)
    assert policy.deleted_at is None


async def test_the_export_part_holds_the_documents_metadata(session):
    client_id = uuid.uuid4()
    card = await a_document(session, client_id, "client", client_id, "id.pdf")
    part = await collect(session, "client", client_id)
    assert [d["id"] for d in part["documents"]] == [str(card.id)]
    assert part["versions"][0]["filename"] == "id.pdf" and "storage_key" not in part["versions"][0]
    assert await collect(session, "user", uuid.uuid4()) == {}
