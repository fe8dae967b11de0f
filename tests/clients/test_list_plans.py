"""The clients list's queries on a big table (50,000 clients: below that the planner may rightly find reading the
table as cheap as the trigram indexes): a page by name read off an index, a search off the trigram indexes."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from services.clients import repository as repo
from shared.auth import Principal
from shared.pagination import PageParams
from tests.plans import explain, nodes, owner_session, scans_of, shape, statements

ROWS = 50_000
DEPARTMENTS = 50


async def _fill(session, department_id: uuid.UUID) -> None:
    """ROWS companies with made-up names, emails and tax ids, spread evenly over DEPARTMENTS departments
    (`department_id` one of them); then ANALYZE."""
    departments = [department_id] + [uuid.uuid4() for _ in range(DEPARTMENTS - 1)]
    await session.execute(
        text("""
        INSERT INTO clients (id, kind, name, tax_id, country, email, phone, phone_digits, department_id, status)
        SELECT gen_random_uuid(), 'company', initcap(substr(w, 1, 7) || ' ' || substr(w, 8, 9)) || ' SA',
               lpad(i::text, 9, '0'), 'GR', substr(w, 17, 8) || '@example.com', '+30 210 ' || lpad(i::text, 7, '0'),
               '30210' || lpad(i::text, 7, '0'), (CAST(:departments AS uuid[]))[1 + i % :n], 'active'
        FROM generate_series(1, :rows) AS i, translate(md5(i::text), '0123456789', 'ghijklmnop') AS w
        """),
        {"departments": [str(d) for d in departments], "n": DEPARTMENTS, "rows": ROWS},
    )
    await session.execute(text("ANALYZE clients"))


async def _planned(pg, role: str, q: str | None) -> list[dict]:
    """The plans of the statements `list_clients` runs for the caller (the total, then the page)."""
    async with owner_session(pg, "clients") as session:
        department_id = uuid.uuid4()
        await _fill(session, department_id)
        caller = Principal(uuid.uuid4(), role, None if role == "Admin" else department_id, role, "x@example.com")
        async with statements(session) as ran:
            rows, total = await repo.list_clients(
                session,
                PageParams(limit=50, offset=0, sort=None),
                repo.ClientFilters(q=q),
                caller=caller,
                similarity_threshold=0.3,
            )
        if q is None:
            assert total == (ROWS if role == "Admin" else ROWS // DEPARTMENTS) and len(rows) == 50
        else:
            assert total >= 1
        return [await explain(session, s) for s in ran if "set_config" not in s.sql]


@pytest.mark.parametrize("role", ["Admin", "Manager"])
async def test_the_clients_by_name_are_a_page_read_off_an_index(pg, role):
    """`GET /api/v1/clients` (by name): before, the Admin's page sorted every client after a Seq Scan, a Manager's
    every client of the department."""
    page, count = await _planned(pg, role, None)  # the page, then its total (a full page: counted)
    assert not any(n["Node Type"] in ("Sort", "Incremental Sort") for n in nodes(page)), shape(page)
    assert scans_of(page, "clients") and all(s.startswith("Index Scan") for s in scans_of(page, "clients")), shape(page)
    if role != "Admin":  # the Admin's total counts every client: reading them all is the plan for that
        assert not any(s.startswith("Seq Scan") for s in scans_of(count, "clients")), shape(count)


async def test_a_search_reads_the_trigram_indexes_not_the_table(pg):
    """`GET /api/v1/clients?q=...`: the search is an OR of name similarity, name, email and tax id substrings;
    before, the email and tax id had no index a substring match could use, so every search read the whole table."""
    for plan in await _planned(pg, "Admin", "hkphnhjdi"):  # a word of one client's name
        scans = scans_of(plan, "clients")
        assert scans and not any(s.startswith("Seq Scan") for s in scans), shape(plan)
        assert any(n["Node Type"] == "BitmapOr" for n in nodes(plan)), shape(plan)
