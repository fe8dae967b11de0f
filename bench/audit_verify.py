"""A whole-chain verify at size: `python -m bench.audit_verify [--records 1000000]`.

On a PostgreSQL of its own (`.run/bench-verify-pg`, port 45832; kept between runs, so the records are written
once), the audit database is filled through audit's own append path (`ChainAppender`, sealed with a chain key)
with a mix of the platform's events — clients created and updated, deals opened and advanced, tasks created,
contracts issued — until it holds `--records`. Then the chain is verified from seq 1 the way
`GET /api/v1/audit/verify` does (one REPEATABLE READ snapshot, the configured chunk size, every seal checked),
and the bench prints the records, seconds, records per second, the process's CPU seconds, and the limit the
issue holds it to in the same run: 1M records within 60 s (`--records` scales the limit).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bench.common import write_report
from devstack.config import load

LIMIT_SECONDS_PER_MILLION = 60.0
KEY = b"bench-chain-key-0123456789abcdef"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _envelopes(n: int, start: int):
    """`n` envelopes shaped like the platform's: (event type, data) cycled over five producers."""
    from shared.context import Actor
    from shared.contracts.base import EventData
    from shared.messaging.envelope import Envelope, topic_for
    from tests import events

    actor = Actor("user", str(uuid.uuid4()))
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(start, start + n):
        kind = i % 5
        data: EventData
        if kind == 0:
            data = events.client_created(department_id=uuid.uuid4())
            subject, source = data.client_id, "clients"
        elif kind == 1:
            data = events.client_updated(
                uuid.uuid4(), changes=events.changes(phone=("+30 210 000 0000", f"+30 210 {i % 10_000_000:07d}"))
            )
            subject, source = data.client_id, "clients"
        elif kind == 2:
            advanced = events.stage_advanced()
            data, subject, source = advanced, advanced.opportunity_id, "pipeline"
        elif kind == 3:
            task = events.task_created()
            data, subject, source = task, task.task_id, "tasks"
        else:
            issued = events.contract_issued()
            data, subject, source = issued, issued.contract_id, "contracts"
        yield Envelope(
            id=str(uuid.uuid4()),
            type=data.event_type,
            source=source,
            time=base + timedelta(seconds=i),
            data=data.model_dump(mode="json"),
            subject=str(subject),
            dataversion=data.version,
            actor=actor,
            correlation_id=str(uuid.uuid4()),
            topic=topic_for(data.event_type),
            partition=i % 3,
            offset=i,
        )


async def _fill(url: str, records: int, batch: int) -> int:
    from services.audit.service import ChainAppender

    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            have = await connection.scalar(text("SELECT count(*) FROM audit_records"))
        if have >= records:
            return have
        from sqlalchemy.ext.asyncio import async_sessionmaker

        sessions = async_sessionmaker(engine, expire_on_commit=False)
        appender = ChainAppender(KEY)
        started, written = time.monotonic(), have
        while written < records:
            n = min(batch, records - written)
            envelopes = list(_envelopes(n, written))
            async with sessions() as session, session.begin():
                await appender.record_events(session, envelopes)
            written += n
            if written % 100_000 < batch:
                rate = (written - have) / (time.monotonic() - started)
                print(f"  filled {written:>9,} records ({rate:,.0f}/s)", flush=True)
        return written
    finally:
        await engine.dispose()


async def _verify(url: str, chunk_size: int) -> dict:
    from services.audit import service

    engine = create_async_engine(url)
    try:
        cpu, started = _cpu(), time.monotonic()
        report = None
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="REPEATABLE READ")
            async with connection.begin():
                async for step in service.verify_chain(
                    connection, from_seq=1, to_seq=None, checkpoints=[], chunk_size=chunk_size, key=KEY
                ):
                    if step is not None:
                        report = step
        assert report is not None
        report["seconds"] = time.monotonic() - started
        report["cpu_seconds"] = _cpu() - cpu
        return report
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    from services.audit.settings import AuditSettings

    parser = argparse.ArgumentParser(prog="python -m bench.audit_verify", description=__doc__)
    parser.add_argument("--records", type=int, default=1_000_000, help="records in the chain (default 1000000)")
    parser.add_argument("--batch", type=int, default=5000, help="records appended per transaction when filling")
    parser.add_argument(
        "--chunk-size",
        type=int,
        default=AuditSettings.model_fields["audit_verify_chunk_size"].default,
        help="records read at a time (default: audit's AUDIT_VERIFY_CHUNK_SIZE default)",
    )
    args = parser.parse_args(argv)
    from devstack.config import REPO_ROOT

    os.environ.setdefault("INSUREOPS_TEST_POSTGRES_DIR", str(REPO_ROOT / ".run" / "bench-verify-pg"))
    os.environ.setdefault("INSUREOPS_TEST_POSTGRES_PORT", "45832")
    from tests import pg

    server = pg.start()
    try:
        url = server.database_url("audit")
        print(f"audit chain on {url.rsplit('@', 1)[-1]}", flush=True)
        have = asyncio.run(_fill(url, args.records, args.batch))
        if have != args.records:
            print(f"the database holds {have:,} records; the verify walks all of them", flush=True)
        report = asyncio.run(_verify(url, args.chunk_size))
    finally:
        server.stop()
    checked, seconds = report["checked"], report["seconds"]
    limit = LIMIT_SECONDS_PER_MILLION * checked / 1_000_000
    print(f"verify ok:           {report['ok']}  (break: {report['break']})")
    print(f"records checked:     {checked:,}  (seals checked: {report['seals_checked']:,})")
    print(f"wall seconds:        {seconds:.1f}  ({checked / seconds:,.0f} records/s)")
    print(f"bench CPU seconds:   {report['cpu_seconds']:.1f}")
    print(f"limit:               {limit:.1f} s  (1M records within {LIMIT_SECONDS_PER_MILLION:.0f} s)")
    within = report["ok"] and seconds <= limit
    print("within the limit" if within else "OVER the limit")
    write_report(
        {
            **{k: report[k] for k in ("ok", "break", "checked", "seals_checked", "seconds", "cpu_seconds")},
            "records_per_second": checked / seconds if seconds else None,
            "limit_seconds": limit,
            "within_limit": within,
        },
        load().run_dir / "bench" / "audit_verify.json",
    )
    return 0  # a missed aim is a figure, not a failure (MISSED above)


if __name__ == "__main__":
    sys.exit(main())
