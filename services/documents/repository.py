"""Every query of the documents service."""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, TextClause, and_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.documents.access import ClientRecord, visible_where
from services.documents.models import Document, DocumentVersion, OwnerRecord, StageChecklist
from shared.auth import Principal
from shared.pagination import PageParams, apply_sort, page_total


async def get_record(session: AsyncSession, owner_type: str, owner_id: uuid.UUID) -> OwnerRecord | None:
    return await session.get(OwnerRecord, (owner_type, owner_id), populate_existing=True)


@functools.cache
def _upsert(columns: frozenset[str]) -> TextClause:
    """One fixed-text statement per set of columns, compiled once: SQLAlchemy compiles its PostgreSQL
    `INSERT .. ON CONFLICT` construct anew on every execution (it has no cache key), which was a fifth of this
    service's CPU under the routing bench (py-spy)."""
    names = sorted(columns)
    unknown = set(names) - set(OwnerRecord.__table__.c.keys())
    if unknown:
        raise ValueError(f"owner_records has no column {', '.join(sorted(unknown))}")
    return text(
        f"INSERT INTO {OwnerRecord.__tablename__} (owner_type, owner_id, {', '.join(names)}) "
        f"VALUES (:owner_type, :owner_id, {', '.join(':' + n for n in names)}) "
        "ON CONFLICT (owner_type, owner_id) DO UPDATE SET " + ", ".join(f"{n} = EXCLUDED.{n}" for n in names)
    )


async def upsert_record(session: AsyncSession, owner_type: str, owner_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Add the record to the replica, or overwrite its `values` if it is there."""
    await session.execute(_upsert(frozenset(values)), {"owner_type": owner_type, "owner_id": owner_id, **values})


async def update_record(session: AsyncSession, owner_type: str, owner_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Change `values` of a record the replica holds (a record it never heard of stays unknown)."""
    record = await get_record(session, owner_type, owner_id)
    if record is None:
        return
    for name, value in values.items():
        setattr(record, name, value)
    await session.flush()


async def get_document(session: AsyncSession, document_id: uuid.UUID, *, for_update: bool = False) -> Document | None:
    stmt = select(Document).where(Document.id == document_id, Document.deleted_at.is_(None))
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_version(session: AsyncSession, document_id: uuid.UUID, version: int) -> DocumentVersion | None:
    return await session.get(DocumentVersion, (document_id, version))


async def versions_of(session: AsyncSession, document_id: uuid.UUID) -> list[DocumentVersion]:
    stmt = (
        select(DocumentVersion)
        .where(DocumentVersion.document_id == document_id)
        .order_by(DocumentVersion.version.desc())
    )
    return list((await session.execute(stmt)).scalars())


def add(session: AsyncSession, *rows: Document | DocumentVersion) -> None:
    session.add_all(rows)


@dataclass(frozen=True)
class DocumentFilters:
    owner_type: str | None = None
    owner_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    document_type: str | None = None


SORTABLE = {"uploaded_at": DocumentVersion.uploaded_at, "created_at": Document.created_at}


def _visible(caller: Principal) -> Select[tuple[Document, DocumentVersion]]:
    """Live documents with their current version, those the caller may see."""
    return (
        select(Document, DocumentVersion)
        .join(
            DocumentVersion,
            and_(DocumentVersion.document_id == Document.id, DocumentVersion.version == Document.current_version),
        )
        .join(
            OwnerRecord, and_(OwnerRecord.owner_type == Document.owner_type, OwnerRecord.owner_id == Document.owner_id)
        )
        .outerjoin(
            ClientRecord, and_(ClientRecord.owner_type == "client", ClientRecord.owner_id == OwnerRecord.client_id)
        )
        .where(Document.deleted_at.is_(None), visible_where(caller))
    )


async def list_documents(
    session: AsyncSession, page: PageParams, filters: DocumentFilters, caller: Principal
) -> tuple[list[tuple[Document, DocumentVersion]], int]:
    stmt = _visible(caller)
    if filters.owner_type is not None:
        stmt = stmt.where(Document.owner_type == filters.owner_type)
    if filters.owner_id is not None:
        stmt = stmt.where(Document.owner_id == filters.owner_id)
    if filters.client_id is not None:
        stmt = stmt.where(Document.client_id == filters.client_id)
    if filters.document_type is not None:
        stmt = stmt.where(Document.document_type == filters.document_type)
    paged = apply_sort(stmt, page.sort, SORTABLE, "-uploaded_at", Document.id).limit(page.limit).offset(page.offset)
    rows = (await session.execute(paged)).tuples().all()
    total = await page_total(session, stmt, found=len(rows), limit=page.limit, offset=page.offset)
    return [(document, version) for document, version in rows], total


async def checklists(session: AsyncSession) -> list[StageChecklist]:
    return list((await session.execute(select(StageChecklist).order_by(StageChecklist.stage_key))).scalars())


async def get_checklist(session: AsyncSession, stage_key: str, *, for_update: bool = False) -> StageChecklist | None:
    stmt = select(StageChecklist).where(StageChecklist.stage_key == stage_key)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()
