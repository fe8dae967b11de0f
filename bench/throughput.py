"""Outbox -> Kafka -> audit throughput.

N identity events are written with the real `Outbox.add` (the same row format, headers and NOTIFY
as a request would write) into `batch` transactions on as many connections. All transactions are
filled first and then committed back to back, so the relay faces a backlog of N committed rows at
once and the figure measures the relay (and audit), not how fast this script can insert.

Both clocks are this machine's: the client's `time.time()` and PostgreSQL's `now()` (which the relay
writes as `published_at`) and audit's `recorded_at` (audit's own clock). The rates are computed
from those timestamps; the poll loops only decide when everything has arrived.
"""

from __future__ import annotations

import asyncio
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import asyncpg
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.pool import NullPool

from bench.common import admin_dsn_for, runtime_dsn, ts, wait_for_count
from devstack.config import StackSettings
from services.identity.models import messaging
from shared import context
from shared.context import Actor
from shared.contracts import FieldChange, topics
from shared.contracts.identity import DepartmentUpdated
from shared.messaging.outbox import Outbox

BENCH_ACTOR = Actor("system", "bench")
MAX_CONNECTIONS = 50  # the filled transactions are held open at once, one connection each
SYNTHETIC_AGGREGATES = 32  # event keys, so the events spread over every partition like real traffic


@dataclass
class ThroughputResult:
    events: int
    batch_size: int
    transactions: int
    fill_seconds: float  # writing the rows (before the clock starts)
    commit_seconds: float  # committing every transaction, back to back
    # Relay: first commit -> last published_at.
    relay_seconds: float
    relay_rate: float
    relay_active_rate: float  # N / (last published_at - first published_at)
    relay_polled_seconds: float  # first commit -> poll saw all published (includes poll granularity)
    # Audit: first commit -> last recorded_at.
    audit_seconds: float
    audit_rate: float
    audit_active_rate: float  # N / (last recorded_at - first recorded_at)
    audit_polled_seconds: float
    audit_lag_seconds: float  # last recorded_at - last published_at
    audit_backlog_at_relay_done: int  # events not yet in audit when the relay had published the last one
    audit_catchup_rate: float | None  # that backlog / (last recorded_at - last published_at)
    # CPU used by each process from the first commit until audit had everything, in % of one core.
    # PostgreSQL's figure includes every backend, also those of other clients and of this benchmark.
    cpu_percent: dict[str, float]

    def as_dict(self) -> dict:
        return asdict(self)


async def _one_row(conn: asyncpg.Connection, query: str, *args: object) -> asyncpg.Record:
    """The row of an aggregate query (which always returns exactly one)."""
    row = await conn.fetchrow(query, *args)
    assert row is not None, query
    return row


async def _both(first, second) -> tuple[float, float]:
    """Run two waits side by side; if one fails, stop the other and raise the failure itself."""
    try:
        async with asyncio.TaskGroup() as group:
            a = group.create_task(first)
            b = group.create_task(second)
    except ExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return a.result(), b.result()


async def run(
    cfg: StackSettings,
    *,
    events: int,
    batch_size: int,
    stall_timeout: float,
    poll: float,
    say,
    cpu_probe: Callable[[], dict[str, float]] = dict,
) -> ThroughputResult:
    batch_size = max(batch_size, math.ceil(events / MAX_CONNECTIONS))
    transactions = math.ceil(events / batch_size)
    outbox = Outbox("identity", messaging.outbox)
    aggregates = [uuid.uuid4() for _ in range(SYNTHETIC_AGGREGATES)]
    run_id = uuid.uuid4().hex[:12]

    engine = create_async_engine(
        cfg.database_url("identity"), poolclass=NullPool, connect_args={"timeout": 10, "command_timeout": 120}
    )
    sessionmaker = async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
    token = context.bind(correlation_id=f"bench-{run_id}")
    sessions = []
    event_ids: list[str] = []
    try:
        say(f"  writing {events} outbox rows in {transactions} transactions of {batch_size} (uncommitted) ...")
        fill_started = time.monotonic()
        for t in range(transactions):
            session = sessionmaker()
            sessions.append(session)
            for i in range(t * batch_size, min(events, (t + 1) * batch_size)):
                aggregate = aggregates[i % len(aggregates)]
                data = DepartmentUpdated(
                    department_id=aggregate,
                    changes={"name": FieldChange(before=f"bench {run_id} #{i}", after=f"bench {run_id} #{i + 1}")},
                )
                envelope = await outbox.add(session, data, subject=str(aggregate), actor=BENCH_ACTOR)
                event_ids.append(envelope.id)
        fill_seconds = time.monotonic() - fill_started

        published_conn = await asyncpg.connect(runtime_dsn(cfg, "identity"), timeout=10, command_timeout=30)
        audit_conn = await asyncpg.connect(admin_dsn_for(cfg, "audit"), timeout=10, command_timeout=30)
        try:

            async def published() -> int:
                return await published_conn.fetchval(
                    "SELECT count(*) FROM outbox WHERE event_id = ANY($1::text[]) AND published_at IS NOT NULL",
                    event_ids,
                )

            first_audit_id = await audit_conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_records")

            async def recorded() -> int:
                # A range of the primary key: cheap to ask often, so polling does not slow PostgreSQL down.
                return await audit_conn.fetchval(
                    "SELECT count(*) FROM audit_records WHERE id > $1 AND correlation_id = $2",
                    first_audit_id,
                    f"bench-{run_id}",
                )

            say(f"  committing {transactions} transactions; waiting for the relay and audit ...")
            cpu_before = cpu_probe()
            started = time.time()
            for session in sessions:
                await session.commit()
            commit_seconds = time.time() - started
            relay_seen, audit_seen = await _both(
                wait_for_count(
                    "outbox relay (rows published)", published, events, stall_timeout=stall_timeout, poll=poll
                ),
                wait_for_count(
                    "audit (records of the events)", recorded, events, stall_timeout=stall_timeout, poll=poll
                ),
            )
            cpu_wall = time.time() - started
            cpu_after = cpu_probe()

            first_pub, last_pub = await _one_row(
                published_conn,
                "SELECT min(published_at), max(published_at) FROM outbox WHERE event_id = ANY($1::text[])",
                event_ids,
            )
            first_rec, last_rec, after_relay = await _one_row(
                audit_conn,
                "SELECT min(recorded_at), max(recorded_at), count(*) FILTER (WHERE recorded_at > $2) "
                "FROM audit_records WHERE event_id = ANY($1::text[])",
                event_ids,
                last_pub,
            )
        finally:
            await published_conn.close(timeout=5)
            await audit_conn.close(timeout=5)
    finally:
        context.reset(token)
        for session in sessions:
            await session.close()
        await engine.dispose()

    relay_seconds = ts(last_pub) - started
    audit_seconds = ts(last_rec) - started
    audit_lag = ts(last_rec) - ts(last_pub)
    catchup = after_relay / audit_lag if after_relay and audit_lag > 0 else None
    return ThroughputResult(
        events=events,
        batch_size=batch_size,
        transactions=transactions,
        fill_seconds=fill_seconds,
        commit_seconds=commit_seconds,
        relay_seconds=relay_seconds,
        relay_rate=events / relay_seconds,
        relay_active_rate=events / max(ts(last_pub) - ts(first_pub), 1e-6),
        relay_polled_seconds=relay_seen - started,
        audit_seconds=audit_seconds,
        audit_rate=events / audit_seconds,
        audit_active_rate=events / max(ts(last_rec) - ts(first_rec), 1e-6),
        audit_polled_seconds=audit_seen - started,
        audit_lag_seconds=audit_lag,
        audit_backlog_at_relay_done=after_relay,
        audit_catchup_rate=catchup,
        cpu_percent={
            name: round(100 * (cpu_after[name] - cpu_before[name]) / cpu_wall, 1)
            for name in cpu_after
            if name in cpu_before
        },
    )


# Audit ingestion on its own -----------------------------------------------------------------------

INGEST_TOPIC = topics.BENCH_INGEST


@dataclass
class AuditIngestResult:
    events: int
    produce_seconds: float  # producing the backlog while audit was stopped
    restart_seconds: float  # audit started again -> ready
    ingest_seconds: float  # first recorded_at -> last recorded_at
    ingest_rate: float  # events / ingest_seconds: what the consumer sustains, hash chain included
    audit_cpu_percent: float  # audit's CPU while ingesting, in % of one core
    postgres_cpu_percent: float
    # CPU time spent per event: what the rate would be bound by with the cores to itself.
    audit_cpu_us_per_event: float
    postgres_cpu_us_per_event: float

    def as_dict(self) -> dict:
        return asdict(self)


async def run_audit_ingest(
    cfg: StackSettings,
    sup,
    *,
    events: int,
    stall_timeout: float,
    poll: float,
    say,
    cpu_probe: Callable[[], dict[str, float]] = dict,
) -> AuditIngestResult:
    """Audit's own ingestion rate: stop audit, put `events` events on a topic, start audit again and
    time it through the backlog from its first to its last `recorded_at` (batches, inbox, hash chain,
    the batch INSERT and offset commits; no relay in the way)."""
    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    from devstack.cli import _wait_ready
    from shared.messaging.envelope import Envelope

    admin = AIOKafkaAdminClient(**cfg.kafka_client_options())
    await admin.start()
    try:
        if INGEST_TOPIC not in set(await admin.list_topics()):
            try:
                await admin.create_topics([NewTopic(INGEST_TOPIC, cfg.kafka_partitions, 1)])
            except TopicAlreadyExistsError:
                pass
    finally:
        await admin.close()

    run_id = uuid.uuid4().hex[:12]
    aggregates = [str(uuid.uuid4()) for _ in range(SYNTHETIC_AGGREGATES)]
    event_ids: list[str] = []
    conn = await asyncpg.connect(admin_dsn_for(cfg, "audit"), timeout=10, command_timeout=60)
    try:
        first_id = await conn.fetchval("SELECT coalesce(max(id), 0) FROM audit_records")
    finally:
        await conn.close(timeout=5)
    say(f"  stopping audit; producing {events} events to {INGEST_TOPIC} ...")
    await asyncio.to_thread(sup.stop, "audit")
    try:
        producer = AIOKafkaProducer(
            **cfg.kafka_client_options(),
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
            max_batch_size=256 * 1024,
        )
        await producer.start()
        try:
            started = time.monotonic()
            pending = []
            for i in range(events):
                aggregate = aggregates[i % len(aggregates)]
                envelope = Envelope(
                    id=str(uuid.uuid4()),
                    type="bench.ingest.updated",
                    source="bench",
                    time=datetime.now(UTC),
                    subject=aggregate,
                    actor=BENCH_ACTOR,
                    correlation_id=f"bench-{run_id}",
                    data={
                        "department_id": aggregate,
                        "changes": {"name": {"before": f"bench {run_id} #{i}", "after": f"bench {run_id} #{i + 1}"}},
                    },
                )
                event_ids.append(envelope.id)
                pending.append(
                    await producer.send(
                        INGEST_TOPIC,
                        envelope.encode_value(),
                        key=aggregate.encode(),
                        headers=[(k, v.encode()) for k, v in envelope.attribute_headers().items()],
                    )
                )
            await asyncio.gather(*pending)
            produce_seconds = time.monotonic() - started
        finally:
            await producer.stop()
    finally:
        say("  starting audit; waiting for it to work through the backlog ...")
        restarted = time.monotonic()
        await asyncio.to_thread(sup.start, "audit")
        await asyncio.to_thread(_wait_ready, cfg, "audit")
        restart_seconds = time.monotonic() - restarted

    audit_conn = await asyncpg.connect(admin_dsn_for(cfg, "audit"), timeout=10, command_timeout=60)
    try:

        async def recorded() -> int:
            # Cheap to ask often (a range of the primary key), so polling does not slow PostgreSQL down.
            return await audit_conn.fetchval(
                "SELECT count(*) FROM audit_records WHERE id > $1 AND correlation_id = $2", first_id, f"bench-{run_id}"
            )

        cpu_before = cpu_probe()
        wall_before = time.time()
        await wait_for_count("audit (backlog recorded)", recorded, events, stall_timeout=stall_timeout, poll=poll)
        cpu_wall = time.time() - wall_before
        cpu_after = cpu_probe()
        first_rec, last_rec = await _one_row(
            audit_conn,
            "SELECT min(recorded_at), max(recorded_at) FROM audit_records WHERE id > $1 AND correlation_id = $2",
            first_id,
            f"bench-{run_id}",
        )
    finally:
        await audit_conn.close(timeout=5)
    ingest_seconds = max(ts(last_rec) - ts(first_rec), 1e-6)

    def cpu_seconds(name: str) -> float:
        return cpu_after.get(name, 0.0) - cpu_before.get(name, 0.0)

    return AuditIngestResult(
        events=events,
        produce_seconds=produce_seconds,
        restart_seconds=restart_seconds,
        ingest_seconds=ingest_seconds,
        ingest_rate=events / ingest_seconds,
        audit_cpu_percent=round(100 * cpu_seconds("audit") / cpu_wall, 1),
        postgres_cpu_percent=round(100 * cpu_seconds("postgres") / cpu_wall, 1),
        audit_cpu_us_per_event=round(1e6 * cpu_seconds("audit") / events, 1),
        postgres_cpu_us_per_event=round(1e6 * cpu_seconds("postgres") / events, 1),
    )
