"""The limits the platform's figures are held against, measured on this machine in the same run (issue 13).

`python -m bench.limits [--seconds 5] [--concurrency 1,8,32] [--rate 100] [--kafka-seconds 10] [--commit-seconds 5]`

On the running stack (started and seeded if needed), three figures that no platform code takes part in:

1. Bare endpoint. The call `bench.gateway` measures by default, `GET /api/v1/departments?limit=20`, served by a
   bare Starlette app (no FastAPI, no middleware of ours, no token check) under uvicorn with httptools, and
   uvloop when installed, as the services run, in a process of its own on a free port. It runs the statements
   identity runs for that list (`services.identity.repository.list_departments`), on a raw asyncpg pool (10
   connections by default, `--pool-size`) against identity's database as identity's runtime role:

       SELECT departments.id, departments.name, departments.manager_id, departments.created_at,
              departments.updated_at FROM departments ORDER BY departments.name ASC, departments.id
              LIMIT $1::INTEGER OFFSET $2::INTEGER
       SELECT count(*) AS count_1 FROM (SELECT departments.id, ... FROM departments) AS anon_1

   the page, then the total only when the page cannot tell it (a full page, or an empty one past the start;
   `shared.pagination.page_total`), prepared statements on one pooled connection and no transaction, as
   identity runs a GET (`shared.db`), and the connection goes back to the pool without asyncpg's reset round
   trip (the reads leave no session state to reset). The answer is identity's JSON, byte for byte (`{"items": [...], "total", "limit",
   "offset"}`, timestamps in UTC with a `Z`), encoded with orjson. It is loaded with `bench.gateway`'s client
   (its `load_run`: C keep-alive connections, each sending the call as soon as the previous answer is in, for
   `--seconds` after `--warmup`) at each C of `--concurrency`: requests/s, p50/p99 latency, and the CPU the bare
   process spends per request (utime + stime from /proc/<pid>/stat; also PostgreSQL's and the load client's),
   idle CPU left out as `bench.gateway` does.
2. Raw Kafka. On a topic of the bench's own (`bench.limits.<random>`, one partition, created and deleted here) a
   raw aiokafka producer (acks=all, idempotent, as the platform's; linger `--linger-ms`, default 0) sends small
   records paced at `--rate` a second for `--kafka-seconds`; a raw consumer in a group of its own (read_committed,
   no auto-commit) takes each batch and commits its offsets before taking the next, as the platform's consumers
   do. Per record: received - handed to the producer, and commit done - handed to the producer, p50/p99 (one
   process, one clock). Warm-up records go first until the consumer has its partition.
3. Raw PostgreSQL commits. In a scratch database made here on the stack's PostgreSQL (dropped after), a table
   shaped like an outbox row (uuid, text topic, jsonb payload of about `--payload-bytes`, timestamptz); each
   transaction is BEGIN, one INSERT, COMMIT, back to back on one connection and then on 8 (`--commit-connections`)
   for `--commit-seconds` each: commits/s and the commit's p50/p99, with the server's `synchronous_commit` (left
   as the stack runs it) and `fsync` printed beside them.

Figures print as a table and go to `.run/bench/limits.json`. A limit is a figure, never a failure: the command
fails only when a phase cannot run (the stack does not answer, a bare answer is not a 200, records are lost).
`--parts` runs some of the three; short settings (`--seconds 2 --kafka-seconds 3 --commit-seconds 2`) take well
under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import memory
from bench.common import BenchError, admin_dsn_for, percentile, run_on_uvloop, runtime_dsn, stack_up, write_report
from bench.gateway import idle_cpu, load_run
from devstack.config import REPO_ROOT, StackSettings, load
from shared.pagination import MAX_OFFSET, known_total

PATH = "/api/v1/departments?limit=20"  # bench.gateway's default call
SERVICE = "identity"
PARTS = ("bare", "kafka", "commits")
# What identity runs for GET /api/v1/departments (services.identity.repository.list_departments, default sort
# `name` with `id` to break ties): the page, then the total only when the page cannot tell it
# (shared.pagination.page_total: a full page, or an empty one past the start).
_COLUMNS = "departments.id, departments.name, departments.manager_id, departments.created_at, departments.updated_at"
PAGE_SQL = f"SELECT {_COLUMNS} FROM departments ORDER BY departments.name ASC, departments.id LIMIT $1::INTEGER OFFSET $2::INTEGER"
COUNT_SQL = (
    "SELECT count(*) AS count_1 FROM (SELECT departments.id AS id, departments.name AS name, departments.manager_id "
    "AS manager_id, departments.created_at AS created_at, departments.updated_at AS updated_at FROM departments) "
    "AS anon_1"
)
DEFAULT_LIMIT, MAX_LIMIT = 50, 200  # shared.pagination.page_params
DSN_VARIABLE = "INSUREOPS_BENCH_BARE_DSN"
POOL_VARIABLE = "INSUREOPS_BENCH_BARE_POOL"
OUTBOX_TABLE = """
CREATE TABLE outbox (
    id uuid PRIMARY KEY,
    topic text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)"""
INSERT_SQL = "INSERT INTO outbox (id, topic, payload) VALUES ($1, $2, $3::jsonb)"


# 1. The bare endpoint --------------------------------------------------------------------------------------------
def _page_param(request: Request, name: str, default: int, lowest: int, highest: int) -> int:
    value = int(request.query_params.get(name, default))
    if not lowest <= value <= highest:
        raise ValueError(name)
    return value


async def _departments(request: Request) -> Response:
    try:
        limit = _page_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        offset = _page_param(request, "offset", 0, 0, MAX_OFFSET)
    except ValueError:
        return Response(b'{"detail":"bad limit or offset"}', status_code=422, media_type="application/json")
    async with request.app.state.pool.acquire() as conn:
        rows = await conn.fetch(PAGE_SQL, limit, offset)
        total = known_total(found=len(rows), limit=limit, offset=offset)
        if total is None:
            total = await conn.fetchval(COUNT_SQL)
    body = {"items": [dict(row) for row in rows], "total": total, "limit": limit, "offset": offset}
    # asyncpg's UUID is a subclass orjson does not take as one: `default=str` writes it as uuid.UUID would be.
    return Response(orjson.dumps(body, default=str, option=orjson.OPT_UTC_Z), media_type="application/json")


async def _no_reset(conn: asyncpg.Connection) -> None:
    """The bare endpoint's reads leave no session state: a released connection needs no reset round trip."""


def bare_app(dsn: str | None = None, pool_size: int = 10) -> Starlette:
    """The bare endpoint. With `dsn`, its lifespan opens the asyncpg pool; without, the caller sets
    `app.state.pool` (anything with an `acquire()` giving an asyncpg connection)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if dsn is None:
            yield
            return
        pool = await asyncpg.create_pool(dsn, min_size=pool_size, max_size=pool_size, reset=_no_reset)
        app.state.pool = pool
        try:
            yield
        finally:
            await pool.close()

    return Starlette(routes=[Route("/api/v1/departments", _departments)], lifespan=lifespan)


def serve_bare(port: int) -> None:
    """Run the bare endpoint on 127.0.0.1:`port` (the DSN and pool size from the environment) until signalled."""
    import uvicorn

    app = bare_app(os.environ[DSN_VARIABLE], int(os.environ.get(POOL_VARIABLE, "10")))
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http="httptools",
        loop="auto",  # uvloop when installed, as the services
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    uvicorn.Server(config).run()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def bare_server(cfg: StackSettings, pool_size: int) -> AsyncIterator[tuple[subprocess.Popen[bytes], str]]:
    """The bare endpoint in a process of its own, answering; (its process, its base URL)."""
    port = _free_port()
    env = {**os.environ, DSN_VARIABLE: runtime_dsn(cfg, SERVICE), POOL_VARIABLE: str(pool_size)}
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.limits", "--serve-bare", str(port)], cwd=REPO_ROOT, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            while True:
                if process.poll() is not None:
                    raise BenchError(f"the bare endpoint exited at start ({process.returncode})")
                try:
                    response = await client.get(PATH)
                except httpx.TransportError:
                    response = None
                if response is not None:
                    if response.status_code != 200:
                        raise BenchError(f"the bare endpoint answered {response.status_code}: {response.text[:300]}")
                    break
                if time.monotonic() > deadline:
                    raise BenchError("the bare endpoint did not answer within 30 s")
                await asyncio.sleep(0.1)
        yield process, base
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


async def measure_bare(cfg: StackSettings, args: argparse.Namespace) -> dict[str, Any]:
    from devstack.supervisor import Supervisor

    supervisor = Supervisor(cfg)
    async with bare_server(cfg, args.pool_size) as (process, base):

        def cpu_probe() -> dict[str, float]:
            # The bare process alone, PostgreSQL (its backends included) and this process (the load client).
            found = memory.cpu_seconds(supervisor, ("postgres",))
            found["bare"] = memory._cpu_seconds(process.pid)
            return found

        idle = await idle_cpu(cpu_probe, args.idle_seconds)
        report: dict[str, Any] = {
            "path": PATH,
            "database": SERVICE,
            "statements": [PAGE_SQL, COUNT_SQL],
            "transaction": "none: the page, then the count for a full page only, on one pooled connection, "
            "no reset on release",
            "server": "Starlette under uvicorn (httptools" + (", uvloop)" if _has_uvloop() else ", asyncio)"),
            "pool_size": args.pool_size,
            "idle_cpu_per_second": idle,
            "sweep": [],
        }
        for concurrency in args.concurrency:
            print(f"bare endpoint: C={concurrency} for {args.seconds:g} s ...", flush=True)
            run = await load_run(
                target="bare",
                base_url=base,
                path=PATH,
                tokens=["bench"],  # sent, not read
                concurrency=concurrency,
                seconds=args.seconds,
                warmup=args.warmup,
                spread_addresses=False,
                cpu_probe=cpu_probe,
                idle_cpu_per_second=idle,
            )
            report["sweep"].append(run.summary())
    best = max(report["sweep"], key=lambda r: r["requests_per_second"])
    report["best_requests_per_second"] = best["requests_per_second"]
    report["best_at_concurrency"] = best["concurrency"]
    cpu = sorted(r["cpu_ms_per_request"].get("bare", 0.0) for r in report["sweep"])
    report["bare_cpu_ms_per_request"] = cpu[len(cpu) // 2]  # the median over the sweep
    return report


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


# 2. Raw Kafka --------------------------------------------------------------------------------------------------
async def measure_kafka(cfg: StackSettings, args: argparse.Namespace) -> dict[str, Any]:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic

    topic = f"bench.limits.{uuid.uuid4().hex[:12]}"
    options = cfg.kafka_client_options()
    admin = AIOKafkaAdminClient(**options)
    await admin.start()
    producer = consumer = None
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
        producer = AIOKafkaProducer(**options, acks="all", enable_idempotence=True, linger_ms=args.linger_ms)
        consumer = AIOKafkaConsumer(
            topic,
            **options,
            group_id=topic,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        await producer.start()
        await consumer.start()
        sent: dict[bytes, float] = {}
        received: dict[bytes, float] = {}
        committed: dict[bytes, float] = {}
        duplicates = 0
        stop = asyncio.Event()

        async def consume() -> None:
            nonlocal duplicates
            assert consumer is not None
            while not stop.is_set():
                batch = await consumer.getmany(timeout_ms=100)
                got = time.perf_counter()
                keys = [record.key for records in batch.values() for record in records]
                if not keys:
                    continue
                await consumer.commit()  # the positions of what this batch returned
                done = time.perf_counter()
                for key in keys:
                    if key in received:
                        duplicates += 1
                        continue
                    received[key] = got
                    committed[key] = done

        async def send(key: bytes) -> asyncio.Future[Any]:
            assert producer is not None
            sent[key] = time.perf_counter()
            future: asyncio.Future[Any] = await producer.send(
                topic, (key + b":").ljust(args.message_bytes, b"x"), key=key
            )
            return future

        async def wait_for(keys: list[bytes], timeout: float, label: str) -> None:
            deadline = time.monotonic() + timeout
            while not all(k in committed for k in keys):
                if reader.done():
                    reader.result()  # the consumer's error, if it stopped on one
                    raise BenchError("raw Kafka: the consumer stopped")
                if time.monotonic() > deadline:
                    missing = sum(1 for k in keys if k not in committed)
                    raise BenchError(
                        f"raw Kafka: {missing} of {len(keys)} {label} records not consumed in {timeout:g} s"
                    )
                await asyncio.sleep(0.02)

        reader = asyncio.create_task(consume())
        try:
            # Warm-up: one record at a time until the consumer has joined its group and reads at once.
            print(f"raw Kafka: topic {topic}, waiting for the consumer to join ...", flush=True)
            for n in range(args.kafka_warmup):
                key = f"w{n}".encode()
                await (await send(key))
                await wait_for([key], 60, "warm-up")
            measured = [f"m{n}".encode() for n in range(max(1, round(args.rate * args.kafka_seconds)))]
            print(f"raw Kafka: {len(measured)} records at {args.rate:g}/s for {args.kafka_seconds:g} s ...", flush=True)
            deliveries = []
            started = time.perf_counter()
            for n, key in enumerate(measured):
                delay = started + n / args.rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                deliveries.append(await send(key))
            send_seconds = time.perf_counter() - started
            await asyncio.gather(*deliveries)
            await wait_for(measured, 30, "measured")
        finally:
            stop.set()
            await reader
    finally:
        if consumer is not None:
            await consumer.stop()
        if producer is not None:
            await producer.stop()
        try:
            await admin.delete_topics([topic])
        finally:
            await admin.close()
    to_received = [(received[k] - sent[k]) * 1000 for k in measured]
    to_committed = [(committed[k] - sent[k]) * 1000 for k in measured]
    return {
        "topic": topic,
        "producer": f"acks=all, idempotent, linger_ms={args.linger_ms}",
        "consumer": "own group, read_committed, commit after each batch (getmany), no auto-commit",
        "message_bytes": args.message_bytes,
        "target_rate": args.rate,
        "records": len(measured),
        "achieved_rate": len(measured) / send_seconds if send_seconds else 0.0,
        "duplicates": duplicates,
        "received_p50_ms": percentile(to_received, 50),
        "received_p99_ms": percentile(to_received, 99),
        "received_max_ms": max(to_received),
        "committed_p50_ms": percentile(to_committed, 50),
        "committed_p99_ms": percentile(to_committed, 99),
        "committed_max_ms": max(to_committed),
    }


# 3. Raw PostgreSQL commits ---------------------------------------------------------------------------------------
def _payload(size: int) -> str:
    """A JSON object of about `size` bytes, shaped like an event (ids, a type, a time, some text)."""
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "type": "bench.limits.row_written",
        "time": "2026-01-01T00:00:00Z",
        "subject": str(uuid.uuid4()),
        "data": {"name": "", "amount": "1234.56", "currency": "EUR"},
    }
    body["data"]["name"] = "x" * max(0, size - len(json.dumps(body)))
    return json.dumps(body)


async def _commit_run(dsn: str, connections: int, seconds: float, warmup: float, payload: str) -> dict[str, Any]:
    conns = [await asyncpg.connect(dsn) for _ in range(connections)]
    latencies: list[float] = []
    measuring = False
    stop_at = time.perf_counter() + warmup + seconds

    async def worker(conn: asyncpg.Connection) -> None:
        while True:
            began = time.perf_counter()
            if began >= stop_at:
                return
            async with conn.transaction():
                await conn.execute(INSERT_SQL, uuid.uuid4(), "bench.limits", payload)
            if measuring:
                latencies.append((time.perf_counter() - began) * 1000)

    try:
        workers = [asyncio.create_task(worker(c)) for c in conns]
        await asyncio.sleep(warmup)
        measuring = True
        started = time.perf_counter()
        await asyncio.gather(*workers)
        elapsed = time.perf_counter() - started
    finally:
        await asyncio.gather(*(c.close() for c in conns))
    return {
        "connections": connections,
        "seconds": round(elapsed, 3),
        "commits": len(latencies),
        "commits_per_second": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": percentile(latencies, 50) if latencies else None,
        "p99_ms": percentile(latencies, 99) if latencies else None,
    }


async def measure_commits(cfg: StackSettings, args: argparse.Namespace) -> dict[str, Any]:
    database = f"bench_limits_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(cfg.admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{database}"')
        try:
            dsn = admin_dsn_for(cfg, database)
            setup = await asyncpg.connect(dsn)
            try:
                await setup.execute(OUTBOX_TABLE)
                synchronous_commit = await setup.fetchval("SHOW synchronous_commit")
                fsync = await setup.fetchval("SHOW fsync")
            finally:
                await setup.close()
            payload = _payload(args.payload_bytes)
            runs = []
            for connections in args.commit_connections:
                print(
                    f"raw PostgreSQL: INSERT + COMMIT on {connections} connection(s) for {args.commit_seconds:g} s ...",
                    flush=True,
                )
                runs.append(await _commit_run(dsn, connections, args.commit_seconds, args.warmup, payload))
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        await admin.close()
    return {
        "database": database,
        "table": " ".join(OUTBOX_TABLE.split()),
        "statement": INSERT_SQL,
        "payload_bytes": len(payload.encode()),
        "synchronous_commit": synchronous_commit,
        "fsync": fsync,
        "runs": runs,
    }


# The run ---------------------------------------------------------------------------------------------------------
async def run(cfg: StackSettings, args: argparse.Namespace) -> dict[str, Any]:
    report: dict[str, Any] = {"load_average_before": list(os.getloadavg()), "cpus": os.cpu_count()}
    if "bare" in args.parts:
        report["bare_endpoint"] = await measure_bare(cfg, args)
    if "kafka" in args.parts:
        report["kafka"] = await measure_kafka(cfg, args)
    if "commits" in args.parts:
        report["postgres_commits"] = await measure_commits(cfg, args)
    report["load_average_after"] = list(os.getloadavg())
    return report


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} ms"


def _table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]
    return ["  ".join(c.rjust(w) for c, w in zip(cells, widths, strict=True)) for cells in (header, *rows)]


def render(report: dict[str, Any]) -> str:
    lines = ["", f"Limits on this machine, measured in this run ({report['cpus']} CPUs)"]
    bare = report.get("bare_endpoint")
    if bare:
        lines += [
            "",
            f"Bare endpoint: GET {bare['path']}: {bare['server']}, raw asyncpg pool of {bare['pool_size']} "
            f"on {bare['database']}'s database, orjson",
            "  runs: " + "; ".join(bare["statements"]),
        ]
        sweep_rows: list[tuple[str, ...]] = []
        for r in bare["sweep"]:
            cpu = r["cpu_ms_per_request"]
            sweep_rows.append(
                (
                    str(r["concurrency"]),
                    f"{r['requests_per_second']:.0f}",
                    _ms(r["p50_ms"]),
                    _ms(r["p99_ms"]),
                    _ms(cpu.get("bare")),
                    _ms(cpu.get("postgres")),
                    _ms(cpu.get("bench")),
                    str(sum(r["non_200"].values()) + r["errors"]),
                )
            )
        header = ("C", "req/s", "p50", "p99", "bare CPU/req", "PG CPU/req", "client CPU/req", "not 200")
        lines += ["  " + line for line in _table(header, sweep_rows)]
        lines.append(
            f"  best {bare['best_requests_per_second']:.0f} req/s at C={bare['best_at_concurrency']}; "
            f"bare CPU per request {_ms(bare['bare_cpu_ms_per_request'])} (median over the sweep, idle CPU left out)"
        )
    kafka = report.get("kafka")
    if kafka:
        lines += [
            "",
            f"Raw Kafka produce -> consume -> commit: {kafka['records']} records of {kafka['message_bytes']} bytes "
            f"at {kafka['achieved_rate']:.0f}/s (producer {kafka['producer']}; consumer {kafka['consumer']})",
            f"  received   p50 {_ms(kafka['received_p50_ms'])}  p99 {_ms(kafka['received_p99_ms'])}  "
            f"max {_ms(kafka['received_max_ms'])}",
            f"  committed  p50 {_ms(kafka['committed_p50_ms'])}  p99 {_ms(kafka['committed_p99_ms'])}  "
            f"max {_ms(kafka['committed_max_ms'])}",
        ]
    commits = report.get("postgres_commits")
    if commits:
        lines += [
            "",
            f"Raw PostgreSQL INSERT + COMMIT, an outbox-shaped row with {commits['payload_bytes']} bytes of jsonb "
            f"(synchronous_commit={commits['synchronous_commit']}, fsync={commits['fsync']})",
        ]
        rows = [
            (str(r["connections"]), f"{r['commits_per_second']:.0f}", _ms(r["p50_ms"]), _ms(r["p99_ms"]))
            for r in commits["runs"]
        ]
        lines += ["  " + line for line in _table(("connections", "commits/s", "p50", "p99"), rows)]
    lines += [
        "",
        "Load average: before "
        + " ".join(f"{v:.2f}" for v in report["load_average_before"])
        + ", after "
        + " ".join(f"{v:.2f}" for v in report["load_average_after"]),
    ]
    return "\n".join(lines)


def _numbers(text: str) -> list[int]:
    return [int(c) for c in text.split(",") if c.strip()]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.limits", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--parts", default=",".join(PARTS), help="which to measure, of bare,kafka,commits (all)")
    parser.add_argument("--concurrency", default="1,8,32", help="bare endpoint: connection counts (default 1,8,32)")
    parser.add_argument("--seconds", type=float, default=5.0, help="bare endpoint: measured seconds per C (5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="unmeasured start of each bare and commit run (1)")
    parser.add_argument("--idle-seconds", type=float, default=3.0, help="bare endpoint: idle CPU sampled first (3)")
    parser.add_argument("--pool-size", type=int, default=10, help="bare endpoint: asyncpg pool size (10)")
    parser.add_argument("--rate", type=float, default=100.0, help="raw Kafka: records a second (100)")
    parser.add_argument("--kafka-seconds", type=float, default=10.0, help="raw Kafka: seconds of paced records (10)")
    parser.add_argument("--kafka-warmup", type=int, default=10, help="raw Kafka: warm-up records, one at a time (10)")
    parser.add_argument("--linger-ms", type=int, default=0, help="raw Kafka: the producer's linger (0)")
    parser.add_argument("--message-bytes", type=int, default=500, help="raw Kafka: record size (500)")
    parser.add_argument("--commit-connections", default="1,8", help="raw PostgreSQL: connection counts (1,8)")
    parser.add_argument("--commit-seconds", type=float, default=5.0, help="raw PostgreSQL: seconds per run (5)")
    parser.add_argument("--payload-bytes", type=int, default=500, help="raw PostgreSQL: jsonb payload size (500)")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default .run/bench/limits.json)")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    try:
        args.concurrency = _numbers(args.concurrency)
        args.commit_connections = _numbers(args.commit_connections)
    except ValueError:
        args.concurrency = args.commit_connections = []
    if (
        not args.parts
        or set(args.parts) - set(PARTS)
        or not args.concurrency
        or min(args.concurrency) < 1
        or not args.commit_connections
        or min(args.commit_connections) < 1
        or min(args.seconds, args.rate, args.kafka_seconds, args.commit_seconds) <= 0
        or min(args.warmup, args.idle_seconds, args.linger_ms) < 0
        or min(args.pool_size, args.kafka_warmup) < 1
    ):
        parser.error(
            "--parts of bare,kafka,commits; --concurrency and --commit-connections positive numbers; "
            "--seconds, --rate, --kafka-seconds, --commit-seconds > 0; --warmup, --idle-seconds, --linger-ms >= 0; "
            "--pool-size, --kafka-warmup >= 1"
        )
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_bare is not None:
        serve_bare(args.serve_bare)
        return 0
    cfg = load()
    stack_up(cfg)
    report = run_on_uvloop(run(cfg, args))
    print(render(report))
    write_report(report, args.output or cfg.run_dir / "bench" / "limits.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
