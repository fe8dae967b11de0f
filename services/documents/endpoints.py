"""The documents HTTP API. Thin: rules live in service.py, queries in repository.py.

An upload names its owning record and document type in the query and carries the file as the multipart part
`file`, so the record is known (and the caller's right to it checked) from the request line alone."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile, status
from fastapi.responses import Response, StreamingResponse

from services.documents import checklists, service
from services.documents import repository as repo
from services.documents.files import content_disposition
from services.documents.models import Document, DocumentVersion
from services.documents.schemas import (
    DOCUMENT_TYPE_PATTERN,
    ChecklistOut,
    ChecklistUpdate,
    DocumentDetail,
    DocumentOut,
    OwnerType,
    VersionOut,
)
from services.documents.settings import DocumentsSettings
from services.documents.storage import BlobStore
from shared.db import TransactionalRoute
from shared.endpoints import Admin, Caller, Session, problems
from shared.pagination import Page, PageParams, page_params

PROBLEMS = problems()
UPLOAD_PROBLEMS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body is not a readable multipart form (problem+json)"},
    404: PROBLEMS[404],
    413: {"description": "The file is larger than the configured maximum (problem+json)"},
    415: {"description": "The file's content (detected from its bytes) is not an accepted type (problem+json)"},
}

router = APIRouter(
    route_class=TransactionalRoute, tags=["documents"], responses={401: PROBLEMS[401], 422: PROBLEMS[422]}
)

FileField = Annotated[UploadFile, File(description="The file (multipart part `file`); its name is kept, sanitised.")]


def _store(request: Request) -> BlobStore:
    store: BlobStore = request.app.state.store
    return store


def _settings(request: Request) -> DocumentsSettings:
    settings: DocumentsSettings = request.app.state.settings
    return settings


def _out(document: Document, version: DocumentVersion) -> DocumentOut:
    return DocumentOut(
        id=document.id,
        owner_type=document.owner_type,
        owner_id=document.owner_id,
        client_id=document.client_id,
        document_type=document.document_type,
        version=version.version,
        filename=version.filename,
        content_type=version.content_type,
        size=version.size,
        sha256=version.sha256,
        uploaded_by=version.uploaded_by,
        uploaded_at=version.uploaded_at,
        created_by=document.created_by,
        created_at=document.created_at,
    )


@router.post(
    "/api/v1/documents",
    response_model=DocumentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a document for a client, deal, task or contract the caller may see",
    responses=UPLOAD_PROBLEMS,
)
async def upload_document(
    request: Request,
    session: Session,
    caller: Caller,
    file: FileField,
    owner_type: Annotated[OwnerType, Query(description="The kind of record the document belongs to.")],
    owner_id: Annotated[uuid.UUID, Query(description="The record's id.")],
    document_type: Annotated[
        str, Query(pattern=DOCUMENT_TYPE_PATTERN, description="What the document is: `proof_of_identity`, ...")
    ],
):
    settings = _settings(request)
    incoming = await service.inspect_upload(file, settings)
    document, version = await service.upload(
        session,
        _store(request),
        caller,
        owner_type=owner_type,
        owner_id=owner_id,
        document_type=document_type,
        incoming=incoming,
        settings=settings,
    )
    return _out(document, version)


@router.get(
    "/api/v1/documents",
    response_model=Page[DocumentOut],
    summary="List the documents of the records the caller may see (by record, by client, by type)",
)
async def list_documents(
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    owner_type: OwnerType | None = None,
    owner_id: uuid.UUID | None = None,
    client_id: Annotated[
        uuid.UUID | None, Query(description="Documents of the client and of its deals, tasks and contracts.")
    ] = None,
    document_type: Annotated[str | None, Query(pattern=DOCUMENT_TYPE_PATTERN)] = None,
):
    filters = repo.DocumentFilters(
        owner_type=owner_type, owner_id=owner_id, client_id=client_id, document_type=document_type
    )
    rows, total = await repo.list_documents(session, page, filters, caller)
    return Page(items=[_out(d, v) for d, v in rows], total=total, limit=page.limit, offset=page.offset)


@router.get(
    "/api/v1/documents/checklists",
    response_model=list[ChecklistOut],
    tags=["checklists"],
    summary="Every stage checklist: the documents a deal needs before it leaves the stage",
)
async def list_checklists(session: Session, _: Caller):
    return [ChecklistOut.model_validate(c) for c in await repo.checklists(session)]


@router.put(
    "/api/v1/documents/checklists/{stage_key}",
    response_model=ChecklistOut,
    tags=["checklists"],
    summary="Set a stage's checklist and whether a deal then advances by itself (Admin)",
    responses={403: PROBLEMS[403]},
)
async def update_checklist(stage_key: str, body: ChecklistUpdate, session: Session, admin: Admin):
    return ChecklistOut.model_validate(await checklists.update_checklist(session, stage_key, body, admin))


@router.get(
    "/api/v1/documents/{document_id}",
    response_model=DocumentDetail,
    summary="One document with every version",
    responses={404: PROBLEMS[404]},
)
async def get_document(document_id: uuid.UUID, session: Session, caller: Caller):
    document = await service.visible_document(session, caller, document_id)
    versions = await repo.versions_of(session, document.id)
    current = next(v for v in versions if v.version == document.current_version)
    return DocumentDetail(
        **_out(document, current).model_dump(), versions=[VersionOut.model_validate(v) for v in versions]
    )


@router.get(
    "/api/v1/documents/{document_id}/content",
    summary="Download a document's bytes (the current version, or `version`)",
    response_class=StreamingResponse,
    responses={
        200: {"description": "The bytes, with their detected type and `Repr-Digest` (SHA-256)"},
        404: PROBLEMS[404],
    },
)
async def download_document(
    document_id: uuid.UUID,
    request: Request,
    session: Session,
    caller: Caller,
    version: Annotated[int | None, Query(ge=1, le=1_000_000, description="A version; default: the current.")] = None,
) -> Response:
    document = await service.visible_document(session, caller, document_id)
    stored = await service.current_version(session, document, version)
    digest = base64.b64encode(bytes.fromhex(stored.sha256)).decode()
    return StreamingResponse(
        service.read_bytes(_store(request), stored),
        media_type=stored.content_type,
        headers={
            "content-length": str(stored.size),
            "content-disposition": content_disposition(stored.filename),
            "repr-digest": f"sha-256=:{digest}:",
            "etag": f'"{stored.sha256}"',
            "cache-control": "private, no-store",
        },
    )


@router.post(
    "/api/v1/documents/{document_id}/versions",
    response_model=DocumentOut,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a new version of a document (the earlier ones are kept)",
    responses=UPLOAD_PROBLEMS,
)
async def add_version(document_id: uuid.UUID, request: Request, session: Session, caller: Caller, file: FileField):
    incoming = await service.inspect_upload(file, _settings(request))
    document, version = await service.add_version(session, _store(request), caller, document_id, incoming)
    return _out(document, version)


@router.delete(
    "/api/v1/documents/{document_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a document (soft, audited): the Admin, a Manager, or whoever uploaded it",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404]},
)
async def delete_document(
    document_id: uuid.UUID,
    session: Session,
    caller: Caller,
    reason: Annotated[str | None, Query(max_length=500, description="Why (kept in the audit trail).")] = None,
) -> Response:
    await service.delete(session, caller, document_id, reason)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
