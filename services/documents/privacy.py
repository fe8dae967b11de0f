"""Data-subject rights in documents (see `shared.privacy`): what it declares about its processing, what an erasure
does to the rows it holds, and its part of a subject's export.

A client subject: a file's name often names its person ("Eleni Papadopoulou - ID card.pdf"), so every version of
the client's documents (of the client, its deals, tasks and contracts) is renamed `erased.<extension>` — but the
documents of a record the erasure keeps (a contract within its retention period, or a document named in `kept`).
The files themselves are kept: whether a document must be kept is the privacy service's decision (`kept`); taking
the files out of storage is left to it. Users: documents hold only their ids. Nothing is published
(`shared.privacy`).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.documents.models import Document, DocumentVersion, OwnerRecord
from services.documents.storage import BlobStore
from shared import clock
from shared.contracts.privacy import ERASED, SubjectErased, SubjectKind
from shared.messaging.envelope import Envelope
from shared.privacy.rights import Processing, kept_ids, privacy_router, record

PROCESSING = {
    "client": Processing(
        purposes=["Keeping the documents the brokerage needs for the client's deals and contracts"],
        categories=["documents about the client (identity papers, proposals, policies) and their file names"],
        recipients=["The brokerage's employees who may see the record a document belongs to, and Admins"],
        retention="With the record it belongs to: a contract's documents for the contract's retention period",
        source="Uploaded by the brokerage's employees",
    ),
}


ERASURE_REASON = "erased: the client's data-subject erasure (GDPR Art. 17)"


def erased_filename(filename: str) -> str:
    _, dot, extension = filename.rpartition(".")
    return f"{ERASED}.{extension}" if dot and 0 < len(extension) <= 10 else ERASED


def erasure_handler(store: BlobStore) -> Callable[[AsyncSession, Envelope, SubjectErased], Awaitable[None]]:
    """The handler of privacy.subject.erased, deleting the bytes from `store`."""

    async def erase_subject(session: AsyncSession, envelope: Envelope, data: SubjectErased) -> None:
        """An erased client's documents (but those of what the erasure keeps): every version's file name becomes
        `erased.<ext>`, the document is deleted (soft: gone from lists and downloads, the reason recorded) and its
        bytes leave the blob store. The bytes go after the rows are changed, in the same handling: if the
        transaction then fails, the event comes again and deleting an absent blob is a no-op."""
        if data.subject_kind != "client":
            return  # documents hold users' ids only
        kept_documents = kept_ids(data, "document")
        kept_owners = {(owner, i) for owner in ("contract", "deal", "client") for i in kept_ids(data, owner)}
        documents = (await session.execute(select(Document).where(Document.client_id == data.subject_id))).scalars()
        erased = [d for d in documents if d.id not in kept_documents and (d.owner_type, d.owner_id) not in kept_owners]
        if not erased:
            return
        now = clock.now()
        for document in erased:
            if document.deleted_at is None:
                document.deleted_at, document.delete_reason = now, ERASURE_REASON
        versions = await session.execute(
            select(DocumentVersion).where(DocumentVersion.document_id.in_([d.id for d in erased]))
        )
        keys = []
        for version in versions.scalars():
            renamed = erased_filename(version.filename)
            if version.filename != renamed:  # once only: a second erasure finds them renamed
                version.filename = renamed
            keys.append(version.storage_key)
        await session.flush()
        for key in keys:
            await store.delete(key)

    return erase_subject


async def collect(session: AsyncSession, kind: SubjectKind, subject_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    if kind != "client":
        return {}
    documents = list(
        (
            await session.execute(
                select(Document).where(Document.client_id == subject_id).order_by(Document.created_at)
            )
        ).scalars()
    )
    versions = await session.execute(
        select(DocumentVersion)
        .where(DocumentVersion.document_id.in_([d.id for d in documents]))
        .order_by(DocumentVersion.document_id, DocumentVersion.version)
    )
    records = await session.execute(select(OwnerRecord).where(OwnerRecord.client_id == subject_id))
    return {
        "documents": [record(d) for d in documents],
        "versions": [record(v, without=["storage_key"]) for v in versions.scalars()],
        "records": [record(r) for r in records.scalars()],
    }


router = privacy_router("documents", PROCESSING, collect)
