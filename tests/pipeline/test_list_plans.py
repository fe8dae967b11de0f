"""The deals list's queries on a big table (20,000 deals): planned on an index, never by reading the whole table,
and a page newest first read in order off an index (no sort of all the department's deals)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from services.pipeline import repository as repo
from services.pipeline.access import Viewer
from shared.pagination import PageParams
from tests.plans import explain, nodes, owner_session, scans_of, shape, statements

ROWS = 20_000
DEPARTMENTS = 50


async def _fill(session, department_id: uuid.UUID) -> None:
    """ROWS deals on one line, spread evenly over DEPARTMENTS departments (`department_id` one of them) and the
    stages, most of them closed; then ANALYZE."""
    departments = [department_id] + [uuid.uuid4() for _ in range(DEPARTMENTS - 1)]
    line_id = uuid.uuid4()
    await session.execute(
        text("INSERT INTO lines (id, name) VALUES (:id, :name)"), {"id": line_id, "name": f"L {line_id}"}
    )
    await session.execute(
        text("""
        INSERT INTO opportunities (id, client_id, line_id, title, owner_id, department_id, stage_key, stage_entered_at,
                                   status, archived, version, created_at, updated_at)
        SELECT gen_random_uuid(), gen_random_uuid(), :line, 'Deal ' || i, gen_random_uuid(),
               (CAST(:departments AS uuid[]))[1 + i % :n], (SELECT key FROM stages ORDER BY position LIMIT 1 OFFSET i % 9),
               now() - i * interval '1 minute', CASE WHEN i % 10 = 0 THEN 'open' ELSE 'lost' END, false, 1,
               now() - i * interval '1 minute', now()
        FROM generate_series(1, :rows) AS i
        """),
        {"line": line_id, "departments": [str(d) for d in departments], "n": DEPARTMENTS, "rows": ROWS},
    )
    await session.execute(text("ANALYZE opportunities"))


@pytest.mark.parametrize("role", ["Admin", "Manager"])
async def test_a_departments_deals_newest_first_are_a_page_read_off_an_index(pg, role):
    """`GET /api/v1/opportunities?department_id=...` (default order: newest first). Before, the Admin's page read
    ix_opportunities_created backwards filtering out other departments' deals (and incrementally sorted ties), a
    Manager's sorted every deal of the department (the visibility rule's OR)."""
    async with owner_session(pg, "pipeline") as session:
        department_id = uuid.uuid4()
        await _fill(session, department_id)
        viewer = Viewer(uuid.uuid4(), role, None if role == "Admin" else department_id)
        async with statements(session) as ran:
            rows, total = await repo.list_opportunities(
                session,
                viewer,
                PageParams(limit=50, offset=0, sort=None),
                filters=repo.OpportunityFilters(department_id=department_id),
            )
        assert total == ROWS // DEPARTMENTS and len(rows) == 50
        page, count = ran  # the page, then the total (a full page: counted)
        for statement in (count, page):
            plan = await explain(session, statement)
            scans = scans_of(plan, "opportunities")
            assert scans and not any(s.startswith("Seq Scan") for s in scans), shape(plan)
        plan = await explain(session, page)
        assert not any(n["Node Type"] in ("Sort", "Incremental Sort") for n in nodes(plan)), shape(plan)
        # Read in the list's order off an index (which one is the planner's choice), a page's worth of rows.
        assert all(s.startswith("Index Scan") for s in scans_of(plan, "opportunities")), shape(plan)
