"""The privacy HTTP API.

Public (through the gateway, Admin only): an erasure decision (`POST /api/v1/privacy/subjects/{kind}/{id}/erasure`)
and the list of data-subject requests. Internal (the services only, `X-Internal-Token`, never routed by the
gateway): a subject's key, got or created (`POST /internal/keys/{kind}/{id}`) or read (`GET`), 410 Gone once
destroyed; and `POST /internal/requests`, by which another service records a data-subject request it handled
(the gateway's Art. 15 export).
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, Field

from services.privacy import service
from services.privacy.models import DataSubjectRequest
from services.privacy.settings import PrivacySettings
from shared.contracts.privacy import KeptPart, RequestOutcome, SubjectKind
from shared.db import TransactionalRoute
from shared.endpoints import Admin, Session, problems
from shared.errors import NotFound
from shared.internal import Internal
from shared.pagination import Page, PageParams, page_params

PROBLEMS = problems()

router = APIRouter(route_class=TransactionalRoute, tags=["privacy"], responses={401: PROBLEMS[401], 422: PROBLEMS[422]})
internal = APIRouter(route_class=TransactionalRoute, tags=["internal"], include_in_schema=False)


async def _settings(request: Request) -> PrivacySettings:
    settings: PrivacySettings = request.app.state.settings
    return settings


async def _master(request: Request) -> bytes:
    master: bytes = request.app.state.master_key
    return master


Settings = Annotated[PrivacySettings, Depends(_settings)]
Master = Annotated[bytes, Depends(_master)]


class ErasureIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="Why the subject is erased (their request, ...)")


class ErasureOut(BaseModel):
    request_id: uuid.UUID
    subject_kind: SubjectKind
    subject_id: uuid.UUID
    outcome: RequestOutcome = Field(
        description="`completed`: the key is destroyed and every service told; `restricted`: something must be kept "
        "(`kept`: what, why and until when), so the key is kept and the subject's processing restricted; "
        "`already_erased`: nothing to do"
    )
    kept: list[KeptPart]
    erased_at: datetime | None
    restricted_at: datetime | None


class RequestOut(BaseModel):
    id: uuid.UUID
    kind: Literal["export", "erasure"]
    subject_kind: SubjectKind
    subject_id: uuid.UUID
    outcome: RequestOutcome
    requested_by: uuid.UUID | None
    reason: str | None
    kept: list[KeptPart]
    created_at: datetime


def _request_out(row: DataSubjectRequest) -> RequestOut:
    return RequestOut.model_validate(row, from_attributes=True)


@router.post(
    "/api/v1/privacy/subjects/{kind}/{subject_id}/erasure",
    response_model=ErasureOut,
    summary="Erase a data subject (GDPR Art. 17): destroy their key and tell every service, or, where the law "
    "requires keeping a part (a contract within its retention), restrict processing and say what is kept and why",
    responses={403: PROBLEMS[403]},
)
async def erase(
    kind: SubjectKind,
    subject_id: uuid.UUID,
    body: ErasureIn,
    session: Session,
    admin: Admin,
    settings: Settings,
) -> ErasureOut:
    result = await service.erase(
        session,
        kind,
        subject_id,
        reason=body.reason,
        requested_by=admin.user_id,
        retention_years=settings.contract_retention_years,
    )
    return ErasureOut(**result)


@router.get(
    "/api/v1/privacy/requests",
    response_model=Page[RequestOut],
    summary="The data-subject requests received and handled (exports, erasures), newest first",
    responses={403: PROBLEMS[403]},
)
async def list_requests(
    session: Session,
    _: Admin,
    page: Annotated[PageParams, Depends(page_params)],
    subject_id: Annotated[uuid.UUID | None, Query(description="Requests about this subject")] = None,
    kind: Annotated[Literal["export", "erasure"] | None, Query(description="`export` or `erasure`")] = None,
) -> Page[RequestOut]:
    rows, total = await service.list_requests(
        session, limit=page.limit, offset=page.offset, subject_id=subject_id, kind=kind
    )
    return Page(items=[_request_out(r) for r in rows], total=total, limit=page.limit, offset=page.offset)


# Internal ----------------------------------------------------------------------------------------


class KeyOut(BaseModel):
    kid: str = Field(description="`<kind>:<subject id>`")
    key: str = Field(description="The 256-bit data key, base64")


def _key_out(kind: str, subject_id: uuid.UUID, key: bytes) -> KeyOut:
    return KeyOut(kid=service.kid_of(kind, subject_id), key=base64.b64encode(key).decode())


@internal.post("/internal/keys/{kind}/{subject_id}", response_model=KeyOut)
async def get_or_create_key(kind: SubjectKind, subject_id: uuid.UUID, session: Session, master: Master, _: Internal):
    """The subject's key, created the first time (a service sealing an event about them); 410 once destroyed."""
    return _key_out(kind, subject_id, await service.get_or_create_key(session, master, kind, subject_id))


@internal.get("/internal/keys/{kind}/{subject_id}", response_model=KeyOut)
async def read_key(kind: SubjectKind, subject_id: uuid.UUID, session: Session, master: Master, _: Internal):
    """The subject's key (a service opening a sealed field); 404 if it never had one, 410 once destroyed."""
    key = await service.read_key(session, master, kind, subject_id)
    if key is None:
        raise NotFound(f"no key for {kind} {subject_id}")
    return _key_out(kind, subject_id, key)


class RequestIn(BaseModel):
    """A data-subject request another service handled: the gateway's Art. 15 export records each export here."""

    kind: Literal["export"] = Field(description="What was asked (an erasure goes through the erasure endpoint)")
    subject_kind: SubjectKind
    subject_id: uuid.UUID
    requested_by: uuid.UUID | None = Field(None, description="The user who asked for it")
    outcome: Literal["completed"] = "completed"
    reason: str | None = Field(None, max_length=2000)


@internal.post("/internal/requests", response_model=RequestOut, status_code=201)
async def record_request(body: Annotated[RequestIn, Body()], session: Session, _: Internal) -> RequestOut:
    """Record the request and publish `privacy.request.recorded`: body `{"kind": "export", "subject_kind":
    "client", "subject_id": "<uuid>", "requested_by": "<user uuid>", "reason": "..."}`; header `X-Internal-Token`."""
    row = await service.record_request(
        session,
        kind=body.kind,
        subject_kind=body.subject_kind,
        subject_id=body.subject_id,
        outcome=body.outcome,
        requested_by=body.requested_by,
        reason=body.reason,
        kept=[],
    )
    return _request_out(row)
