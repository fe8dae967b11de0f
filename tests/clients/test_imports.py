"""Imports from spreadsheets: reading CSV and XLSX, the templates, each row's own checks (pure), and the dry run's
checks against the clients database (rolled back): duplicates by tax id, parents that would make a cycle, rows
whose parent is refused, re-imports by external id. The whole flow through the gateway: tests/integration/
test_imports.py."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from services.clients.imports import checks, parsing
from services.clients.imports.parsing import FileProblem, Row, read_table
from services.clients.models import ImportedRecord, people
from shared.auth import Principal
from tests.clients.support import a_client

TODAY = date(2026, 6, 15)
HEADER = "external_id,name,kind,tax_id,country,email,phone,address,department,parent"


def csv_bytes(*lines: str, header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *lines]) + "\r\n").encode()


def manager(department_id: uuid.UUID) -> Principal:
    return Principal(uuid.uuid4(), "Manager", department_id, "Maria", "maria@example.com")


# Files -----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind", parsing.KINDS)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_template_reads_back_as_its_own_columns_with_one_valid_example_row(kind, fmt):
    header, rows = read_table(parsing.template(kind, fmt), kind)
    assert header == list(parsing.COLUMNS[kind])
    assert len(rows) == 1 and rows[0].number == 2
    checked = parsing.check_client_row(rows[0]) if kind == "clients" else parsing.check_contract_row(rows[0], TODAY)
    assert checked.problems == []


def test_xlsx_and_csv_of_the_same_rows_read_the_same():
    lines = [["C-1", "Acme", "company", "094014201", "GR", "", "", "", "", ""], ["C-2", "Eva", "individual"]]
    xlsx = parsing.write_xlsx(HEADER.split(","), lines)
    csv_ = csv_bytes("C-1,Acme,company,094014201,GR,,,,,", "C-2,Eva,individual,,,,,,,")
    assert [r.raw for r in read_table(xlsx, "clients")[1]] == [r.raw for r in read_table(csv_, "clients")[1]]


def test_headers_match_loosely_and_blank_rows_are_skipped_but_counted_in_row_numbers():
    data = csv_bytes("X-1,Acme,company", ",,", "X-2,Beta,company", header="External ID;Name;KIND".replace(";", ","))
    _, rows = read_table(data, "clients")
    assert [(r.number, r.external_id) for r in rows] == [(2, "X-1"), (4, "X-2")]


def test_a_semicolon_csv_is_read():
    _, rows = read_table(b"external_id;name;kind\nA;Acme;company\n", "clients")
    assert rows[0].raw["name"] == "Acme"


@pytest.mark.parametrize(
    "data, status",
    [
        (b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff", 415),  # an executable
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 415),
        (b"PK\x03\x04 not really a zip", 415),
        (b"", 422),
        (b"   \n", 422),
    ],
)
def test_what_is_not_a_spreadsheet_is_refused_naming_the_file(data, status):
    with pytest.raises(FileProblem) as caught:
        read_table(data, "clients")
    assert (caught.value.field, caught.value.status) == ("file", status)


def test_missing_columns_are_named():
    with pytest.raises(FileProblem, match="missing column\\(s\\): kind"):
        read_table(b"external_id,name\nA,Acme\n", "clients")
    with pytest.raises(FileProblem, match="line, insurer, premium"):
        read_table(b"external_id,client,currency,start,end,status\n", "contracts")


# One row -----------------------------------------------------------------------------------------------------
def client_row(**raw: str) -> Row:
    base = {"external_id": "C-1", "name": "Acme", "kind": "company", "country": "GR"}
    return parsing.check_client_row(Row(2, {**base, **raw}))


def reasons(row: Row) -> dict[str, str]:
    return {p.column: p.reason for p in row.problems}


def test_a_client_row_is_normalised():
    row = client_row(tax_id="EL 094-014-201", email="Info@Acme.Example", country="gr")
    assert row.problems == []
    assert (row.values["tax_id"], row.values["email"], row.values["country"]) == (
        "094014201",
        "info@acme.example",
        "GR",
    )


def test_an_empty_country_is_greece_so_the_afm_check_digit_applies():
    row = client_row(country="", tax_id="094014202")
    assert "check digit" in reasons(row)["tax_id"]
    assert row.problems[0].value == "094014202"


@pytest.mark.parametrize(
    "raw, column, reason",
    [
        ({"name": ""}, "name", "required"),
        ({"kind": "partnership"}, "kind", "individual or company"),
        ({"email": "not-mail"}, "email", "not an email"),
        ({"phone": "call me"}, "phone", "phone number"),
        ({"country": "Greece"}, "country", "alpha-2"),
        ({"country": "DE", "tax_id": "x"}, "tax_id", "4 to 20"),
    ],
)
def test_a_client_row_is_refused_naming_the_column(raw, column, reason):
    assert reason in reasons(client_row(**raw))[column]


def contract_row(**raw: str) -> Row:
    base = {
        "external_id": "P-1",
        "client": "C-1",
        "line": "Marine",
        "insurer": "Hellenic",
        "policy_number": "HI-1",
        "premium": "1200.50",
        "currency": "eur",
        "start": "2026-01-01",
        "end": "2026-12-31",
        "status": "active",
    }
    return parsing.check_contract_row(Row(3, {**base, **raw}), TODAY)


def test_a_contract_row_is_normalised():
    row = contract_row()
    assert row.problems == []
    assert (row.values["premium"], row.values["currency"], row.values["start"]) == ("1200.50", "EUR", "2026-01-01")


@pytest.mark.parametrize(
    "raw, column, reason",
    [
        ({"end": "2025-12-31"}, "end", "end is before"),
        ({"end": "2026-01-01"}, "end", "end is before"),
        ({"start": "01/01/2026"}, "start", "YYYY-MM-DD"),
        ({"premium": "0"}, "premium", "greater than 0"),
        ({"premium": "12.345"}, "premium", "2 decimals"),
        ({"premium": "lots"}, "premium", "decimal number"),
        ({"currency": "EURO"}, "currency", "ISO 4217"),
        ({"status": "sleeping"}, "status", "one of"),
        ({"status": "active", "policy_number": ""}, "policy_number", "required"),
        ({"status": "active", "start": "2026-07-01"}, "status", "do not cover today"),
        ({"status": "expired"}, "status", "ends on or after today"),
        ({"status": "issued"}, "status", "started on or before today"),
    ],
)
def test_a_contract_row_is_refused_naming_the_column(raw, column, reason):
    assert reason in reasons(contract_row(**raw))[column]


def test_a_pending_contract_needs_no_policy_number():
    assert contract_row(status="pending_issuance", policy_number="").problems == []


# Against the database -----------------------------------------------------------------------------------------
async def a_department(session, name: str) -> uuid.UUID:
    department_id = uuid.uuid4()
    await session.execute(people.departments.insert().values(id=department_id, name=name))
    return department_id


def rows_of(*lines: str) -> list[Row]:
    return read_table(csv_bytes(*lines), "clients")[1]


async def test_the_dry_run_of_clients_reports_each_broken_row_and_what_it_would_do(session):
    department = await a_department(session, "Corporate")
    existing = await a_client(session, name="Old Holdings", tax_id="094019245", country="GR", department_id=department)
    verdicts = await checks.check_clients(
        session,
        rows_of(
            "A,Alpha,company,094014201,GR,,,,,",  # 2 fine
            "B,Beta,company,094014202,GR,,,,,A",  # 3 bad check digit
            "C,Gamma,company,094019245,GR,,,,,",  # 4 duplicate of an existing client
            "D,Delta,company,,,,,,,E",  # 5 cycle D -> E -> D
            "E,Epsilon,company,,,,,,,D",  # 6
            "F,Phi,company,,,,,,,B",  # 7 parent's row refused
            "G,Gi,company,,,,,,,Old Holdings",  # 8 an existing parent by name
            "A,Alpha again,company,,,,,,,",  # 9 duplicate external id
            "H,Eta,company,,,,,,Nowhere,",  # 10 unknown department
        ),
        manager(department),
    )
    got = {row.number: (action, reasons(row)) for row, action in verdicts}
    assert got[2] == ("create", {})
    assert "check digit" in got[3][1]["tax_id"]
    assert "duplicate of an existing client by tax id (Old Holdings)" in got[4][1]["tax_id"]
    assert "cycle" in got[5][1]["parent"] and "cycle" in got[6][1]["parent"]
    assert got[7][1] == {"parent": "the parent's row 3 is refused"}
    assert got[8] == ("create", {})
    assert [row.values["parent_id"] for row, _ in verdicts if row.number == 8] == [str(existing.id)]
    assert "row 2" in got[9][1]["external_id"]
    assert got[10][1] == {"department": "no department of this name"}
    assert [n for n, (action, _) in got.items() if action == "refused"] == [3, 4, 5, 6, 7, 9, 10]


async def test_a_re_import_updates_what_changed_and_leaves_the_rest(session):
    department = await a_department(session, "Retail")
    same = await a_client(session, name="Same", kind="company", country="GR", department_id=department)
    moved = await a_client(session, name="Moved", kind="company", country="GR", department_id=department)
    job = uuid.uuid4()
    session.add_all(
        [
            ImportedRecord(kind="clients", external_id="S", record_id=same.id, job_id=job),
            ImportedRecord(kind="clients", external_id="M", record_id=moved.id, job_id=job),
        ]
    )
    await session.flush()
    verdicts = await checks.check_clients(
        session,
        rows_of("S,Same,company,,GR,,,,,", "M,Moved Ltd,company,,GR,,,,,", "N,New,company,,,,,,,"),
        manager(department),
    )
    assert [(row.external_id, action) for row, action in verdicts] == [
        ("S", "unchanged"),
        ("M", "update"),
        ("N", "create"),
    ]
    assert verdicts[1][0].values["changes"] == {"name": {"before": "Moved", "after": "Moved Ltd"}}


async def test_moving_an_imported_client_under_its_own_child_is_a_cycle(session):
    department = await a_department(session, "Marine")
    top = await a_client(session, name="Top", department_id=department)
    child = await a_client(session, name="Child", department_id=department, parent_id=top.id)
    session.add(ImportedRecord(kind="clients", external_id="TOP", record_id=top.id, job_id=uuid.uuid4()))
    await session.flush()
    verdicts = await checks.check_clients(session, rows_of("TOP,Top,company,,,,,,,Child"), manager(department))
    assert verdicts[0][1] == "refused"
    assert reasons(verdicts[0][0]) == {"parent": "a parent that would make a cycle"}
    assert child.parent_id == top.id


async def test_the_dry_run_of_contracts_resolves_clients_and_lines(session):
    department = await a_department(session, "Motor")
    client = await a_client(session, name="Acme", tax_id="094014201", country="GR", department_id=department)
    other = await a_client(session, name="Hidden", tax_id="094019245", country="GR", department_id=uuid.uuid4())
    session.add(ImportedRecord(kind="clients", external_id="C-1", record_id=client.id, job_id=uuid.uuid4()))
    await session.flush()
    base = "Marine,Hellenic,HI-{n},100,EUR,2026-01-01,2026-12-31,active"
    header = ",".join(parsing.CONTRACT_COLUMNS)
    data = csv_bytes(
        "P-1,C-1," + base.format(n=1),
        "P-2,094014201," + base.format(n=2),  # by tax id
        "P-3,094019245," + base.format(n=3),  # a client of another department: unknown to this caller
        "P-4,C-1," + base.format(n=4).replace("Marine", "Space"),
        "P-5,C-1," + base.format(n=1),  # the same policy number as row 2
        header=header,
    )
    rows = read_table(data, "contracts")[1]
    lines = {"marine": str(uuid.uuid4())}
    verdicts = await checks.check_contracts(session, rows, manager(department), lines, TODAY)
    got = {row.number: (action, reasons(row)) for row, action in verdicts}
    assert got[2] == ("create", {}) and got[3] == ("create", {})
    assert verdicts[1][0].values["client_id"] == str(client.id)
    assert got[4][1] == {"client": "no client with this external id or tax id"}
    assert got[5][1] == {"line": "unknown line"}
    assert "row 2" in got[6][1]["policy_number"]
    assert other.department_id != department


def test_a_csv_cell_beyond_the_csv_modules_limit_is_a_named_problem_not_a_crash():
    with pytest.raises(FileProblem, match="not a readable CSV"):
        read_table(b"external_id,name,kind\nA," + b"x" * 200_000 + b",company\n", "clients")


def test_more_rows_than_allowed_are_refused_before_reading_the_rest():
    data = csv_bytes(*[f"C-{i},Name {i},company" for i in range(20)], header="external_id,name,kind")
    with pytest.raises(FileProblem, match="at most 10"):
        read_table(data, "clients", max_rows=10)
    xlsx = parsing.write_xlsx(["external_id", "name", "kind"], [[f"C-{i}", "N", "company"] for i in range(20)])
    with pytest.raises(FileProblem, match="at most 10"):
        read_table(xlsx, "clients", max_rows=10)


def test_overlong_external_ids_are_refused():
    assert "200" in reasons(client_row(external_id="x" * 201))["external_id"]


# The commit ---------------------------------------------------------------------------------------------------
async def test_a_commit_stopped_half_way_is_interrupted_and_resumes_without_duplicates(
    session, sessionmaker, monkeypatch
):
    from types import SimpleNamespace

    from sqlalchemy import func, select

    from services.clients import service as clients_service
    from services.clients.imports import service as imports
    from services.clients.models import Client, ImportJob, ImportRow

    department = await a_department(session, "Resume")
    caller = manager(department)
    settings = SimpleNamespace(import_max_rows=100, import_batch_rows=1)
    data = csv_bytes("R-1,Resume One,company,,,,,,,", "R-2,Resume Two,company,,,,,,,R-1", "R-3,Resume Three,company")
    job = await imports.dry_run(session, "clients", "r.csv", data, caller, settings, "", TODAY)  # type: ignore[arg-type]
    assert (job.to_create, job.refused) == (3, 0)
    app = SimpleNamespace(state=SimpleNamespace(sessionmaker=sessionmaker, settings=settings))

    real_create = clients_service.create_client
    calls = []

    async def failing_on_the_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        return await real_create(*args, **kwargs)

    monkeypatch.setattr(clients_service, "create_client", failing_on_the_second)

    async def state() -> tuple[str, int, dict[str, str], int]:
        current = (await session.execute(select(ImportJob.state, ImportJob.done).where(ImportJob.id == job.id))).one()
        rows = await session.execute(select(ImportRow.external_id, ImportRow.state).where(ImportRow.job_id == job.id))
        made = await session.scalar(select(func.count()).where(Client.name.like("Resume %")))
        return current.state, current.done, dict(rows.tuples().all()), made or 0

    await imports._run(app, job.id, "clients", caller, "")  # type: ignore[arg-type]
    got_state, done, rows, made = await state()
    assert (got_state, done, made) == ("interrupted", 1, 1)
    assert rows == {"R-1": "done", "R-2": "pending", "R-3": "pending"}
    error = await session.scalar(select(ImportJob.error).where(ImportJob.id == job.id))
    assert "the database went away" in (error or "") and "commit again to resume" in (error or "")

    # Committing again resumes from where it stopped: every client once, the child under its parent.
    await imports._run(app, job.id, "clients", caller, "")  # type: ignore[arg-type]
    got_state, done, rows, made = await state()
    assert (got_state, done, made) == ("committed", 3, 3)
    assert set(rows.values()) == {"done"}
    parent = await session.scalar(select(Client).where(Client.name == "Resume One"))
    child = await session.scalar(select(Client).where(Client.name == "Resume Two"))
    assert parent is not None and child is not None and child.parent_id == parent.id


async def test_a_contract_row_waits_for_the_contracts_service_to_know_its_client(monkeypatch):
    """The contracts service answers "no client" until its copy of the clients has the one this import just
    created: the row is asked again (not failed) while that lasts, and any other refusal is the row's answer."""
    import httpx

    from services.clients.imports import service as imports

    monkeypatch.setattr(imports.asyncio, "sleep", _no_sleep)
    answers = [
        (422, {"errors": [{"field": "body.client_id", "message": "no client 1"}]}),
        (422, {"errors": [{"field": "body.client_id", "message": "no client 1"}]}),
        (201, {"id": str(uuid.uuid4())}),
    ]
    asked = []

    def reply(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.path)
        status, body = answers.pop(0)
        return httpx.Response(status, json=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(reply), base_url="http://contracts") as http:
        response = await imports._post_contract(http, {"client_id": "1"})
        assert response.status_code == 201 and asked == ["/api/v1/contracts"] * 3

        answers.append((422, {"errors": [{"field": "body.end_date", "message": "must be after start_date"}]}))
        response = await imports._post_contract(http, {"client_id": "1"})
        assert response.status_code == 422 and len(asked) == 4  # a refusal of the row itself: at once


async def _no_sleep(seconds: float) -> None:
    return None
