"""The documents service's rules: upload, new version and soft deletion of a record's documents, what an upload
must be (size, detected type), who may see and delete them, and the replica of the records documents belong to,
kept from their owners' events.

Functions flush but never commit; every change writes its event to the outbox in the same transaction. The
bytes reach the blob store before the metadata commits; if the transaction then fails, the stored bytes are
removed again, so a listed document always has its bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from services.documents import access
from services.documents import repository as repo
from services.documents.files import SNIFF_BYTES, detect_content_type, sanitise_filename
from services.documents.models import Document, DocumentVersion, OwnerRecord, messaging
from services.documents.settings import DocumentsSettings
from services.documents.storage import BlobStore, new_key
from shared import clock
from shared.auth import Principal
from shared.contracts.clients import ClientCreated, ClientUpdated
from shared.contracts.contracts import ContractCreated
from shared.contracts.documents import DocumentDeleted, DocumentUploaded, DocumentVersioned
from shared.contracts.pipeline import OpportunityOpened, OpportunityUpdated, StageAdvanced
from shared.contracts.tasks import TaskCreated, TaskReassigned
from shared.errors import Forbidden, InvalidInput, NotFound, Problem
from shared.messaging.envelope import Envelope
from shared.messaging.outbox import Outbox
from shared.middleware import PayloadTooLarge

outbox = Outbox("documents", messaging.outbox)

READ_CHUNK = 256 * 1024


class UnsupportedMediaType(Problem):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


@dataclass(frozen=True)
class Incoming:
    """An uploaded file, checked: its facts, and the file to store (positioned at its start)."""

    upload: UploadFile
    filename: str
    size: int
    sha256: str
    content_type: str


async def inspect_upload(upload: UploadFile, settings: DocumentsSettings) -> Incoming:
    """Read the upload once, in chunks: its size (413 past the limit), SHA-256 and type from its first bytes
    (415 outside the allow-list). The multipart parser has already spooled it to disk past a megabyte."""
    digest = hashlib.sha256()
    size = 0
    head = b""
    await upload.seek(0)
    while chunk := await upload.read(READ_CHUNK):
        size += len(chunk)
        if size > settings.documents_max_upload_bytes:
            raise PayloadTooLarge(
                f"a document may have at most {settings.documents_max_upload_bytes} bytes",
                errors=[{"field": "body.file", "message": "the file is too large"}],
            )
        digest.update(chunk)
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
    if size == 0:
        raise InvalidInput.for_field("body.file", "the file is empty")
    content_type = detect_content_type(head)
    if content_type not in settings.allowed_types:
        raise UnsupportedMediaType(
            f"the file's content is {content_type}, which is not accepted; accepted: "
            f"{', '.join(sorted(settings.allowed_types))}",
            errors=[{"field": "body.file", "message": f"content type {content_type} is not accepted"}],
            detected_content_type=content_type,
        )
    await upload.seek(0)
    return Incoming(
        upload=upload,
        filename=sanitise_filename(upload.filename),
        size=size,
        sha256=digest.hexdigest(),
        content_type=content_type,
    )


async def visible_record(
    session: AsyncSession, caller: Principal, owner_type: str, owner_id: uuid.UUID, *, wait_seconds: float = 0.0
) -> OwnerRecord:
    """The owning record if the caller may see it, else 404 (as its own service would answer). A record not
    in the replica yet is waited for up to `wait_seconds` (its creation event may be on its way)."""
    deadline = time.monotonic() + wait_seconds
    record = await repo.get_record(session, owner_type, owner_id)
    while record is None and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
        record = await repo.get_record(session, owner_type, owner_id)
    if record is None or not access.can_see(caller, record, await _client_of(session, record)):
        raise NotFound(f"no {owner_type} {owner_id}")
    return record


async def _client_of(session: AsyncSession, record: OwnerRecord) -> OwnerRecord | None:
    if record.owner_type != "contract" or record.client_id is None:
        return None
    return await repo.get_record(session, "client", record.client_id)


async def visible_document(session: AsyncSession, caller: Principal, document_id: uuid.UUID) -> Document:
    """A live document whose owning record the caller may see, else 404."""
    document = await repo.get_document(session, document_id)
    if document is None:
        raise NotFound(f"no document {document_id}")
    try:
        await visible_record(session, caller, document.owner_type, document.owner_id)
    except NotFound:
        raise NotFound(f"no document {document_id}") from None
    return document


def _event_fields(document: Document, version: DocumentVersion) -> dict[str, Any]:
    return {
        "document_id": document.id,
        "owner_type": document.owner_type,
        "owner_id": document.owner_id,
        "client_id": document.client_id,
        "document_type": document.document_type,
        "filename": version.filename,
        "document_version": version.version,
        "size": version.size,
        "sha256": version.sha256,
        "content_type": version.content_type,
    }


async def _store(store: BlobStore, incoming: Incoming) -> str:
    key = new_key()
    await store.put(key, incoming.upload.file)
    return key


async def upload(
    session: AsyncSession,
    store: BlobStore,
    caller: Principal,
    *,
    owner_type: str,
    owner_id: uuid.UUID,
    document_type: str,
    incoming: Incoming,
    settings: DocumentsSettings,
) -> tuple[Document, DocumentVersion]:
    record = await visible_record(
        session, caller, owner_type, owner_id, wait_seconds=settings.documents_owner_wait_seconds
    )
    now = clock.now()
    document = Document(
        id=uuid.uuid4(),
        owner_type=owner_type,
        owner_id=owner_id,
        client_id=record.client_id,
        document_type=document_type,
        current_version=1,
        created_by=caller.user_id,
        created_at=now,
        updated_at=now,
    )
    key = await _store(store, incoming)
    try:
        version = _version(document, 1, key, incoming, caller)
        repo.add(session, document)
        await session.flush()
        repo.add(session, version)
        await session.flush()
        await outbox.add(
            session,
            DocumentUploaded(**_event_fields(document, version), uploaded_by=caller.user_id),
            subject=str(document.id),
        )
    except BaseException:
        await store.delete(key)
        raise
    return document, version


def _version(document: Document, number: int, key: str, incoming: Incoming, caller: Principal) -> DocumentVersion:
    return DocumentVersion(
        document_id=document.id,
        version=number,
        storage_key=key,
        filename=incoming.filename,
        content_type=incoming.content_type,
        size=incoming.size,
        sha256=incoming.sha256,
        uploaded_by=caller.user_id,
        uploaded_at=clock.now(),
    )


async def add_version(
    session: AsyncSession, store: BlobStore, caller: Principal, document_id: uuid.UUID, incoming: Incoming
) -> tuple[Document, DocumentVersion]:
    await visible_document(session, caller, document_id)
    # Locked, so two new versions at once get numbers one after the other.
    document = await repo.get_document(session, document_id, for_update=True)
    if document is None:
        raise NotFound(f"no document {document_id}")
    key = await _store(store, incoming)
    try:
        previous = document.current_version
        version = _version(document, previous + 1, key, incoming, caller)
        repo.add(session, version)
        document.current_version = version.version
        document.updated_at = clock.now()
        await session.flush()
        await outbox.add(
            session,
            DocumentVersioned(
                **_event_fields(document, version), uploaded_by=caller.user_id, previous_version=previous
            ),
            subject=str(document.id),
        )
    except BaseException:
        await store.delete(key)
        raise
    return document, version


async def delete(session: AsyncSession, caller: Principal, document_id: uuid.UUID, reason: str | None) -> None:
    """Soft: the document is no longer listed or served; its versions (and bytes) are kept for the record."""
    document = await visible_document(session, caller, document_id)
    if not access.can_delete(caller, document):
        raise Forbidden("only the Admin, a Manager or the person who uploaded it may delete a document")
    version = await repo.get_version(session, document.id, document.current_version)
    assert version is not None
    now = clock.now()
    document.deleted_at = now
    document.deleted_by = caller.user_id
    document.delete_reason = reason
    document.updated_at = now
    await session.flush()
    await outbox.add(
        session,
        DocumentDeleted(**_event_fields(document, version), deleted_by=caller.user_id, deleted_at=now, reason=reason),
        subject=str(document.id),
    )


async def current_version(session: AsyncSession, document: Document, number: int | None) -> DocumentVersion:
    version = await repo.get_version(session, document.id, number or document.current_version)
    if version is None:
        raise NotFound(f"document {document.id} has no version {number}")
    return version


async def read_bytes(store: BlobStore, version: DocumentVersion) -> AsyncIterator[bytes]:
    async for chunk in store.read(version.storage_key):
        yield chunk


# The replica of the records documents belong to ----------------------------------------------------------------


def _uuid(value: Any) -> uuid.UUID | None:
    return uuid.UUID(str(value)) if value else None


async def on_client_created(session: AsyncSession, envelope: Envelope, data: ClientCreated) -> None:
    values = {"client_id": data.client_id, "department_id": data.department_id, "updated_at": clock.now()}
    await repo.upsert_record(session, "client", data.client_id, values)


async def on_client_updated(session: AsyncSession, envelope: Envelope, data: ClientUpdated) -> None:
    if "department_id" in data.changes:
        values = {"department_id": _uuid(data.changes["department_id"].after), "updated_at": clock.now()}
        await repo.update_record(session, "client", data.client_id, values)


async def on_opportunity_opened(session: AsyncSession, envelope: Envelope, data: OpportunityOpened) -> None:
    values = {
        "client_id": data.client_id,
        "department_id": data.department_id,
        "stage_department_id": data.stage.department_id,
        "person_id": data.owner_id,
        "stage_key": data.stage.key,
        "updated_at": clock.now(),
    }
    await repo.upsert_record(session, "deal", data.opportunity_id, values)


async def on_opportunity_updated(session: AsyncSession, envelope: Envelope, data: OpportunityUpdated) -> None:
    values: dict[str, Any] = {}
    if "owner_id" in data.changes:
        values["person_id"] = _uuid(data.changes["owner_id"].after)
    if "department_id" in data.changes:
        values["department_id"] = _uuid(data.changes["department_id"].after)
    if values:
        await repo.update_record(session, "deal", data.opportunity_id, {**values, "updated_at": clock.now()})


async def on_stage_advanced(session: AsyncSession, envelope: Envelope, data: StageAdvanced) -> None:
    values = {
        "client_id": data.client_id,
        "stage_department_id": data.to_stage.department_id,
        "person_id": data.owner_id,
        "stage_key": data.to_stage.key,
        "updated_at": clock.now(),
    }
    await repo.upsert_record(session, "deal", data.opportunity_id, values)


async def on_task_created(session: AsyncSession, envelope: Envelope, data: TaskCreated) -> None:
    values = {
        "client_id": data.client_id,
        "department_id": data.department_id,
        "person_id": data.assignee_id,
        "updated_at": clock.now(),
    }
    await repo.upsert_record(session, "task", data.task_id, values)


async def on_task_reassigned(session: AsyncSession, envelope: Envelope, data: TaskReassigned) -> None:
    values = {"department_id": data.department_id, "person_id": data.assignee_id, "updated_at": clock.now()}
    await repo.update_record(session, "task", data.task_id, values)


async def on_contract_created(session: AsyncSession, envelope: Envelope, data: ContractCreated) -> None:
    values = {
        "client_id": data.client_id,
        "department_id": data.department_id,
        "person_id": data.specialist_id,
        "updated_at": clock.now(),
    }
    await repo.upsert_record(session, "contract", data.contract_id, values)
