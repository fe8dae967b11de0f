"""Spreadsheets in, rows out: reading a CSV or XLSX upload, its templates, and the checks one row can have on its
own (no database). Pure functions: the fast tests drive them directly.

A file is a header row and data rows. Headers are matched case-insensitively, spaces and dashes read as `_`.
Row numbers are the spreadsheet's own (the header is row 1, the first data row 2), so a report points at the
line a person sees in their editor.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import EmailStr, TypeAdapter, ValidationError

from services.clients.schemas import _country, _phone
from services.clients.taxid import normalise_tax_id

Kind = Literal["clients", "contracts"]
KINDS: tuple[Kind, ...] = ("clients", "contracts")

# Column: required?, what the template's example row shows, what it means.
CLIENT_COLUMNS: dict[str, tuple[bool, str, str]] = {
    "external_id": (True, "CRM-0001", "Your id for the row; a re-import with the same id updates, never duplicates"),
    "name": (True, "Acme Shipping S.A.", "The client's name"),
    "kind": (True, "company", "individual or company"),
    "tax_id": (False, "094014201", "Tax id; a Greek AFM (check digit) when country is GR"),
    "country": (False, "GR", "ISO 3166-1 alpha-2; empty: GR"),
    "email": (False, "info@acme.example", "Email"),
    "phone": (False, "+30 210 1234567", "Phone"),
    "address": (False, "1 Akti Miaouli, Piraeus", "Postal address"),
    "department": (False, "", "Department name; empty: yours (only an Admin may name another)"),
    "parent": (False, "", "Parent company: the external id of a row (this file or an earlier import) or a name"),
}
CONTRACT_COLUMNS: dict[str, tuple[bool, str, str]] = {
    "external_id": (True, "POL-0001", "Your id for the row; a re-import with the same id creates nothing new"),
    "client": (True, "CRM-0001", "The client: the external id of an imported client, or an existing client's tax id"),
    "line": (True, "Marine", "Insurance line name (Auto, Property, Health, Life, Marine, Liability, Business, ...)"),
    "insurer": (True, "Hellenic Insurance", "Insurer"),
    "policy_number": (False, "HI-2026-0001", "Policy number; required unless status is pending_issuance"),
    "premium": (True, "1200.00", "Annual premium, a decimal > 0 with at most 2 decimals"),
    "currency": (True, "EUR", "ISO 4217"),
    "start": (True, "2026-01-01", "First day of cover (YYYY-MM-DD)"),
    "end": (True, "2026-12-31", "Last day of cover, after start"),
    "status": (True, "active", "pending_issuance, issued, active, expired or cancelled (must agree with the dates)"),
}
COLUMNS: dict[Kind, dict[str, tuple[bool, str, str]]] = {"clients": CLIENT_COLUMNS, "contracts": CONTRACT_COLUMNS}
CONTRACT_STATUSES = ("pending_issuance", "issued", "active", "expired", "cancelled")

XLSX_MAGIC = b"PK\x03\x04"


class FileProblem(Exception):
    """The file as a whole cannot be read: answered 422 (or 415) naming the field."""

    def __init__(self, message: str, *, field: str = "file", status: int = 422) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass
class Problem:
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"column": self.column, "value": self.value, "reason": self.reason}


@dataclass
class Row:
    number: int
    raw: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def refuse(self, column: str, reason: str) -> None:
        self.problems.append(Problem(column, self.raw.get(column, ""), reason))

    @property
    def external_id(self) -> str:
        return self.raw.get("external_id", "")


def _header(value: object) -> str:
    return str(value or "").strip().lower().replace(" ", "_").replace("-", "_")


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_csv(data: bytes, max_rows: int) -> list[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FileProblem(
            f"not a spreadsheet: neither an XLSX workbook nor a UTF-8 CSV file (byte {exc.start} is not UTF-8)",
            status=415,
        ) from exc
    if "\x00" in text:
        raise FileProblem("not a spreadsheet: the file holds binary data", status=415)
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    table: list[list[str]] = []
    try:
        for cells in csv.reader(io.StringIO(text), dialect):
            table.append(cells)
            if len(table) > max_rows + 1:
                raise FileProblem(f"more than {max_rows} rows: at most {max_rows} in one file")
    except csv.Error as exc:
        raise FileProblem(f"not a readable CSV file: line {len(table) + 1}: {exc}") from exc
    return table


def _read_xlsx(data: bytes, max_rows: int) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged or foreign file: all mean the same here
        raise FileProblem(f"not a readable XLSX workbook: {exc}", status=415) from exc
    table: list[list[str]] = []
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            table.append([_cell(v) for v in row])
            if len(table) > max_rows + 1:
                raise FileProblem(f"more than {max_rows} rows: at most {max_rows} in one file")
    except FileProblem:
        raise
    except Exception as exc:
        raise FileProblem(f"not a readable XLSX workbook: {exc}", status=415) from exc
    finally:
        workbook.close()
    return table


def read_table(data: bytes, kind: Kind, max_rows: int = 50_000) -> tuple[list[str], list[Row]]:
    """The file's header and its non-empty data rows; a file that is no spreadsheet or lacks a required column
    raises FileProblem."""
    if not data.strip():
        raise FileProblem("the file is empty")
    table = _read_xlsx(data, max_rows) if data.startswith(XLSX_MAGIC) else _read_csv(data, max_rows)
    if not table:
        raise FileProblem("the file is empty")
    header = [_header(h) for h in table[0]]
    columns = COLUMNS[kind]
    missing = [c for c, (required, _, _) in columns.items() if required and c not in header]
    if missing:
        raise FileProblem(f"missing column(s): {', '.join(missing)} (the template has them all)", field="file")
    rows = []
    for number, cells in enumerate(table[1:], start=2):
        texts = [_cell(c) for c in cells]
        if not any(texts):
            continue
        raw = {name: (texts[i] if i < len(texts) else "") for i, name in enumerate(header) if name in columns}
        rows.append(Row(number, raw))
    return header, rows


def template(kind: Kind, fmt: Literal["csv", "xlsx"]) -> bytes:
    columns = COLUMNS[kind]
    example = [sample for _, sample, _ in columns.values()]
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(list(columns))
        writer.writerow(example)
        return out.getvalue().encode()
    return write_xlsx(list(columns), [example], notes=[help_ for _, _, help_ in columns.values()])


def write_xlsx(header: list[str], rows: Iterable[list[Any]], *, notes: list[str] | None = None) -> bytes:
    from openpyxl import Workbook
    from openpyxl.comments import Comment

    workbook = Workbook(write_only=notes is None)
    sheet = workbook.active if notes is not None else workbook.create_sheet()
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    if notes is not None:
        for i, note in enumerate(notes, start=1):
            sheet.cell(row=1, column=i).comment = Comment(note, "InsureOps")
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# Row checks -------------------------------------------------------------------------------------------
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)


def _required(row: Row, columns: dict[str, tuple[bool, str, str]]) -> None:
    for name, (required, _, _) in columns.items():
        if required and not row.raw.get(name, ""):
            row.refuse(name, "required")


def check_client_row(row: Row) -> Row:
    """Everything a client row can be checked for on its own; `row.values` holds the normalised values."""
    _required(row, CLIENT_COLUMNS)
    raw = row.raw
    values = row.values
    values["external_id"] = raw.get("external_id", "")
    if len(values["external_id"]) > 200:
        row.refuse("external_id", "at most 200 characters")
    values["name"] = raw.get("name", "")[:300]
    if len(raw.get("name", "")) > 300:
        row.refuse("name", "at most 300 characters")
    kind = raw.get("kind", "").lower()
    if kind and kind not in ("individual", "company"):
        row.refuse("kind", "individual or company")
    values["kind"] = kind
    country = raw.get("country", "") or "GR"
    try:
        values["country"] = _country(country)
    except ValueError as exc:
        row.refuse("country", str(exc))
        values["country"] = None
    values["tax_id"] = None
    if raw.get("tax_id"):
        try:
            values["tax_id"] = normalise_tax_id(raw["tax_id"], values["country"])
        except ValueError as exc:
            row.refuse("tax_id", str(exc))
    values["email"] = None
    if raw.get("email"):
        try:
            values["email"] = str(_EMAIL.validate_python(raw["email"])).lower()
        except ValidationError:
            row.refuse("email", "not an email address")
    values["phone"] = None
    if raw.get("phone"):
        try:
            values["phone"] = _phone(raw["phone"])
        except ValueError as exc:
            row.refuse("phone", str(exc))
    values["address"] = raw.get("address") or None
    values["department"] = raw.get("department") or None
    values["parent"] = raw.get("parent") or None
    return row


def _date(row: Row, column: str) -> date | None:
    text = row.raw.get(column, "")
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        row.refuse(column, "a date as YYYY-MM-DD")
        return None


def check_contract_row(row: Row, today: date) -> Row:
    """Everything a contract row can be checked for on its own (the line and the client are checked against the
    platform's data later); `today` is the business date the status must agree with."""
    _required(row, CONTRACT_COLUMNS)
    raw, values = row.raw, row.values
    values["external_id"] = raw.get("external_id", "")
    if len(values["external_id"]) > 200:
        row.refuse("external_id", "at most 200 characters")
    if len(raw.get("policy_number", "")) > 100:
        row.refuse("policy_number", "at most 100 characters")
    values["client"] = raw.get("client", "")
    values["line"] = raw.get("line", "")
    values["insurer"] = raw.get("insurer", "")[:200]
    values["policy_number"] = raw.get("policy_number") or None
    values["premium"] = None
    if raw.get("premium"):
        try:
            premium = Decimal(raw["premium"].replace(",", "."))
            if not premium.is_finite() or premium <= 0:
                row.refuse("premium", "must be greater than 0")
            elif premium.as_tuple().exponent < -2:  # type: ignore[operator]
                row.refuse("premium", "at most 2 decimals")
            else:
                values["premium"] = str(premium)
        except InvalidOperation:
            row.refuse("premium", "a decimal number, e.g. 1200.50")
    currency = raw.get("currency", "").upper()
    if currency and (len(currency) != 3 or not currency.isalpha() or not currency.isascii()):
        row.refuse("currency", "an ISO 4217 currency code: three letters, e.g. EUR")
    values["currency"] = currency
    start, end = _date(row, "start"), _date(row, "end")
    values["start"] = start.isoformat() if start else None
    values["end"] = end.isoformat() if end else None
    if start and end and end <= start:
        row.refuse("end", "the end is before (or on) the start")
    status = raw.get("status", "").lower()
    values["status"] = status
    if status and status not in CONTRACT_STATUSES:
        row.refuse("status", f"one of {', '.join(CONTRACT_STATUSES)}")
    elif status and start and end and end > start:
        if status != "pending_issuance" and not values["policy_number"]:
            row.refuse("policy_number", f"required for a contract {status}")
        if status == "active" and not start <= today <= end:
            row.refuse("status", f"active, but its dates do not cover today ({today})")
        if status == "issued" and start <= today:
            row.refuse("status", f"issued (not yet in force), but it started on or before today ({today})")
        if status == "expired" and end >= today:
            row.refuse("status", f"expired, but it ends on or after today ({today})")
    return row


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
