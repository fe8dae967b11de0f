"""Import jobs: the dry run stored as a job with a report per row, and the commit that carries the job out.

The commit runs in the background of the clients service (one task per job) and can be followed with
`GET /api/v1/imports/{id}`. Clients are created (or updated) by `services.clients.service`, the same code as
`POST /api/v1/clients`, a batch of rows per transaction with their outbox events and the external ids they became,
so a crash loses or repeats nothing. Contracts are created by the contracts service through its public API
(`POST /api/v1/contracts`, `.../cancel`) with the importing person's token; a row is marked `sending` before its
request and `done` with the contract's id after the answer, and a row left `sending` by a crash is looked up among
the client's contracts (by policy number) before it is sent again. A job stopped half way (the process ended, the
token expired, a service was down) is `interrupted` with the reason; committing it again resumes from where it
stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.clients import service as clients_service
from services.clients.imports import checks
from services.clients.imports.parsing import FileProblem, Kind, Row, read_table
from services.clients.models import Client, ImportedRecord, ImportJob, ImportRow
from services.clients.schemas import ClientCreate, ClientUpdate
from services.clients.settings import ClientsSettings
from shared import clock, context
from shared.auth import Principal
from shared.errors import Conflict, NotFound, Problem

log = logging.getLogger("insureops.clients.imports")


# Dry run --------------------------------------------------------------------------------------------
async def insurance_lines(settings: ClientsSettings, token: str) -> dict[str, str]:
    """Every insurance line, name (lower case) to id, from the pipeline service with the caller's token."""
    lines: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=settings.pipeline_url, timeout=10) as http:
        offset = 0
        while True:
            response = await http.get(
                "/api/v1/lines", params={"limit": 100, "offset": offset}, headers={"Authorization": f"Bearer {token}"}
            )
            if response.status_code != 200:
                raise Problem(
                    f"the insurance lines could not be read from the pipeline service ({response.status_code})"
                )
            page = response.json()
            lines.update({item["name"].lower(): item["id"] for item in page["items"]})
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                return lines


async def dry_run(
    session: AsyncSession,
    kind: Kind,
    filename: str,
    data: bytes,
    caller: Principal,
    settings: ClientsSettings,
    token: str,
    today: date,
) -> ImportJob:
    _, rows = read_table(data, kind, settings.import_max_rows)
    if len(rows) > settings.import_max_rows:
        raise FileProblem(f"{len(rows)} rows: at most {settings.import_max_rows} in one file")
    if not rows:
        raise FileProblem("the file has a header but no rows")
    if kind == "clients":
        verdicts = await checks.check_clients(session, rows, caller)
    else:
        lines = await insurance_lines(settings, token)
        verdicts = await checks.check_contracts(session, rows, caller, lines, today)
    counts = {a: sum(1 for _, v in verdicts if v == a) for a in ("create", "update", "unchanged", "refused")}
    job = ImportJob(
        id=uuid.uuid4(),
        kind=kind,
        filename=filename[:300],
        state="dry_run",
        created_by=caller.user_id,
        department_id=caller.department_id,
        rows=len(rows),
        refused=counts["refused"],
        to_create=counts["create"],
        to_update=counts["update"],
        unchanged=counts["unchanged"],
        done=0,
        failed=0,
        created_at=clock.now(),
        updated_at=clock.now(),
    )
    session.add(job)
    await session.flush()
    payload = [_row_record(job.id, row, action) for row, action in verdicts]
    for start in range(0, len(payload), 1000):
        await session.execute(insert(ImportRow), payload[start : start + 1000])
    return job


def _row_record(job_id: uuid.UUID, row: Row, action: str) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "row_number": row.number,
        "external_id": row.external_id[:200],
        "action": action,
        "state": "pending" if action in ("create", "update") else "skipped",
        "values": row.values,
        "problems": [p.as_dict() for p in row.problems],
        "record_id": None,
        "error": None,
    }


# Access ---------------------------------------------------------------------------------------------
async def get_job(
    session: AsyncSession, job_id: uuid.UUID, caller: Principal, *, for_update: bool = False
) -> ImportJob:
    """A job is its importer's (and the Admin's); anyone else gets 404."""
    stmt = select(ImportJob).where(ImportJob.id == job_id)
    if for_update:
        stmt = stmt.with_for_update()
    job = (await session.execute(stmt)).scalar_one_or_none()
    if job is None or not (caller.is_admin or job.created_by == caller.user_id):
        raise NotFound(f"no import {job_id}")
    return job


# Commit ---------------------------------------------------------------------------------------------
async def interrupt_stale(app: FastAPI) -> None:
    """At start-up: a job left `committing` by a process that ended is interrupted (resumable). One process runs a
    job's commit; with several replicas, run the imports on one (see README)."""
    async with app.state.sessionmaker() as session, session.begin():
        await session.execute(
            update(ImportJob)
            .where(ImportJob.state == "committing")
            .values(state="interrupted", error="the service restarted during the commit; commit again to resume")
        )


async def start_commit(session: AsyncSession, app: FastAPI, job_id: uuid.UUID, caller: Principal) -> ImportJob:
    job = await get_job(session, job_id, caller, for_update=True)
    if job.state == "committing" and job_id in _running(app):
        raise Conflict("this import is being committed; follow it with GET /api/v1/imports/{id}")
    if job.state in ("committed", "nothing_to_do"):
        return job
    job.state = "committing"
    job.error = None
    job.commit_started_at = job.commit_started_at or clock.now()
    job.updated_at = clock.now()
    await session.flush()
    return job


def _running(app: FastAPI) -> dict[uuid.UUID, asyncio.Task[None]]:
    tasks: dict[uuid.UUID, asyncio.Task[None]] | None = getattr(app.state, "import_tasks", None)
    if tasks is None:
        tasks = app.state.import_tasks = {}
    return tasks


async def launch(app: FastAPI, job_id: uuid.UUID, kind: str, caller: Principal, token: str) -> None:
    """Run the commit in the background (after the request's transaction made the job `committing`)."""
    tasks = _running(app)
    task = asyncio.create_task(_run(app, job_id, kind, caller, token), name=f"import-{job_id}")
    tasks[job_id] = task
    task.add_done_callback(lambda _: tasks.pop(job_id, None))


async def _run(app: FastAPI, job_id: uuid.UUID, kind: str, caller: Principal, token: str) -> None:
    sessionmaker: async_sessionmaker[AsyncSession] = app.state.sessionmaker
    settings: ClientsSettings = app.state.settings
    try:
        with context.acting_as(caller.actor):
            if kind == "clients":
                await _commit_clients(sessionmaker, job_id, caller, settings)
            else:
                await _commit_contracts(sessionmaker, job_id, settings, token)
        await _finish(sessionmaker, job_id, "committed", None)
    except asyncio.CancelledError:
        await asyncio.shield(
            _finish(sessionmaker, job_id, "interrupted", "the service stopped; commit again to resume")
        )
        raise
    except _Stop as stop:
        await _finish(sessionmaker, job_id, "interrupted", f"{stop}; commit again to resume")
    except Exception as exc:  # the job says what stopped it; the rows done stay done
        log.exception("import %s stopped", job_id)
        await _finish(
            sessionmaker,
            job_id,
            "interrupted",
            f"stopped by an error ({type(exc).__name__}: {exc}); commit again to resume",
        )


class _Stop(Exception):
    """The commit cannot go on now (token expired, a service unavailable): the job is interrupted, resumable."""


async def _finish(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: uuid.UUID, state: str, error: str | None
) -> None:
    async with sessionmaker() as session, session.begin():
        await _count(session, job_id)
        values: dict[str, Any] = {"state": state, "error": error, "updated_at": clock.now()}
        if state == "committed":
            values["finished_at"] = clock.now()
        await session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


async def _count(session: AsyncSession, job_id: uuid.UUID) -> None:
    done = await session.scalar(select(func.count()).where(ImportRow.job_id == job_id, ImportRow.state == "done"))
    failed = await session.scalar(select(func.count()).where(ImportRow.job_id == job_id, ImportRow.state == "failed"))
    await session.execute(
        update(ImportJob).where(ImportJob.id == job_id).values(done=done, failed=failed, updated_at=clock.now())
    )


async def _pending(session: AsyncSession, job_id: uuid.UUID, states: tuple[str, ...]) -> list[ImportRow]:
    result = await session.execute(
        select(ImportRow).where(ImportRow.job_id == job_id, ImportRow.state.in_(states)).order_by(ImportRow.row_number)
    )
    return list(result.scalars())


def _problem_text(exc: Problem) -> str:
    if exc.errors:
        return "; ".join(f"{e.get('field')}: {e.get('message')}" for e in exc.errors)
    return exc.detail


# Clients: in this service, a batch per transaction ------------------------------------------------------------
def _creation_order(rows: list[ImportRow]) -> list[ImportRow]:
    """Parents before their children (a parent in the file is created first)."""
    by_ext = {r.external_id: r for r in rows}
    depth: dict[str, int] = {}

    def depth_of(row: ImportRow) -> int:
        chain: list[ImportRow] = []
        node: ImportRow | None = row
        while node is not None and node.external_id not in depth and len(chain) <= len(by_ext):
            chain.append(node)
            node = by_ext.get(node.values.get("parent_row") or "")
        base = depth.get(node.external_id, 0) + 1 if node is not None and node.external_id in depth else 0
        for i, item in enumerate(reversed(chain)):
            depth[item.external_id] = base + i
        return depth[row.external_id]

    return sorted(rows, key=lambda r: (depth_of(r), r.row_number))


async def _commit_clients(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: uuid.UUID, caller: Principal, settings: ClientsSettings
) -> None:
    async with sessionmaker() as session:
        rows = _creation_order(await _pending(session, job_id, ("pending",)))
    for start in range(0, len(rows), settings.import_batch_rows):
        batch = rows[start : start + settings.import_batch_rows]
        async with sessionmaker() as session, session.begin():
            for row in batch:
                await _commit_client_row(session, job_id, row, caller)
            await _count(session, job_id)


async def _commit_client_row(session: AsyncSession, job_id: uuid.UUID, row: ImportRow, caller: Principal) -> None:
    values = row.values
    known = await checks.imported(session, "clients", [row.external_id])
    state, record_id, error = "done", known.get(row.external_id), None
    parent_id = values.get("parent_id")
    if values.get("parent_row"):
        parent = await checks.imported(session, "clients", [values["parent_row"]])
        parent_id = str(parent[values["parent_row"]]) if values["parent_row"] in parent else None
        if parent_id is None:
            state, error = "failed", f"the parent (external id {values['parent_row']}) was not created"
    if state == "done":
        profile = {
            "kind": values["kind"],
            "name": values["name"],
            "tax_id": values.get("tax_id"),
            "country": values.get("country"),
            "email": values.get("email"),
            "phone": values.get("phone"),
            "address": values.get("address"),
            "department_id": values.get("department_id"),
            "parent_id": parent_id,
        }
        try:
            async with session.begin_nested():
                if record_id is None:
                    client = await clients_service.create_client(session, ClientCreate(**profile), caller)
                    record_id = client.id
                    session.add(
                        ImportedRecord(kind="clients", external_id=row.external_id, record_id=client.id, job_id=job_id)
                    )
                    await session.flush()
                else:
                    current = await session.get(Client, record_id)
                    changed = {
                        k: v
                        for k, v in profile.items()
                        if current is None
                        or (
                            str(getattr(current, k))
                            if isinstance(getattr(current, k), uuid.UUID)
                            else getattr(current, k)
                        )
                        != v
                    }
                    if changed:
                        await clients_service.update_client(session, record_id, ClientUpdate(**changed), caller)
        except Problem as exc:
            state, error = "failed", _problem_text(exc)
    await session.execute(
        update(ImportRow)
        .where(ImportRow.job_id == job_id, ImportRow.row_number == row.row_number)
        .values(state=state, record_id=record_id if state == "done" else None, error=error)
    )


# Contracts: through the contracts service's API -----------------------------------------------------------------
def _contract_body(values: dict[str, Any], today: date) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": values["client_id"],
        "premium": str(Decimal(values["premium"])),
        "currency": values["currency"],
        "start_date": values["start"],
        "end_date": values["end"],
        "insurer": values["insurer"],
        "line_id": values["line_id"],
        "line_name": values["line"],
    }
    if values["status"] != "pending_issuance" and values.get("policy_number"):
        start = date.fromisoformat(values["start"])
        body["policy_number"] = values["policy_number"]
        body["issue_date"] = min(start, today).isoformat()
    return body


async def _commit_contracts(
    sessionmaker: async_sessionmaker[AsyncSession], job_id: uuid.UUID, settings: ClientsSettings, token: str
) -> None:
    today = business_today(settings)
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=settings.import_concurrency)
    async with httpx.AsyncClient(base_url=settings.contracts_url, timeout=30, headers=headers, limits=limits) as http:
        async with sessionmaker() as session:
            rows = await _pending(session, job_id, ("pending", "sending", "created"))
        gate = asyncio.Semaphore(settings.import_concurrency)
        for start in range(0, len(rows), settings.import_batch_rows):
            batch = rows[start : start + settings.import_batch_rows]
            fresh = [r for r in batch if r.state == "pending"]
            if fresh:  # marked before any request: a crash leaves them `sending`, looked up before a resend
                async with sessionmaker() as session, session.begin():
                    await session.execute(
                        update(ImportRow)
                        .where(ImportRow.job_id == job_id, ImportRow.row_number.in_([r.row_number for r in fresh]))
                        .values(state="sending")
                    )

            async def one(row: ImportRow) -> tuple[ImportRow, str, uuid.UUID | None, str | None]:
                async with gate:
                    return await _send_contract(http, row, today)

            results = await asyncio.gather(*(one(r) for r in batch), return_exceptions=True)
            stop: BaseException | None = None
            async with sessionmaker() as session, session.begin():
                for result in results:
                    if isinstance(result, BaseException):
                        stop = stop or result
                        continue
                    row, state, record_id, error = result
                    if state in ("done", "created") and record_id is not None:
                        await session.execute(_record_contract(row.external_id, record_id, job_id))
                    await session.execute(
                        update(ImportRow)
                        .where(ImportRow.job_id == job_id, ImportRow.row_number == row.row_number)
                        .values(state=state, record_id=record_id, error=error)
                    )
                await _count(session, job_id)
            if stop is not None:
                raise stop


def _record_contract(external_id: str, record_id: uuid.UUID, job_id: uuid.UUID) -> Any:
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    return (
        pg_insert(ImportedRecord)
        .values(kind="contracts", external_id=external_id, record_id=record_id, job_id=job_id)
        .on_conflict_do_nothing()
    )


def business_today(settings: ClientsSettings) -> date:
    from zoneinfo import ZoneInfo

    return clock.now().astimezone(ZoneInfo(settings.import_business_timezone)).date()


def _answer_error(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code}"
    errors = body.get("errors") or []
    if errors:
        return f"{response.status_code}: " + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
    return f"{response.status_code}: {body.get('detail', '')}"


def _check_answer(response: httpx.Response) -> None:
    """Answers that stop the whole commit (resumable) rather than fail one row."""
    if response.status_code == 401:
        raise _Stop("the contracts service refused the token (expired?)")
    if response.status_code == 429 or response.status_code >= 500:
        raise _Stop(f"the contracts service answered {response.status_code}")


async def _find_sent(http: httpx.AsyncClient, values: dict[str, Any]) -> uuid.UUID | None:
    """A row left `sending` (a crash between the request and recording its answer): the contract it made, if any,
    found among its client's contracts by policy number (or, without one, by its terms)."""
    offset = 0
    while True:
        response = await http.get(
            "/api/v1/contracts", params={"client_id": values["client_id"], "limit": 100, "offset": offset}
        )
        _check_answer(response)
        if response.status_code != 200:
            return None
        page = response.json()
        for item in page["items"]:
            if values.get("policy_number") and item.get("policy_number") == values["policy_number"]:
                return uuid.UUID(item["id"])
            if (
                not values.get("policy_number")
                and item["origin"] == "manual"
                and item["start_date"] == values["start"]
                and item["end_date"] == values["end"]
                and Decimal(item["premium"]) == Decimal(values["premium"])
                and item.get("insurer") == values["insurer"]
            ):
                return uuid.UUID(item["id"])
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            return None


# A contract row names a client this service holds (the import may have just created it); the contracts service
# learns of it from `clients.client.events` and answers "no client" until its copy has it. Under load that copy can
# be more than its own short wait behind, so the row is asked again for this long before it counts as failed.
CLIENT_ARRIVAL_SECONDS = 60.0


def _client_not_there_yet(response: httpx.Response) -> bool:
    if response.status_code != 422:
        return False
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return False
    return (
        len(errors) == 1 and errors[0].get("field") == "body.client_id" and "no client" in errors[0].get("message", "")
    )


async def _post_contract(http: httpx.AsyncClient, body: dict[str, Any]) -> httpx.Response:
    """POST the contract; while the contracts service does not know the client yet, again after a pause."""
    deadline = time.monotonic() + CLIENT_ARRIVAL_SECONDS
    pause = 0.5
    while True:
        response = await http.post("/api/v1/contracts", json=body)
        if not _client_not_there_yet(response) or time.monotonic() + pause > deadline:
            return response
        await asyncio.sleep(pause)
        pause = min(pause * 2, 8.0)


async def _send_contract(
    http: httpx.AsyncClient, row: ImportRow, today: date
) -> tuple[ImportRow, str, uuid.UUID | None, str | None]:
    values = row.values
    record_id = row.record_id
    try:
        if record_id is None and row.state == "sending":
            record_id = await _find_sent(http, values)
        if record_id is None:
            response = await _post_contract(http, _contract_body(values, today))
            _check_answer(response)
            if response.status_code != 201:
                return row, "failed", None, _answer_error(response)
            record_id = uuid.UUID(response.json()["id"])
        if values["status"] == "cancelled":
            response = await http.post(
                f"/api/v1/contracts/{record_id}/cancel",
                json={"reason": "imported as cancelled", "effective_date": values["start"]},
            )
            _check_answer(response)
            if response.status_code not in (200, 409):  # 409: cancelled already (a resumed row)
                return row, "created", record_id, _answer_error(response)
    except httpx.TransportError as exc:
        raise _Stop(f"the contracts service could not be reached ({type(exc).__name__})") from exc
    return row, "done", record_id, None
