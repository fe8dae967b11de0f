"""Records written before the hash chain existed are chained by migration 0002: in a scratch database
of the stack's PostgreSQL, rows are written under revision 0001, the upgrade runs, and the result is a
sound chain whose head row matches, with the append-only trigger enabled again afterwards."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from services.audit.chain import GENESIS_HASH, ChainWalker
from tests.conftest import migrate_database, scratch_database, superuser_dsn


@pytest.fixture
async def scratch_audit_db(stack):
    async with scratch_database(stack, "audit") as name:
        yield name


def _migrate(stack, database: str, target: str) -> None:
    migrate_database(stack, "audit", database, target)


async def test_migration_chains_the_records_written_before_it(stack, scratch_audit_db):
    _migrate(stack, scratch_audit_db, "0001")
    db = await asyncpg.connect(superuser_dsn(stack, scratch_audit_db))
    try:
        client = str(uuid.uuid4())
        t0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        rows = [
            ("clients.client.created", "clients.client", client, {"client_id": client, "name": "Old Client"}),
            ("tasks.task.updated", "tasks.task", str(uuid.uuid4()), {"client_id": client, "ratio": 1e20, "w": 2.0}),
            ("identity.user.created", "identity.user", str(uuid.uuid4()), {"name": "Old User"}),
        ]
        for n, (event_type, aggregate_type, aggregate_id, data) in enumerate(rows):
            await db.execute(
                "INSERT INTO audit_records (event_id, event_type, event_version, source, aggregate_type, aggregate_id,"
                ' actor_type, actor_id, occurred_at, recorded_at, topic, partition, "offset", data, changes)'
                " VALUES ($1, $2, 1, $3, $4, $5, 'system', 'old', $6, $7, $8, 0, $9, $10::jsonb, NULL)",
                str(uuid.uuid4()),
                event_type,
                event_type.split(".")[0],
                aggregate_type,
                aggregate_id,
                t0 + timedelta(minutes=n),
                t0 + timedelta(minutes=n, seconds=1),
                f"{aggregate_type}.events",
                n,
                json.dumps(data),
            )

        _migrate(stack, scratch_audit_db, "head")

        records = [dict(r) for r in await db.fetch("SELECT * FROM audit_records ORDER BY seq")]
        for record in records:
            record["data"] = json.loads(record["data"])
        assert [r["seq"] for r in records] == [1, 2, 3]
        assert [r["client_id"] for r in records] == [client, client, None]
        walker = ChainWalker(expected_seq=1, prev_hash=GENESIS_HASH)
        head = await db.fetchrow("SELECT seq, hash FROM audit_chain_head")
        assert walker.feed(records) is None and walker.finish(end_seq=None, chain_head_seq=head["seq"]) is None
        assert (head["seq"], head["hash"]) == (3, records[-1]["hash"])
        # The trigger was off for the backfill only.
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await db.execute("UPDATE audit_records SET actor_id = 'x' WHERE seq = 1")
    finally:
        await db.close()
