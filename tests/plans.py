"""Query plans of the statements a repository function really runs.

`async with owner_session(pg, "tasks") as session:` is the service's database in a transaction rolled back
afterwards, as the role that owns the tables (the runtime role may not ANALYZE them, and without statistics the
plans are guesses); `async with statements(session) as ran:` records every SQL statement (with its parameters)
the session sends meanwhile; `await explain(session, ran[i])` is PostgreSQL's plan of one (EXPLAIN (FORMAT JSON),
planned with its parameters, not run); `scans_of(plan, table)` how it reads a table, `shape(plan)` the plan as
text for an assertion's message."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import create_engine
from tests.pg import TestPostgres, rolled_back


@contextlib.asynccontextmanager
async def owner_session(pg: TestPostgres, service: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(pg.cfg.database_url(service, owner=True), pool_size=1)
    try:
        async with rolled_back(engine) as view:
            yield view.session
    finally:
        await engine.dispose()


@dataclass
class Ran:
    sql: str
    parameters: Any


@contextlib.asynccontextmanager
async def statements(session: AsyncSession) -> AsyncIterator[list[Ran]]:
    connection = (await session.connection()).sync_connection
    assert connection is not None
    ran: list[Ran] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        ran.append(Ran(statement, parameters))

    event.listen(connection, "before_cursor_execute", record)
    try:
        yield ran
    finally:
        event.remove(connection, "before_cursor_execute", record)


async def explain(session: AsyncSession, ran: Ran) -> dict[str, Any]:
    """The plan's top node (the statement is planned with its parameters, not run)."""
    connection = await session.connection()
    result = await connection.exec_driver_sql("EXPLAIN (FORMAT JSON) " + ran.sql, ran.parameters)
    raw = result.scalar_one()
    document = json.loads(raw) if isinstance(raw, str) else raw
    return document[0]["Plan"]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def scans_of(plan: dict[str, Any], table: str) -> list[str]:
    """How the plan reads `table`: each scan node's type (and index), e.g. `Index Scan Backward ix_tasks_...`."""
    found = []
    for node in nodes(plan):
        if node.get("Relation Name") == table:
            kind = node["Node Type"] + (" Backward" if node.get("Scan Direction") == "Backward" else "")
            found.append(f"{kind} {node.get('Index Name', '')}".strip())
        elif node["Node Type"] == "Bitmap Index Scan" and node.get("Index Name", "").startswith(f"ix_{table}"):
            found.append(f"Bitmap Index Scan {node['Index Name']}")
    return found


def shape(plan: dict[str, Any], depth: int = 0) -> str:
    """The plan as indented lines (for a failing assertion's message)."""
    line = "  " * depth + plan["Node Type"]
    for key in ("Relation Name", "Index Name", "Scan Direction", "Sort Key", "Filter", "Index Cond"):
        if key in plan:
            line += f" {key}={plan[key]}"
    return "\n".join([line, *(shape(child, depth + 1) for child in plan.get("Plans", ()))])
