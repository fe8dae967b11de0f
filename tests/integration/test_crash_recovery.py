"""Nothing is lost and nothing is doubled when processes die at the worst moment.

- identity is SIGKILLed after committing a change and before its relay published it (the test holds
  the relay's advisory lock, so no relay can publish); after the restart the event is delivered once.
- audit is SIGKILLed in the middle of a batch (its INSERT is blocked by a lock the test holds, so
  the batch transaction is open when it dies); after the restart nothing is missing, nothing is twice
  and the hash chain has no gap.
"""

import asyncio
import uuid

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import messaging
from shared.context import Actor
from shared.contracts import FieldChange
from shared.contracts.identity import DepartmentUpdated
from shared.db import create_engine, create_sessionmaker
from shared.messaging.outbox import Outbox
from shared.messaging.relay import relay_lock_key
from tests.conftest import superuser_dsn, wait_until


async def _wait_ready(cfg, service: str) -> None:
    async def ready():
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{cfg.service_url(service)}/readyz", timeout=2)).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_until(ready, timeout=60, interval=0.2, what=f"{service} ready again")


async def test_identity_killed_between_commit_and_publish(
    stack, supervisor, gateway, admin_headers, audit_db, identity_db
):
    old_pid = supervisor.pid("identity")
    lock = await asyncpg.connect(superuser_dsn(stack, "identity"))
    try:
        # The running relay holds the lock for good: kill it, then take the lock before the restart can.
        supervisor.kill("identity")
        got = await wait_until(
            lambda: lock.fetchval("SELECT pg_try_advisory_lock($1)", relay_lock_key("identity")),
            timeout=30,
            what="the relay lock",
        )
        assert got
        await wait_until(
            lambda: asyncio.sleep(0, result=supervisor.pid("identity") not in (0, old_pid)), what="identity restarted"
        )
        await _wait_ready(stack, "identity")

        response = await gateway.post(
            "/api/v1/departments", json={"name": f"Crash {uuid.uuid4().hex[:8]}"}, headers=admin_headers
        )
        assert response.status_code == 201, response.text
        dept_id = response.json()["id"]
        row = await identity_db.fetchrow("SELECT event_id, published_at FROM outbox WHERE key = $1", dept_id)
        assert row is not None and row["published_at"] is None, "committed, not yet published"

        supervisor.kill("identity")  # dies holding an unpublished, committed event
        await asyncio.sleep(1.0)
        assert await audit_db.fetchval("SELECT count(*) FROM audit_records WHERE event_id = $1", row["event_id"]) == 0
    finally:
        await lock.close()  # releases the lock: the restarted identity's relay takes over

    await _wait_ready(stack, "identity")
    await wait_until(
        lambda: audit_db.fetchval("SELECT count(*) FROM audit_records WHERE event_id = $1", row["event_id"]),
        timeout=30,
        what="the event in audit",
    )
    assert await audit_db.fetchval("SELECT count(*) FROM audit_records WHERE event_id = $1", row["event_id"]) == 1
    assert await identity_db.fetchval("SELECT published_at IS NOT NULL FROM outbox WHERE key = $1", dept_id)


async def _write_events(stack, count: int) -> list[str]:
    """Commit `count` events into identity's outbox, as the service itself would."""
    engine = create_engine(stack.database_url("identity"), pool_size=1)
    outbox = Outbox("identity", messaging.outbox)
    ids = []
    try:
        session: AsyncSession
        async with create_sessionmaker(engine)() as session, session.begin():
            subject = str(uuid.uuid4())
            for n in range(count):
                envelope = await outbox.add(
                    session,
                    DepartmentUpdated(
                        department_id=subject, changes={"name": FieldChange(before=f"v{n}", after=f"v{n + 1}")}
                    ),
                    subject=subject,
                    actor=Actor("system", "crash-test"),
                )
                ids.append(envelope.id)
    finally:
        await engine.dispose()
    return ids


async def test_audit_killed_mid_batch(stack, supervisor, audit_db):
    blocker = await asyncpg.connect(superuser_dsn(stack, "audit"))
    tx = blocker.transaction()
    await tx.start()
    try:
        await blocker.execute("LOCK TABLE audit_records IN EXCLUSIVE MODE")
        event_ids = await _write_events(stack, 1500)

        async def audit_blocked_inside_a_batch():
            return await audit_db.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE usename = 'audit' AND wait_event_type = 'Lock' "
                "AND query ILIKE '%INSERT INTO audit_records%'"
            )

        await wait_until(audit_blocked_inside_a_batch, timeout=30, what="audit waiting inside its batch transaction")
        supervisor.kill("audit")
        await asyncio.sleep(0.5)
    finally:
        await tx.rollback()
        await blocker.close()

    await _wait_ready(stack, "audit")

    async def all_recorded():
        n = await audit_db.fetchval("SELECT count(*) FROM audit_records WHERE event_id = ANY($1::text[])", event_ids)
        return n == len(event_ids)

    await wait_until(all_recorded, timeout=60, interval=0.2, what="every event in audit after the restart")
    dupes = await audit_db.fetchval(
        "SELECT count(*) FROM (SELECT event_id FROM audit_records WHERE event_id = ANY($1::text[]) "
        "GROUP BY event_id HAVING count(*) > 1) d",
        event_ids,
    )
    assert dupes == 0
    assert await audit_db.fetchval(
        "SELECT count(*) FROM inbox WHERE consumer = 'audit' AND event_id = ANY($1::text[])", event_ids
    ) == len(event_ids)
    # The batch that died took no chain position with it: the positions these events span have no gap.
    low, high = await audit_db.fetchrow(
        "SELECT min(seq), max(seq) FROM audit_records WHERE event_id = ANY($1::text[])", event_ids
    )
    assert (
        await audit_db.fetchval("SELECT count(*) FROM audit_records WHERE seq BETWEEN $1 AND $2", low, high)
        == high - low + 1
    )
