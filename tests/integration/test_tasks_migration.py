"""Migration 0002 of the tasks service, in a scratch database of the stack's PostgreSQL: `deals` stops copying
titles, lines, owners and clients, and learns where each open deal stands from its newest open automatic task
(deals routed without an opening event get a row), so routing's guard holds from the first event after it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg

from tests.conftest import migrate_database, scratch_database, superuser_dsn

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


async def _add_task(db, opportunity_id, stage_key: str, status: str, origin: str = "auto") -> None:
    await db.execute(
        "INSERT INTO tasks (id, title, origin, opportunity_id, stage_key, priority, status, sla_started_at,"
        " last_activity_at, created_at, updated_at) VALUES ($1, 't', $2, $3, $4, 'normal', $5, $6, $6, $6, $6)",
        uuid.uuid4(),
        origin,
        opportunity_id,
        stage_key,
        status,
        T0,
    )


async def test_deals_keep_positions_and_no_copied_titles(stack):
    async with scratch_database(stack, "tasks") as name:
        migrate_database(stack, "tasks", name, "0001")
        db = await asyncpg.connect(superuser_dsn(stack, name))
        try:
            opened, routed_only, lost = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
            for deal, status in ((opened, "open"), (lost, "lost")):
                await db.execute(
                    "INSERT INTO deals (opportunity_id, client_id, title, line_name, owner_id, status)"
                    " VALUES ($1, $2, 'Fleet', 'Auto', $3, $4)",
                    deal,
                    uuid.uuid4(),
                    uuid.uuid4(),
                    status,
                )
            await _add_task(db, opened, "first_contact", "done")
            await _add_task(db, opened, "needs_analysis", "open")
            await _add_task(db, opened, None, "open", origin="manual")
            await _add_task(db, routed_only, "quote_preparation", "in_progress")
            await _add_task(db, lost, "client_decision", "cancelled")

            migrate_database(stack, "tasks", name, "head")

            columns = {
                r["column_name"]
                for r in await db.fetch("SELECT column_name FROM information_schema.columns WHERE table_name = 'deals'")
            }
            assert columns == {"opportunity_id", "stage_key", "status", "version", "updated_at"}
            rows = {
                r["opportunity_id"]: (r["stage_key"], r["status"], r["version"])
                for r in await db.fetch("SELECT * FROM deals")
            }
            assert rows == {
                opened: ("needs_analysis", "open", None),
                routed_only: ("quote_preparation", "open", None),
                lost: (None, "lost", None),
            }

            migrate_database(stack, "tasks", name, "0001", action="downgrade")
            assert await db.fetchval("SELECT count(*) FROM deals WHERE title = ''") == 3
        finally:
            await db.close()
