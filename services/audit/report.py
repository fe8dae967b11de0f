"""The compliance report for a period (issue 16), from the audit trail alone: the chain's verification over the
period and its latest checkpoint, access changes (users, roles, departments, deactivations), SLA performance per
department (tasks opened, at risk, overdue, escalated, closed on time and late), dead letters resolved, and
data-subject requests. As JSON (`compliance_report`) and as a PDF an auditor can be handed (`render_pdf`).

Every figure is computed from the chained records of the period (`occurred_at` in [since, until)): the report says
what the trail holds, and the trail is what verify vouches for.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit import service
from services.audit.checkpoints import checkpoint_file_size, latest_checkpoint, read_checkpoints
from services.audit.models import AuditRecord, AuditScope
from shared.clock import now
from shared.privacy.fields import reveal

USER_EVENTS = ("identity.user.created", "identity.user.updated", "identity.user.deactivated")
DEPARTMENT_EVENTS = ("identity.department.created", "identity.department.updated", "identity.department.deleted")
# The fields of a user or department whose change is an access change.
ACCESS_FIELDS = ("role", "department_id", "active", "manager_id", "name", "email")
NO_DEPARTMENT = "(no department)"


def _in_period(since: datetime, until: datetime):
    return and_(AuditRecord.occurred_at >= since, AuditRecord.occurred_at < until)


async def _access_change(record: AuditRecord, names: dict[str, str]) -> dict[str, Any]:
    # A user's name and email are stored sealed with their key: the report shows them opened, or "erased".
    data, _ = await reveal(record.data or {}, None, event_id=record.event_id)
    if record.event_type.endswith(".created"):
        fields = {k: data.get(k) for k in ACCESS_FIELDS if k in data}
        what = "created"
    elif record.event_type.endswith(".deleted"):
        fields, what = {}, "deleted"
    else:
        changes = data.get("changes") or {}
        fields = {k: (v or {}).get("after") for k, v in changes.items() if k in ACCESS_FIELDS}
        what = "deactivated" if record.event_type.endswith(".deactivated") else "changed"
        if data.get("password_changed"):
            fields["password"] = "changed"
    for key in ("department_id", "manager_id"):
        value = fields.get(key)
        if isinstance(value, str):
            fields[key] = names.get(value, value)
    subject = record.aggregate_id or ""
    return {
        "at": record.occurred_at.isoformat(),
        "seq": record.seq,
        "event_type": record.event_type,
        "what": what,
        "subject": names.get(subject, subject),
        "subject_id": subject,
        "actor": f"{record.actor_type}:{record.actor_id}" if record.actor_type else None,
        "actor_name": names.get(record.actor_id or ""),
        "fields": fields,
    }


async def _requests(session: AsyncSession, period: Any) -> dict[str, Any]:
    """The data-subject requests the privacy service recorded in the period (each is recorded once handled)."""
    rows = (
        await session.execute(
            select(AuditRecord.data).where(period, AuditRecord.event_type == "privacy.request.recorded")
        )
    ).scalars()
    by: dict[str, int] = {}
    for data in rows:
        if isinstance(data, dict):
            label = f"{data.get('kind')} {data.get('outcome')}"
            by[label] = by.get(label, 0) + 1
    total = sum(by.values())
    note = ", ".join(f"{label}: {n}" for label, n in sorted(by.items())) or "none in the period"
    return {"received": total, "handled": total, "by_kind_and_outcome": by, "note": note + "."}


async def _names(session: AsyncSession) -> dict[str, str]:
    """Users' and departments' names by id, as their events last gave them."""
    rows = await session.execute(
        select(AuditRecord.aggregate_id, AuditRecord.event_type, AuditRecord.data, AuditRecord.event_id)
        .where(AuditRecord.event_type.in_(USER_EVENTS[:2] + DEPARTMENT_EVENTS[:2]))
        .order_by(AuditRecord.seq)
    )
    names: dict[str, str] = {}
    for aggregate_id, event_type, stored, event_id in rows:
        if not aggregate_id or not isinstance(stored, dict):
            continue
        data, _ = await reveal(stored, None, event_id=event_id)
        if event_type.endswith(".created") and isinstance(data.get("name"), str):
            names[aggregate_id] = data["name"]
        change = (data.get("changes") or {}).get("name") if isinstance(data.get("changes"), dict) else None
        if isinstance(change, dict) and isinstance(change.get("after"), str):
            names[aggregate_id] = change["after"]
    return names


async def _sla(session: AsyncSession, since: datetime, until: datetime, names: dict[str, str]) -> list[dict]:
    """Per department: tasks opened, gone at risk (yellow) and overdue (red), escalated, and closed done in the
    period, on time (never red before closing) or late."""
    period = _in_period(since, until)
    department = AuditRecord.data["department_id"].astext
    per: dict[str, Counter[str]] = defaultdict(Counter)
    for label, event_type in (("opened", "tasks.task.created"), ("escalated", "tasks.task.escalated")):
        rows = await session.execute(
            select(department, func.count()).where(period, AuditRecord.event_type == event_type).group_by(department)
        )
        for dept, count in rows:
            per[dept or NO_DEPARTMENT][label] += count
    state = AuditRecord.data["changes"]["sla_state"]["after"].astext
    for label, colour in (("at_risk", "yellow"), ("overdue", "red")):
        rows = await session.execute(
            select(department, func.count(AuditRecord.aggregate_id.distinct()))
            .where(period, AuditRecord.event_type == "tasks.task.sla_changed", state == colour)
            .group_by(department)
        )
        for dept, count in rows:
            per[dept or NO_DEPARTMENT][label] += count
    # Closed (status to done) in the period, by the task's department (audit_scopes), late if it went red before.
    closed = AuditRecord.data["changes"]["status"]["after"].astext
    red = AuditRecord.__table__.alias("red_records")
    went_red = (
        select(red.c.seq)
        .where(
            red.c.aggregate_id == AuditRecord.aggregate_id,
            red.c.event_type == "tasks.task.sla_changed",
            red.c.data["changes"]["sla_state"]["after"].astext == "red",
            red.c.seq < AuditRecord.seq,
        )
        .exists()
    )
    rows = await session.execute(
        select(AuditScope.department_id, went_red, func.count())
        .select_from(AuditRecord)
        .outerjoin(
            AuditScope,
            and_(AuditScope.aggregate_type == "tasks.task", AuditScope.aggregate_id == AuditRecord.aggregate_id),
        )
        .where(period, AuditRecord.event_type == "tasks.task.updated", closed == "done")
        .group_by(AuditScope.department_id, went_red)
    )
    for dept, late, count in rows:
        per[str(dept) if dept else NO_DEPARTMENT]["closed_late" if late else "closed_on_time"] += count
    labels = ("opened", "at_risk", "overdue", "escalated", "closed_on_time", "closed_late")
    return [
        {"department_id": dept, "department": names.get(dept, dept), **{k: counts[k] for k in labels}}
        for dept, counts in sorted(per.items(), key=lambda item: names.get(item[0], item[0]))
    ]


async def compliance_report(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    checkpoint_file: Path,
    key: bytes | None,
    chunk_size: int,
) -> dict[str, Any]:
    period = _in_period(since, until)
    names = await _names(session)
    access = (
        await session.scalars(
            select(AuditRecord)
            .where(period, AuditRecord.event_type.in_(USER_EVENTS + DEPARTMENT_EVENTS))
            .order_by(AuditRecord.seq)
        )
    ).all()
    dead = (
        await session.scalars(
            select(AuditRecord)
            .where(
                period,
                AuditRecord.event_type.like("%.dead_letter.%"),
            )
            .order_by(AuditRecord.seq)
        )
    ).all()
    first, last = (
        await session.execute(select(func.min(AuditRecord.seq), func.max(AuditRecord.seq)).where(period))
    ).one()
    verification: dict[str, Any] | None = None
    if first is not None:
        end = checkpoint_file_size(checkpoint_file)
        async for step in service.verify_chain(
            session,
            from_seq=first,
            to_seq=last,
            checkpoints=read_checkpoints(checkpoint_file, end=end),
            chunk_size=chunk_size,
            key=key,
        ):
            verification = step or verification
    latest = latest_checkpoint(checkpoint_file)
    deactivations = [r for r in access if r.event_type == "identity.user.deactivated"]
    return {
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "generated_at": now().isoformat(),
        "chain": {
            "records_in_period": 0 if first is None else last - first + 1,
            "verification": verification,
            "latest_checkpoint": None
            if latest is None
            else {"seq": latest.seq, "hash": latest.hash, "checkpointed_at": latest.checkpointed_at},
        },
        "access_changes": [await _access_change(r, names) for r in access],
        "deactivations": len(deactivations),
        "sla": await _sla(session, since, until, names),
        "dead_letters_resolved": [
            {
                "at": r.occurred_at.isoformat(),
                "event_type": r.event_type,
                "dead_letter": r.aggregate_id,
                "actor": f"{r.actor_type}:{r.actor_id}" if r.actor_type else None,
                "actor_name": names.get(r.actor_id or "", None),
                "topic": (r.data or {}).get("topic"),
            }
            for r in dead
        ],
        "data_subject_requests": await _requests(session, period),
    }


# The PDF ---------------------------------------------------------------------------------------------------

# A font with Greek and every other script the brokerage's names are in; Helvetica (Latin-1 only) without it.
FONT_CANDIDATES = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)


def render_pdf(report: dict[str, Any], *, font: Path | None = None) -> bytes:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

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

    def heading(title: str) -> None:
        pdf.ln(4)
        pdf.set_font(family, "B", 13)
        pdf.cell(0, 8, text(title), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 9)

    def line(value: str) -> None:
        pdf.multi_cell(0, 5, text(value), new_x="LMARGIN", new_y="NEXT")

    def table(headings: tuple[str, ...], rows: list[tuple[Any, ...]], widths: tuple[int, ...]) -> None:
        if not rows:
            line("None in the period.")
            return
        with pdf.table(
            col_widths=widths, headings_style=FontFace(emphasis="BOLD"), line_height=5, text_align="LEFT"
        ) as t:
            t.row([text(h) for h in headings])
            for row in rows:
                t.row([text(cell) for cell in row])

    pdf.add_page()
    pdf.set_font(family, "B", 16)
    pdf.cell(0, 10, "InsureOps compliance report", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9)
    period = report["period"]
    line(f"Period: {period['since']} to {period['until']} (events that occurred in it)")
    line(f"Generated: {report['generated_at']}")

    heading("1. The audit trail's integrity")
    chain = report["chain"]
    verification = chain["verification"]
    line(f"Records of the period: {chain['records_in_period']}")
    if verification is None:
        line("Verification: no record in the period.")
    else:
        verdict = "intact" if verification["ok"] else "BROKEN"
        line(
            f"Verification of seq {verification['from_seq']} to {verification['to_seq']}: {verdict}; "
            f"{verification['checked']} records checked, {verification['seals_checked']} seals checked against the "
            f"chain key (sealed from seq {verification['sealed_from_seq']})."
        )
        if verification["break"]:
            found = verification["break"]
            line(f"First break at seq {found['seq']}: {found['reason']} ({found['meaning']}). {found['detail']}")
    latest = chain["latest_checkpoint"]
    line(
        "Latest checkpoint kept outside the database: "
        + ("none" if latest is None else f"seq {latest['seq']}, hash {latest['hash']}, at {latest['checkpointed_at']}")
    )

    heading("2. Access changes")
    line(f"{len(report['access_changes'])} changes, {report['deactivations']} deactivations.")
    table(
        ("When", "What", "Who / which", "Changed", "By"),
        [
            (
                c["at"][:19].replace("T", " "),
                c["event_type"].split(".", 1)[1].replace(".", " "),
                c["subject"],
                ", ".join(f"{k}: {v}" for k, v in c["fields"].items()),
                c["actor_name"] or c["actor"],
            )
            for c in report["access_changes"]
        ],
        (28, 30, 38, 60, 34),
    )

    heading("3. SLA performance per department")
    table(
        ("Department", "Opened", "At risk", "Overdue", "Escalated", "Closed on time", "Closed late"),
        [
            (
                d["department"],
                d["opened"],
                d["at_risk"],
                d["overdue"],
                d["escalated"],
                d["closed_on_time"],
                d["closed_late"],
            )
            for d in report["sla"]
        ],
        (50, 20, 20, 20, 22, 24, 24),
    )

    heading("4. Data-subject requests")
    requests = report["data_subject_requests"]
    line(f"Received: {requests['received']}; handled: {requests['handled']}. {requests['note']}")

    heading("5. Dead letters resolved")
    table(
        ("When", "Action", "Dead letter", "Topic", "By"),
        [
            (
                d["at"][:19].replace("T", " "),
                d["event_type"].rsplit(".", 1)[1],
                d["dead_letter"],
                d["topic"],
                d["actor_name"] or d["actor"],
            )
            for d in report["dead_letters_resolved"]
        ],
        (28, 20, 50, 50, 42),
    )
    return bytes(pdf.output())
