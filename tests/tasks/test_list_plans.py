"""The tasks list's queries on a big table (20,000 tasks): planned on an index, never by reading the whole table,
and a page newest first read off the department's index in order (no sort of all the department's tasks)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from services.tasks import repository as repo
from shared.auth import Principal
from shared.pagination import PageParams
from tests.plans import explain, nodes, owner_session, scans_of, shape, statements

ROWS = 20_000
DEPARTMENTS = 50


async def _fill(session, department_id: uuid.UUID) -> None:
    """ROWS tasks spread evenly over DEPARTMENTS departments, `department_id` one of them; most closed, as in a
    year's work. Then ANALYZE, so the plans are the ones such a table gets."""
    departments = [department_id] + [uuid.uuid4() for _ in range(DEPARTMENTS - 1)]
    await session.execute(
        text("""
        INSERT INTO tasks (id, title, origin, opportunity_id, client_id, stage_key, department_id, assignee_id,
                           priority, status, sla_started_at, sla_state, last_activity_at, created_at, updated_at)
        SELECT gen_random_uuid(), 'Task ' || i, 'auto', gen_random_uuid(), gen_random_uuid(), 'needs_analysis',
               (CAST(:departments AS uuid[]))[1 + i % :n], gen_random_uuid(), 'normal',
               CASE WHEN i % 10 = 0 THEN 'open' ELSE 'done' END,
               now() - i * interval '1 minute', 'green', now(), now() - i * interval '1 minute', now()
        FROM generate_series(1, :rows) AS i
        """),
        {"departments": [str(d) for d in departments], "n": DEPARTMENTS, "rows": ROWS},
    )
    await session.execute(text("ANALYZE tasks"))


@pytest.mark.parametrize("role", ["Admin", "Manager", "Employee"])
async def test_a_departments_tasks_newest_first_are_a_page_read_off_an_index(pg, role):
    """`GET /api/v1/tasks?department_id=...&sort=-number` (the department's list, and the bench's poll). Before
    1. the page sorted every task of the department (`number DESC NULLS LAST` does not match the index read
    backwards), and 2. for anyone but the Admin the visibility rule's OR made it a BitmapOr and a sort too."""
    async with owner_session(pg, "tasks") as session:
        department_id = uuid.uuid4()
        await _fill(session, department_id)
        mine = None if role == "Admin" else department_id
        caller = Principal(uuid.uuid4(), role, mine, role, "x@example.com")
        async with statements(session) as ran:
            items, total = await repo.list_tasks(
                session,
                caller,
                repo.TaskFilters(department_id=department_id),
                PageParams(limit=50, offset=0, sort="-number"),
            )
        assert total == ROWS // DEPARTMENTS and len(items) == 50
        assert [t.number for t in items] == sorted((t.number for t in items), reverse=True)
        page, count = ran  # the page, then the total (a full page: counted)
        for statement in (count, page):
            plan = await explain(session, statement)
            scans = scans_of(plan, "tasks")
            assert scans and not any(s.startswith("Seq Scan") for s in scans), shape(plan)
        plan = await explain(session, page)
        assert not any(n["Node Type"] in ("Sort", "Incremental Sort") for n in nodes(plan)), shape(plan)
        # Read in the list's order off an index (which one is the planner's choice), a page's worth of rows.
        assert all(s.startswith("Index Scan") for s in scans_of(plan, "tasks")), shape(plan)
