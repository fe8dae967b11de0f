"""The imports HTTP API: templates, upload (a dry run), the report, the commit and its progress.

Who: a Manager or the Admin (creating contracts by hand is theirs). A job is seen by its importer and the Admin."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, File, Query, Request, UploadFile, status
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from services.clients.imports import parsing, service
from services.clients.models import ImportJob, ImportRow
from services.clients.settings import ClientsSettings
from shared.auth import bearer_token
from shared.db import TransactionalRoute
from shared.endpoints import Manager, Session, problems
from shared.errors import InvalidInput, Problem
from shared.pagination import Page, PageParams, page_params, page_total

PROBLEMS = problems(s409="The import is being committed already (problem+json)")

router = APIRouter(
    route_class=TransactionalRoute,
    tags=["imports"],
    responses={401: PROBLEMS[401], 403: PROBLEMS[403], 422: PROBLEMS[422]},
)

ImportKind = Literal["clients", "contracts"]


class ImportJobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    kind: ImportKind
    filename: str
    state: Literal["dry_run", "committing", "interrupted", "committed", "nothing_to_do"] = Field(
        description="dry_run: the report is ready, nothing written yet; committing: under way (see done); "
        "interrupted: stopped half way (error says why), commit again to resume; committed: every row handled."
    )
    rows: int = Field(description="Data rows in the file.")
    refused: int = Field(description="Rows refused by the dry run (nothing is done for them).")
    to_create: int
    to_update: int
    unchanged: int = Field(description="Rows whose external id was imported before, with nothing to change.")
    done: int = Field(description="Rows created or updated so far by the commit.")
    failed: int = Field(description="Rows the owning service refused during the commit (each row says why).")
    error: str | None = Field(description="Why the commit stopped, when interrupted.")
    created_at: datetime
    updated_at: datetime
    commit_started_at: datetime | None
    finished_at: datetime | None


class RowProblem(BaseModel):
    column: str
    value: str
    reason: str


class ImportRowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    row_number: int = Field(description="The spreadsheet's row (the header is row 1).")
    external_id: str
    action: Literal["create", "update", "unchanged", "refused"]
    state: Literal["pending", "sending", "created", "done", "failed", "skipped"]
    problems: list[RowProblem] = Field(description="Why the row is refused: one entry per column.")
    values: dict[str, Any] = Field(description="The row's values as they will be written (normalised, resolved).")
    record_id: uuid.UUID | None = Field(description="The client or contract the row created or updated.")
    error: str | None = Field(description="The owning service's answer when the commit failed the row.")


def _settings(request: Request) -> ClientsSettings:
    settings: ClientsSettings = request.app.state.settings
    return settings


@router.get(
    "/api/v1/imports/templates/{kind}",
    summary="The template of an import (the columns, with an example row) as CSV or XLSX",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, parsing.XLSX_TYPE: {}}, "description": "The template file"}},
)
async def get_template(kind: ImportKind, caller: Manager, format: Literal["csv", "xlsx"] = "xlsx") -> Response:
    media = "text/csv; charset=utf-8" if format == "csv" else parsing.XLSX_TYPE
    return Response(
        parsing.template(kind, format),
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="insureops-{kind}-template.{format}"'},
    )


@router.post(
    "/api/v1/imports/{kind}",
    response_model=ImportJobOut,
    status_code=status.HTTP_201_CREATED,
    summary="Upload a CSV or XLSX file (multipart part `file`): a dry run; nothing is written until committed",
    responses={
        400: {"description": "The body is not a readable multipart form (problem+json)"},
        413: {"description": "The file is larger than IMPORT_MAX_BYTES (problem+json)"},
        415: {"description": "The file is not a CSV or XLSX spreadsheet (problem+json)"},
    },
)
async def upload(
    kind: ImportKind,
    request: Request,
    session: Session,
    caller: Manager,
    file: Annotated[UploadFile, File(description="The spreadsheet: CSV (UTF-8) or XLSX, with the template's header")],
) -> ImportJobOut:
    settings = _settings(request)
    data = await file.read(settings.import_max_bytes + 1)
    if len(data) > settings.import_max_bytes:
        raise PayloadTooLarge(
            f"file: at most {settings.import_max_bytes} bytes", errors=[{"field": "file", "message": "too large"}]
        )
    try:
        job = await service.dry_run(
            session,
            kind,
            file.filename or f"{kind}.csv",
            data,
            caller,
            settings,
            bearer_token(request),
            service.business_today(settings),
        )
    except parsing.FileProblem as exc:
        error_class = UnsupportedFile if exc.status == 415 else InvalidInput
        raise error_class(f"{exc.field}: {exc}", errors=[{"field": exc.field, "message": str(exc)}]) from exc
    return ImportJobOut.model_validate(job)


class PayloadTooLarge(Problem):
    status, title, slug = 413, "Payload too large", "payload-too-large"


class UnsupportedFile(Problem):
    status, title, slug = 415, "Unsupported media type", "unsupported-media-type"


@router.get("/api/v1/imports", response_model=Page[ImportJobOut], summary="Your imports, newest first (Admin: all)")
async def list_jobs(session: Session, caller: Manager, page: Annotated[PageParams, Depends(page_params)]):
    where = [] if caller.is_admin else [ImportJob.created_by == caller.user_id]
    stmt = select(ImportJob).where(*where)
    jobs = list(
        (
            await session.execute(stmt.order_by(ImportJob.created_at.desc()).limit(page.limit).offset(page.offset))
        ).scalars()
    )
    return Page(
        items=[ImportJobOut.model_validate(j) for j in jobs],
        total=await page_total(session, stmt, found=len(jobs), limit=page.limit, offset=page.offset),
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/api/v1/imports/{job_id}",
    response_model=ImportJobOut,
    summary="An import: its dry run's totals and, while committing, its progress",
    responses={404: PROBLEMS[404]},
)
async def get_job(job_id: uuid.UUID, session: Session, caller: Manager):
    return ImportJobOut.model_validate(await service.get_job(session, job_id, caller))


@router.get(
    "/api/v1/imports/{job_id}/rows",
    response_model=Page[ImportRowOut],
    summary="The row-by-row report: each row's verdict, the reasons it is refused, and what the commit did",
    responses={404: PROBLEMS[404]},
)
async def list_rows(
    job_id: uuid.UUID,
    session: Session,
    caller: Manager,
    page: Annotated[PageParams, Depends(page_params)],
    action: Annotated[Literal["create", "update", "unchanged", "refused"] | None, Query()] = None,
    state: Annotated[Literal["pending", "sending", "created", "done", "failed", "skipped"] | None, Query()] = None,
):
    await service.get_job(session, job_id, caller)
    where = [ImportRow.job_id == job_id]
    if action:
        where.append(ImportRow.action == action)
    if state:
        where.append(ImportRow.state == state)
    stmt = select(ImportRow).where(*where)
    rows = list(
        (await session.execute(stmt.order_by(ImportRow.row_number).limit(page.limit).offset(page.offset))).scalars()
    )
    return Page(
        items=[ImportRowOut.model_validate(r) for r in rows],
        total=await page_total(session, stmt, found=len(rows), limit=page.limit, offset=page.offset),
        limit=page.limit,
        offset=page.offset,
    )


@router.post(
    "/api/v1/imports/{job_id}/commit",
    response_model=ImportJobOut,
    status_code=status.HTTP_202_ACCEPTED,
    summary="Carry out a dry run (or resume an interrupted commit) in the background; follow GET /imports/{id}",
    responses={404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def commit(job_id: uuid.UUID, request: Request, session: Session, caller: Manager, background: BackgroundTasks):
    job = await service.get_job(session, job_id, caller, for_update=True)
    if job.state in ("committed", "nothing_to_do"):
        return ImportJobOut.model_validate(job)
    if job.to_create + job.to_update == 0:
        job.state = "nothing_to_do"
        await session.flush()
        return ImportJobOut.model_validate(job)
    job = await service.start_commit(session, request.app, job_id, caller)
    background.add_task(service.launch, request.app, job.id, job.kind, caller, bearer_token(request))
    return ImportJobOut.model_validate(job)
