"""The audit table is append-only: the service's own role cannot UPDATE, DELETE or TRUNCATE it
(grants), and the triggers refuse those statements even to the role that owns the table."""

import asyncpg
import pytest

from shared.db import asyncpg_dsn
from tests.conftest import wait_until


@pytest.mark.parametrize("role", ["runtime", "owner"])
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_records SET event_type = 'forged' WHERE id = (SELECT min(id) FROM audit_records)",
        "DELETE FROM audit_records WHERE id = (SELECT min(id) FROM audit_records)",
        "TRUNCATE audit_records",
    ],
)
async def test_changes_to_audit_records_are_refused(stack, audit_db, role, statement):
    await wait_until(lambda: audit_db.fetchval("SELECT count(*) FROM audit_records"), what="some audit records")
    before = await audit_db.fetchval("SELECT count(*) FROM audit_records")
    conn = await asyncpg.connect(asyncpg_dsn(stack.database_url("audit", owner=role == "owner")))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError) as refused:
            await conn.execute(statement)
        if role == "owner":
            assert "append-only" in str(refused.value)
        else:
            assert "permission denied" in str(refused.value)
    finally:
        await conn.close()
    assert await audit_db.fetchval("SELECT count(*) FROM audit_records") >= before
    assert await audit_db.fetchval("SELECT count(*) FROM audit_records WHERE event_type = 'forged'") == 0


async def test_runtime_role_can_still_append_and_read(stack):
    conn = await asyncpg.connect(asyncpg_dsn(stack.database_url("audit")))
    try:
        assert await conn.fetchval("SELECT has_table_privilege('audit_records', 'INSERT')")
        assert await conn.fetchval("SELECT has_table_privilege('audit_records', 'SELECT')")
        for privilege in ("UPDATE", "DELETE", "TRUNCATE"):
            assert not await conn.fetchval(f"SELECT has_table_privilege('audit_records', '{privilege}')")
    finally:
        await conn.close()
