"""Acceptance for the audit chain on the real stack: as the database superuser the tests alter a record,
delete one and delete the newest after a checkpoint, and verify names each break; every tampering is
undone (the exact rows put back) and verify is ok again at the end, because all tests share one stack.
Also: checkpoints reach the file and the bus without feeding themselves, and the runtime role cannot
touch the chain head or checkpoints beyond what it needs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from shared.context import Actor
from shared.db import asyncpg_dsn
from shared.messaging.envelope import Envelope
from tests.conftest import assert_problem, login, run_job, superuser_dsn, wait_until
from tests.integration.kafka_support import ensure_topics

# Helpers -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def probe_topic() -> str:
    return f"qa{uuid.uuid4().hex[:8]}.chain.events"


@pytest.fixture
async def probe_records(stack, audit_db, probe_topic):
    """`await probe_records(n, data=...)`: n events through Kafka into audit; their rows in seq order."""
    await ensure_topics(stack, [probe_topic], partitions=1)
    producer = AIOKafkaProducer(**stack.kafka_client_options(), enable_idempotence=True, acks="all")
    await producer.start()

    async def publish(n: int, data: dict | None = None) -> list[asyncpg.Record]:
        ids = []
        for i in range(n):
            envelope = Envelope(
                id=str(uuid.uuid4()),
                type=f"{probe_topic.split('.')[0]}.chain.probed",
                source=probe_topic.split(".")[0],  # the topic's owner (consumers park any other source)
                time=datetime.now(UTC),
                subject="probe",
                data=data if data is not None else {"probe": i, "changes": {"n": {"before": i, "after": i + 1}}},
                actor=Actor("system", "qa"),
            )
            await producer.send_and_wait(
                probe_topic,
                envelope.encode_value(),
                key=b"probe",
                headers=[(k, v.encode()) for k, v in envelope.attribute_headers().items()],
            )
            ids.append(envelope.id)

        async def recorded():
            rows = await audit_db.fetch(
                "SELECT * FROM audit_records WHERE event_id = ANY($1::text[]) ORDER BY seq", ids
            )
            return rows if len(rows) == n else None

        return await wait_until(recorded, timeout=40, what=f"{n} probe events in audit")

    yield publish
    await producer.stop()


@pytest.fixture
async def verify(gateway, admin_headers):
    async def call(from_seq: int | None = None, to_seq: int | None = None) -> dict:
        params = {k: v for k, v in (("from_seq", from_seq), ("to_seq", to_seq)) if v is not None}
        response = await gateway.get("/api/v1/audit/verify", params=params, headers=admin_headers)
        assert response.status_code == 200, response.text
        return response.json()

    return call


@contextlib.asynccontextmanager
async def triggers_off(conn: asyncpg.Connection):
    """Tamper as the superuser: `session_replication_role = replica` skips the append-only triggers, for
    this session only."""
    await conn.execute("SET session_replication_role = replica")
    try:
        yield conn
    finally:
        await conn.execute("SET session_replication_role = DEFAULT")


async def put_back(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> None:
    """Re-insert rows exactly as they were (same id, seq, hashes, every column)."""
    columns = list(rows[0].keys())
    names = ", ".join(f'"{c}"' for c in columns)
    placeholders = ", ".join(f"${i}" for i in range(1, len(columns) + 1))
    await conn.executemany(
        f"INSERT INTO audit_records ({names}) VALUES ({placeholders})", [tuple(row[c] for c in columns) for row in rows]
    )


@contextlib.asynccontextmanager
async def appenders_held(stack):
    """Hold the chain head row lock, as every appender takes it: no record is appended meanwhile, so
    "the newest records" stay the newest while the test removes and restores them."""
    conn = await asyncpg.connect(superuser_dsn(stack, "audit"))
    transaction = conn.transaction()
    await transaction.start()
    try:
        head = await conn.fetchrow("SELECT seq, hash FROM audit_chain_head WHERE id = 1 FOR UPDATE")
        yield head
    finally:
        await transaction.rollback()
        await conn.close()


# Tampering is detected ---------------------------------------------------------------------------


async def test_an_altered_record_is_named_by_verify(audit_db, probe_records, verify):
    records = await probe_records(5)
    first, target, last = records[0]["seq"], records[2], records[-1]["seq"]
    assert (await verify(first, last))["ok"]

    async with triggers_off(audit_db):
        await audit_db.execute(
            "UPDATE audit_records SET data = jsonb_set(data, '{probe}', '\"forged\"') WHERE seq = $1", target["seq"]
        )
        try:
            report = await verify(first, last)
        finally:
            await audit_db.execute(
                "UPDATE audit_records SET data = $2::jsonb WHERE seq = $1", target["seq"], target["data"]
            )
    assert report["ok"] is False
    assert report["break"]["seq"] == target["seq"]
    assert report["break"]["reason"] == "hash_mismatch" and "altered" in report["break"]["meaning"]
    assert report["checked"] == target["seq"] - first
    assert (await verify(first, last))["ok"]


async def test_records_are_sealed_and_one_rewritten_with_the_public_recipe_is_named_by_its_seal(
    audit_db, probe_records, verify
):
    """The hash is public: whoever may write the table could rewrite a record and its hash consistently. The seal,
    made with the key audit alone holds, names it (issue 16)."""
    from services.audit.chain import record_hash

    records = await probe_records(3)
    first, target = records[0]["seq"], records[-1]
    report = await verify(first, target["seq"])
    assert report["ok"] and report["seal_key_configured"]
    assert report["sealed_from_seq"] is not None and report["seals_checked"] == 3
    assert all(r["seal"] for r in records)

    forged = {**dict(target), "data": {**json.loads(target["data"]), "probe": "forged"}}
    forged["changes"] = json.loads(target["changes"]) if target["changes"] is not None else None
    forged_hash = record_hash(forged)
    async with triggers_off(audit_db):
        await audit_db.execute(
            "UPDATE audit_records SET data = $2::jsonb, hash = $3 WHERE seq = $1",
            target["seq"],
            json.dumps(forged["data"]),
            forged_hash,
        )
        try:
            report = await verify(first, target["seq"])
        finally:
            await audit_db.execute(
                "UPDATE audit_records SET data = $2::jsonb, hash = $3 WHERE seq = $1",
                target["seq"],
                target["data"],
                target["hash"],
            )
    assert (report["break"]["seq"], report["break"]["reason"]) == (target["seq"], "seal_mismatch"), report
    assert (await verify(first, target["seq"]))["ok"]


async def test_a_deleted_record_is_named_by_verify(audit_db, probe_records, verify):
    records = await probe_records(5)
    first, target, last = records[0]["seq"], records[2], records[-1]["seq"]

    async with triggers_off(audit_db):
        await audit_db.execute("DELETE FROM audit_records WHERE seq = $1", target["seq"])
        try:
            report = await verify(first, last)
            whole_chain = await verify()
        finally:
            await put_back(audit_db, [target])
    assert report["ok"] is False
    assert (report["break"]["seq"], report["break"]["reason"]) == (target["seq"], "seq_gap")
    assert "deleted" in report["break"]["meaning"]
    # Verifying the whole chain finds the same first break.
    assert (whole_chain["break"]["seq"], whole_chain["break"]["reason"]) == (target["seq"], "seq_gap")
    assert (await verify(first, last))["ok"]


async def test_the_newest_records_removed_after_a_checkpoint_are_named_by_verify(
    stack, audit_db, probe_records, verify
):
    await probe_records(3)
    checkpoint = (await run_job(stack, "audit", "checkpoint"))["result"]
    seq = checkpoint["seq"]
    async with appenders_held(stack) as head:
        assert head["seq"] >= seq
        newest = await audit_db.fetch("SELECT * FROM audit_records WHERE seq >= $1 ORDER BY seq", seq)
        assert newest and newest[0]["seq"] == seq
        async with triggers_off(audit_db):
            await audit_db.execute("DELETE FROM audit_records WHERE seq >= $1", seq)
            try:
                report = await verify(max(1, seq - 3))
            finally:
                await put_back(audit_db, newest)
        assert report["ok"] is False
        assert report["latest_checkpoint"]["seq"] >= seq
        assert (report["break"]["seq"], report["break"]["reason"]) == (seq, "head_behind_checkpoint")
        assert "newest records removed" in report["break"]["meaning"]
        assert (await verify(max(1, seq - 3)))["ok"]
    assert (await verify(max(1, seq - 3)))["ok"]


async def test_the_whole_chain_verifies(verify):
    report = await verify()
    assert report["ok"], report
    assert report["checked"] == report["last_checked_seq"] >= report["chain_head"]["seq"]


async def test_numbers_that_jsonb_rewrites_still_verify(probe_records, verify):
    """The hash survives PostgreSQL's JSONB: huge floats, whole floats, negative zero, tiny floats, text."""
    records = await probe_records(
        2,
        data={
            "huge": 1e20,
            "whole": 12.0,
            "neg": -0.0,
            "tiny": 1.5e-7,
            "nested": [{"x": 2.50}],
            "text": 'é ✓ \u2028 "quoted"',
        },
    )
    assert (await verify(records[0]["seq"], records[-1]["seq"]))["ok"]


async def test_two_appenders_never_fork_the_chain(stack, audit_db, probe_records, verify):
    """A second appender (as another consumer instance would be) writes batches while the service writes
    its own: the chain stays one line, whoever goes first."""
    from devstack.secrets import AUDIT_CHAIN_KEY
    from services.audit.service import ChainAppender
    from shared.db import create_engine, create_sessionmaker

    start = (await probe_records(1))[0]["seq"]
    engine = create_engine(stack.database_url("audit"), pool_size=5)
    sessionmaker = create_sessionmaker(engine)
    # One instance (with the chain key, as every audit has), several transactions at once: its remembered head goes
    # stale.
    other = ChainAppender(stack.secrets[AUDIT_CHAIN_KEY].encode())
    marker = uuid.uuid4().hex

    async def append_batch(batch: int) -> None:
        envelopes = [
            Envelope(
                id=str(uuid.uuid4()),
                type="qa.direct.appended",
                source="qa",
                time=datetime.now(UTC),
                subject=marker,
                data={"batch": batch, "n": n},
                actor=Actor("system", "qa"),
                topic="qa.direct.events",
                partition=0,
                offset=n,
            )
            for n in range(40)
        ]
        async with sessionmaker() as session, session.begin():
            await other.record_events(session, envelopes)

    try:
        await asyncio.gather(probe_records(15), *(append_batch(b) for b in range(6)))
    finally:
        await engine.dispose()
    seqs = [
        r["seq"]
        for r in await audit_db.fetch("SELECT seq FROM audit_records WHERE aggregate_id = $1 ORDER BY seq", marker)
    ]
    assert len(seqs) == 240
    report = await verify(start)
    assert report["ok"], report
    assert report["last_checked_seq"] >= seqs[-1]


# Checkpoints -------------------------------------------------------------------------------------


async def test_a_checkpoint_goes_to_the_file_and_the_bus_and_does_not_feed_itself(stack, audit_db, probe_records):
    await probe_records(1)
    result = (await run_job(stack, "audit", "checkpoint"))["result"]
    assert result["checkpointed"] is True
    lines = (stack.run_dir / "audit" / "checkpoints.jsonl").read_text().splitlines()
    assert json.loads(lines[-1]) == {
        "seq": result["seq"],
        "hash": result["hash"],
        "event_id": result["event_id"],
        "checkpointed_at": result["checkpointed_at"],
    }
    # Published on the bus and, like every event, recorded in the chain.
    row = await wait_until(
        lambda: audit_db.fetchrow("SELECT * FROM audit_records WHERE event_id = $1", result["event_id"]),
        what="the checkpoint event in audit",
    )
    assert row["event_type"] == "audit.checkpoint.recorded" and row["topic"] == "audit.checkpoint.events"
    assert json.loads(row["data"])["seq"] == result["seq"] and json.loads(row["data"])["hash"] == result["hash"]
    assert row["seq"] > result["seq"]
    # Its own record does not count as the head moving: the job settles instead of checkpointing forever.
    for _ in range(5):
        again = (await run_job(stack, "audit", "checkpoint"))["result"]
        if not again["checkpointed"]:
            break
        await wait_until(
            lambda again=again: audit_db.fetchrow("SELECT 1 FROM audit_records WHERE event_id = $1", again["event_id"]),
            what="the next checkpoint event",
        )
    assert again["checkpointed"] is False, again


# Access ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO audit_chain_head (id, seq, hash) VALUES (2, 0, 'x')",
        "DELETE FROM audit_chain_head",
        "TRUNCATE audit_chain_head",
        "UPDATE audit_checkpoints SET hash = 'forged'",
        "DELETE FROM audit_checkpoints",
        "UPDATE audit_records SET hash = 'forged' WHERE seq = 1",
    ],
)
async def test_runtime_role_cannot_rewrite_the_chain_bookkeeping(stack, statement):
    conn = await asyncpg.connect(asyncpg_dsn(stack.database_url("audit")))
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)
    finally:
        await conn.close()


async def test_verify_is_for_admins_and_checks_its_range(gateway, admin_headers):
    from devstack.seed import DEMO_USERS

    manager = next(u for u in DEMO_USERS if u.role == "Manager")
    headers = {"Authorization": f"Bearer {await login(gateway, manager.email, manager.password)}"}
    assert_problem(await gateway.get("/api/v1/audit/verify", headers=headers), 403)
    assert_problem(await gateway.get("/api/v1/audit/export", headers=headers), 403)
    assert_problem(
        await gateway.get("/api/v1/audit/verify", params={"from_seq": 5, "to_seq": 2}, headers=admin_headers),
        422,
        "query.to_seq",
    )
    assert_problem(
        await gateway.get("/api/v1/audit/verify", params={"from_seq": 0}, headers=admin_headers), 422, "query.from_seq"
    )
    assert_problem(
        await gateway.get("/api/v1/audit/export", params={"format": "xml"}, headers=admin_headers), 422, "query.format"
    )
    assert_problem(
        await gateway.get("/api/v1/audit/export", params={"since": "2026-01-01T00:00:00"}, headers=admin_headers),
        422,
        "query.since",
    )
