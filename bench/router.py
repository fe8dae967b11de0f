"""The router's own cost, without Kafka and without the rest of the stack: CPU and database round trips per
batch of pipeline events, on a real PostgreSQL.

`python -m bench.router [--deals 300]` starts a PostgreSQL of its own the way the fast tests start theirs (`tests.pg`,
with its data in `.run/bench-router-pg` and port 45732 unless `INSUREOPS_TEST_POSTGRES_DIR`/`_PORT` say otherwise;
never the fast tests' own, which must stay empty), puts a department of five into the tasks database's people
replica, and hands the router's consumer (`tasks.router`, the `IdempotentConsumer` the service runs) one record
at a time, as Kafka would: each deal is opened, then advanced twice (so a batch closes a task and routes a new
one into the department). It prints, per batch (one event): the CPU this process spent, the wall time and the
statements and round trips sent to PostgreSQL. The machine's other load does not change the CPU or the round
trips, so the figures compare across runs and commits where a latency bench on a busy machine cannot.

The work is committed (the router commits) in that server's databases; the department and its deals are new each
run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time

from aiokafka.structs import ConsumerRecord
from sqlalchemy import event

from bench.common import percentile
from shared.contracts.pipeline import MATERIAL_GATHERING, NEEDS_ANALYSIS
from shared.contracts.topics import PIPELINE_OPPORTUNITIES

ROUND_TRIPS = ("BEGIN", "COMMIT", "ROLLBACK")


class Counting:
    """Statements sent through the engine (each a round trip), and the transaction ends around them."""

    def __init__(self, engine) -> None:
        self.statements = 0
        event.listen(engine.sync_engine, "before_cursor_execute", self._statement)
        event.listen(engine.sync_engine, "commit", self._end)
        event.listen(engine.sync_engine, "begin", self._end)

    def _statement(self, *_args) -> None:
        self.statements += 1

    def _end(self, *_args) -> None:
        self.statements += 1


def record(envelope, offset: int) -> ConsumerRecord:
    value = envelope.encode_value()
    headers = [(k, v.encode()) for k, v in envelope.attribute_headers().items()]
    return ConsumerRecord(
        topic=PIPELINE_OPPORTUNITIES,
        partition=0,
        offset=offset,
        timestamp=int(time.time() * 1000),
        timestamp_type=0,
        key=envelope.subject.encode(),
        value=value,
        checksum=None,
        serialized_key_size=len(envelope.subject),
        serialized_value_size=len(value),
        headers=headers,
    )


async def run(server, deals: int) -> None:
    from services.tasks import routing
    from shared.db import create_engine, create_sessionmaker
    from shared.messaging.consumer import IdempotentConsumer
    from tests import events
    from tests.bus import consumer_of, envelope_of, settings_of, tables_of
    from tests.tasks.support import a_department

    engine = create_engine(server.database_url("tasks"), pool_size=2)
    sessionmaker = create_sessionmaker(engine)
    settings = settings_of("tasks")
    consumer = IdempotentConsumer(
        consumer_of("tasks", routing.CONSUMER), sessionmaker=sessionmaker, tables=tables_of("tasks"), service="tasks"
    )
    async with sessionmaker() as session, session.begin():
        department, _ = await a_department(session, "A", "B", "C", "D", "E", name="Bench router")
    needs = events.stage(NEEDS_ANALYSIS, position=2, department_id=department, sla_hours=16)
    material = events.stage(MATERIAL_GATHERING, position=3, department_id=department, sla_hours=24)

    batches = []
    for _ in range(deals):
        opened = events.opportunity_opened(department_id=department)
        deal = dict(opportunity_id=opened.opportunity_id, client_id=opened.client_id, owner_id=opened.owner_id)
        batches.append(envelope_of(opened, subject=str(opened.opportunity_id)))
        batches.append(
            envelope_of(
                events.stage_advanced(**deal, to_stage=needs, opportunity_version=2),
                subject=str(deal["opportunity_id"]),
            )
        )
        batches.append(
            envelope_of(
                events.stage_advanced(**deal, from_stage=needs, to_stage=material, opportunity_version=3),
                subject=str(deal["opportunity_id"]),
            )
        )
    counting = Counting(engine)
    kafka = _NoCommits()
    cpu, wall, statements = [], [], []
    base = int(time.time())
    for i, envelope in enumerate(batches):
        before = (time.process_time(), time.perf_counter(), counting.statements)
        await consumer.handle_records([record(envelope, base + i)], kafka)
        cpu.append((time.process_time() - before[0]) * 1000)
        wall.append((time.perf_counter() - before[1]) * 1000)
        statements.append(counting.statements - before[2])
    await engine.dispose()
    warm = len(batches) // 10  # the first batches compile and cache statements
    cpu, wall, statements = cpu[warm:], wall[warm:], statements[warm:]
    print(f"router cost per batch of one event, {len(cpu)} batches after {warm} to warm up ({settings.service_name})")
    print(f"  CPU of this process   mean {sum(cpu) / len(cpu):.2f} ms   p50 {percentile(cpu, 50):.2f} ms")
    print(f"  wall                  mean {sum(wall) / len(wall):.2f} ms   p50 {percentile(wall, 50):.2f} ms")
    print(f"  statements (incl. BEGIN/COMMIT)  mean {sum(statements) / len(statements):.1f}")


class _NoCommits:
    """Stands for the Kafka consumer: the offsets the router would commit go nowhere."""

    async def commit(self, offsets=None) -> None:
        return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.router", description=__doc__)
    parser.add_argument("--deals", type=int, default=300, help="deals, each opened and advanced twice (default 300)")
    args = parser.parse_args(argv)
    from devstack.config import REPO_ROOT

    os.environ.setdefault("INSUREOPS_TEST_POSTGRES_DIR", str(REPO_ROOT / ".run" / "bench-router-pg"))
    os.environ.setdefault("INSUREOPS_TEST_POSTGRES_PORT", "45732")
    from tests import pg

    server = pg.start()
    try:
        asyncio.run(run(server, args.deals))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
