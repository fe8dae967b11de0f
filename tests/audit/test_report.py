"""The compliance report (issue 16) from a day of trail: access changes, SLA per department, dead letters resolved,
the chain verified; the PDF read back with poppler's pdftotext and rendered with pdftoppm. On the rolled-back audit
database, the records written by the real consumer group on TestKafkaBroker."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from services.audit import report
from shared import clock
from shared.contracts import FieldChange
from shared.contracts.dead_letters import CONTRACTS
from shared.contracts.tasks import TaskUpdated
from tests import events
from tests.bus import consumer_bus, consumer_of

DAY = datetime(2027, 3, 1, tzinfo=UTC)


@pytest.fixture
async def bus(sessionmaker):
    async with consumer_bus("audit", consumer_of("audit", "audit"), sessionmaker) as bus:
        yield bus


async def at(bus, hours: float, data, subject: str) -> None:
    clock.set_clock(clock.FrozenClock(DAY + timedelta(hours=hours)))
    await bus.publish(data, subject=subject)


async def test_a_days_report_lists_access_changes_sla_per_department_and_dead_letters(bus, session, tmp_path):
    try:
        sales = events.department_created(name="Πωλήσεις Sales")  # a Greek name: the PDF must carry it
        await at(bus, -30, sales, str(sales.department_id))  # the day before: a name known, not a change of the day
        ada = events.user_created(name="Ada Tester", role="Employee", department_id=sales.department_id)
        await at(bus, 1, ada, str(ada.user_id))
        promoted = events.user_updated(ada.user_id, changes=events.changes(role=("Employee", "Manager")))
        await at(bus, 2, promoted, str(ada.user_id))
        await at(bus, 3, events.user_deactivated(ada.user_id), str(ada.user_id))

        on_time = events.task_created(department_id=sales.department_id)
        late = events.task_created(department_id=sales.department_id)
        for hours, data, subject in (
            (4, on_time, on_time.task_id),
            (4, late, late.task_id),
            (
                5,
                events.task_sla_changed("yellow", task_id=on_time.task_id, department_id=sales.department_id),
                on_time.task_id,
            ),
            (6, events.task_sla_changed("red", task_id=late.task_id, department_id=sales.department_id), late.task_id),
            (6.5, events.task_escalated(task_id=late.task_id, department_id=sales.department_id), late.task_id),
        ):
            await at(bus, hours, data, str(subject))
        for hours, task in ((7, on_time), (8, late)):
            done = TaskUpdated(
                task_id=task.task_id,
                client_id=None,
                opportunity_id=None,
                assignee_id=None,
                changes={"status": FieldChange(before="open", after="done")},
            )
            await at(bus, hours, done, str(task.task_id))
        replayed = CONTRACTS["tasks"][0](
            consumer="tasks.routing",
            dead_letter_id=7,
            parked_event_id="e-1",
            parked_event_type="x.y.z",
            topic="pipeline.opportunity.events",
            partition=0,
            offset=3,
        )
        await at(bus, 9, replayed, "tasks.routing:7")
        # The next day's change is not the day's.
        await at(bus, 25, events.user_updated(ada.user_id), str(ada.user_id))
    finally:
        clock.set_clock(clock.SystemClock())

    data = await report.compliance_report(
        session,
        since=DAY,
        until=DAY + timedelta(days=1),
        checkpoint_file=tmp_path / "none.jsonl",
        key=None,
        chunk_size=100,
    )
    # Each person by the name their events last gave (renamed the next day).
    changes = [(c["what"], c["subject"], c["fields"]) for c in data["access_changes"]]
    assert changes == [
        (
            "created",
            "Ada Renamed",
            {
                "role": "Employee",
                "department_id": "Πωλήσεις Sales",
                "active": True,
                "name": "Ada Tester",
                "email": ada.email,
            },
        ),
        ("changed", "Ada Renamed", {"role": "Manager"}),
        ("deactivated", "Ada Renamed", {"active": False}),
    ]
    assert data["deactivations"] == 1
    [row] = data["sla"]
    assert row == {
        "department_id": str(sales.department_id),
        "department": "Πωλήσεις Sales",
        "opened": 2,
        "at_risk": 1,
        "overdue": 1,
        "escalated": 1,
        "closed_on_time": 1,
        "closed_late": 1,
    }
    [dead] = data["dead_letters_resolved"]
    assert (dead["event_type"], dead["dead_letter"], dead["topic"]) == (
        "tasks.dead_letter.replayed",
        "tasks.routing:7",
        "pipeline.opportunity.events",
    )
    verification = data["chain"]["verification"]
    assert verification["ok"] and verification["checked"] == data["chain"]["records_in_period"] == 11

    pdf = report.render_pdf(data)
    assert pdf.startswith(b"%PDF")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    assert shutil.which("pdftotext") and shutil.which("pdftoppm"), "make pdftools installs poppler-utils"
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True, text=True).stdout
    for expected in (
        "InsureOps compliance report",
        "Ada Tester",
        "Πωλήσεις Sales",
        "deactivations",
        "intact",
        "tasks.routing:7",
    ):
        assert expected in text, expected
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "1", str(path), str(tmp_path / "page")], check=True
    )
    assert (tmp_path / "page-1.png").stat().st_size > 1000


async def test_people_are_named_from_their_sealed_events_or_erased_and_requests_are_counted(
    bus, session, tmp_path, key_provider
):
    import uuid

    from sqlalchemy import select

    from services.audit.models import AuditRecord
    from shared.contracts.privacy import ERASED, RequestRecorded

    def request(kind: str, outcome: str) -> RequestRecorded:
        return RequestRecorded(
            request_id=uuid.uuid4(),
            kind=kind,  # type: ignore[arg-type]
            subject_kind="client",
            subject_id=uuid.uuid4(),
            outcome=outcome,  # type: ignore[arg-type]
            requested_by=None,
            kept=[],
        )

    try:
        ada = events.user_created(name="Ada Sealed", role="Employee", department_id=None)
        await at(bus, 1, ada, str(ada.user_id))
        for hours, (kind, outcome) in enumerate((("erasure", "completed"), ("export", "completed")), start=2):
            await at(bus, hours, request(kind, outcome), f"r{hours}")
        await at(bus, 30, request("erasure", "restricted"), "next-day")
    finally:
        clock.set_clock(clock.SystemClock())
    stored = (
        await session.execute(select(AuditRecord.data).where(AuditRecord.aggregate_id == str(ada.user_id)))
    ).scalar_one()
    assert stored["name"]["enc"] == "v1" and "Ada Sealed" not in str(stored)

    async def day():
        return await report.compliance_report(
            session,
            since=DAY,
            until=DAY + timedelta(days=1),
            checkpoint_file=tmp_path / "none.jsonl",
            key=None,
            chunk_size=100,
        )

    data = await day()
    [created] = data["access_changes"]
    assert (created["subject"], created["fields"]["name"], created["fields"]["email"]) == (
        "Ada Sealed",
        "Ada Sealed",
        ada.email,
    )
    requests = data["data_subject_requests"]
    assert (requests["received"], requests["handled"]) == (2, 2)
    assert requests["by_kind_and_outcome"] == {"erasure completed": 1, "export completed": 1}

    key_provider.destroy(f"user:{ada.user_id}")
    [created] = (await day())["access_changes"]
    assert (created["subject"], created["fields"]["name"], created["fields"]["email"]) == (ERASED, ERASED, ERASED)
