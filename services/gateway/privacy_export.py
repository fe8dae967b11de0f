"""A data subject's export at the gateway (GDPR Art. 15, issue 16): every service is asked at once for its part
(`GET /internal/privacy/subjects/{kind}/{id}`, `shared.privacy`), with the caller's (an Admin's) token; the parts are
streamed as one JSON document, services in a fixed order, or drawn as a PDF with the Art. 15 headings.

An export is whole or nothing: a service that does not answer in time (or at all) makes the answer a 503 naming it,
never a partial export presented as complete. The service that owns the subject (clients for a client, identity
for a user) decides whether it exists: its 404 is the answer's. Each export delivered is registered as a
data-subject request with the privacy service (`register_request`), when its URL is configured.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field

from services.gateway.parts import PartCall, caller_headers, gather_parts, http_fetcher
from services.gateway.settings import GatewaySettings
from services.gateway.upstream import TransportError
from shared.contracts.privacy import SubjectKind
from shared.endpoints import Admin
from shared.errors import NotFound, ServiceUnavailable
from shared.internal import HEADER as INTERNAL_HEADER
from shared.privacy.rights import SubjectPart

log = logging.getLogger("insureops.gateway.privacy")

# The services asked, in the order the export lists them.
EXPORT_SERVICES = ("identity", "clients", "pipeline", "tasks", "contracts", "documents", "notifications", "audit")
# Who decides whether a subject exists.
OWNER: dict[str, str] = {"client": "clients", "user": "identity"}
EXPORT_PATH = "/api/v1/privacy/subjects/{subject_kind}/{subject_id}/export"
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)


class SubjectExport(BaseModel):
    """Everything the platform holds about one data subject, service by service (GDPR Art. 15)."""

    subject_kind: SubjectKind
    subject_id: uuid.UUID
    generated_at: datetime
    requested_by: uuid.UUID
    services: list[SubjectPart] = Field(
        description="Each service's part, in a fixed order (identity, clients, pipeline, tasks, contracts, "
        "documents, notifications, audit): the records it holds about the subject and its purposes, categories, "
        "recipients, retention and source (Art. 15(1))"
    )


async def gather_export(
    request: Request, settings: GatewaySettings, upstreams: dict[str, str], kind: str, subject_id: uuid.UUID
) -> list[dict[str, Any]]:
    """Every service's part, in `EXPORT_SERVICES` order; NotFound if the owner does not know the subject,
    ServiceUnavailable naming the services that did not answer."""
    calls = [PartCall(name, name, f"/internal/privacy/subjects/{kind}/{subject_id}") for name in EXPORT_SERVICES]
    fetch = http_fetcher(request.app.state.upstream, upstreams, caller_headers(request))
    timeout = settings.privacy_export_timeout_seconds
    outcome = await gather_parts(
        calls,
        fetch,
        part_timeout=timeout,
        deadline=asyncio.get_running_loop().time() + timeout,
        decisive=lambda call, failure: call.service == OWNER[kind] and failure.status == 404,
    )
    if outcome.stopped_by is not None:
        raise NotFound(f"no {kind} {subject_id}")
    if outcome.missing:
        names = [m.part for m in outcome.missing]
        raise ServiceUnavailable(
            f"the export of {kind} {subject_id} would be incomplete: {', '.join(names)} did not answer "
            f"({'; '.join(f'{m.part}: {m.reason} {m.detail}'.strip() for m in outcome.missing)}); try again shortly",
            headers={"Retry-After": "5"},
            services=names,
        )
    return [outcome.parts[name] for name in EXPORT_SERVICES]


async def register_request(
    request: Request, settings: GatewaySettings, *, kind: str, subject_kind: str, subject_id: uuid.UUID, by: uuid.UUID
) -> None:
    """Register a data-subject request with the privacy service (`POST /internal/requests`), which records and
    announces it. Without PRIVACY_URL it is logged and skipped; a privacy service that is configured but does not
    take it stops the export (503): a delivered export is always on the register."""
    body = {"kind": kind, "subject_kind": subject_kind, "subject_id": str(subject_id), "requested_by": str(by)}
    if not settings.privacy_url:
        log.info("data-subject request not registered (no PRIVACY_URL): %s", json.dumps(body))
        return
    # The privacy service takes its internal calls from the platform's services (X-Internal-Token); the caller's
    # headers go along for the trace and the request id.
    headers = {**caller_headers(request), "content-type": "application/json"}
    if settings.internal_service_token is not None:
        headers[INTERNAL_HEADER] = settings.internal_service_token.get_secret_value()
    try:
        async with asyncio.timeout(settings.upstream_timeout_seconds):
            async with request.app.state.upstream.post(
                f"{settings.privacy_url.rstrip('/')}/internal/requests", data=json.dumps(body), headers=headers
            ) as response:
                status = response.status
                await response.read()
    except (TimeoutError, *TransportError) as exc:
        raise ServiceUnavailable(
            f"the privacy service, which registers the export, did not answer ({exc.__class__.__name__})",
            headers={"Retry-After": "5"},
            services=["privacy"],
        ) from None
    if not 200 <= status < 300:
        raise ServiceUnavailable(
            f"the privacy service did not register the export (it answered {status})",
            headers={"Retry-After": "5"},
            services=["privacy"],
        )


async def _json_chunks(head: dict[str, Any], parts: list[dict[str, Any]]) -> AsyncIterator[bytes]:
    yield json.dumps(head)[:-1].encode() + b', "services": ['
    for index, part in enumerate(parts):
        yield (b", " if index else b"") + json.dumps(part).encode()
    yield b"]}\n"


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def render_pdf(export: dict[str, Any], *, font: Path | None = None) -> bytes:
    """The export as a PDF a person can read: one section per service, each under the Art. 15 headings."""
    from fpdf import FPDF
    from fpdf.enums import WrapMode

    pdf = FPDF(orientation="portrait", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    path = font or next((p for p in FONT_CANDIDATES if p.exists()), None)
    if path is not None:
        pdf.add_font("Body", "", str(path))
        pdf.add_font("Body", "B", str(path))
        family = "Body"
    else:
        family = "Helvetica"

    def text(value: Any) -> str:
        out = "" if value is None else str(value)
        return out if family == "Body" else out.encode("latin-1", "replace").decode("latin-1")

    def heading(title: str, size: int = 13) -> None:
        pdf.ln(3)
        pdf.set_font(family, "B", size)
        pdf.multi_cell(0, size * 0.6, text(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 9)

    def line(value: str) -> None:
        pdf.multi_cell(0, 5, text(value), new_x="LMARGIN", new_y="NEXT", wrapmode=WrapMode.CHAR)

    pdf.add_page()
    pdf.set_font(family, "B", 16)
    pdf.cell(0, 10, "InsureOps: your personal data (GDPR Art. 15)", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9)
    line(f"Data subject: {export['subject_kind']} {export['subject_id']}")
    line(f"Generated: {export['generated_at']} at the request of {export['requested_by']}")
    line(
        "You may ask for your data to be rectified or erased, for its processing to be restricted, and object to it "
        "(Art. 15(1)(e)), and lodge a complaint with a supervisory authority (Art. 15(1)(f)). No decision about you "
        "is taken by automated means alone (Art. 15(1)(h))."
    )
    for number, part in enumerate(export["services"], start=1):
        processing = part["processing"]
        heading(f"{number}. The {part['service']} service", 14)
        heading("Purposes of the processing (Art. 15(1)(a))", 11)
        for purpose in processing["purposes"] or ["None."]:
            line(f"- {purpose}")
        heading("Categories of personal data (Art. 15(1)(b))", 11)
        for category in processing["categories"] or ["None."]:
            line(f"- {category}")
        heading("Recipients (Art. 15(1)(c))", 11)
        for recipient in processing["recipients"] or ["None."]:
            line(f"- {recipient}")
        heading("Retention (Art. 15(1)(d))", 11)
        line(processing["retention"])
        heading("Source of the data (Art. 15(1)(g))", 11)
        line(processing["source"])
        heading("The data held", 11)
        if not any(part["records"].values()):
            line("No record about you is held here.")
        for what, records in part["records"].items():
            pdf.set_font(family, "B", 10)
            line(f"{what.replace('_', ' ').capitalize()}: {len(records)}")
            pdf.set_font(family, "", 9)
            for index, item in enumerate(records, start=1):
                line(f"{what} {index}")
                for key, value in item.items():
                    line(f"    {key}: {_value(value)}")
    return bytes(pdf.output())


def add_privacy_export(router: APIRouter, settings: GatewaySettings, upstreams: dict[str, str]) -> None:
    """Add `GET /api/v1/privacy/subjects/{kind}/{id}/export` to `router`."""

    @router.get(
        EXPORT_PATH,
        response_model=SubjectExport,
        tags=["privacy"],
        summary="Everything the platform holds about a data subject (GDPR Art. 15), as JSON or PDF (Admin)",
        description="Every service is asked at once for what it holds about the subject (a client who is a person, "
        "or a user) and what it declares about that processing: purposes, categories, recipients, retention and "
        "source. The answer is whole or nothing: a service that does not answer makes it a 503 naming it. The "
        "export is registered as a data-subject request.",
        responses={
            200: {
                "description": "The export: JSON (streamed) or a PDF",
                "content": {"application/json": {}, "application/pdf": {}},
            },
            403: {"description": "The caller is not an Admin (problem+json)"},
            404: {"description": "No such subject (the owning service does not know them) (problem+json)"},
            503: {"description": "A service did not answer; `services` names them (problem+json)"},
        },
    )
    async def export_subject(
        subject_kind: SubjectKind,
        subject_id: uuid.UUID,
        request: Request,
        caller: Admin,
        format: Annotated[Literal["json", "pdf"], Query(description="`json` or `pdf`")] = "json",
    ) -> Response:
        parts = await gather_export(request, settings, upstreams, subject_kind, subject_id)
        await register_request(
            request, settings, kind="export", subject_kind=subject_kind, subject_id=subject_id, by=caller.user_id
        )
        now = datetime.now(UTC)
        head = {
            "subject_kind": subject_kind,
            "subject_id": str(subject_id),
            "generated_at": now.isoformat(),
            "requested_by": str(caller.user_id),
        }
        name = f"subject-{subject_kind}-{subject_id}-{now:%Y%m%d%H%M%S}"
        if format == "json":
            return StreamingResponse(
                _json_chunks(head, parts),
                media_type="application/json",
                headers={"Content-Disposition": f'attachment; filename="{name}.json"'},
            )
        # Drawing takes a while of CPU: off the event loop every request shares.
        pdf = await asyncio.to_thread(render_pdf, {**head, "services": parts})
        return Response(
            pdf, media_type="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'}
        )
