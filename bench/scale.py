"""List latency as the tables grow: the main lists through the gateway with 10,000 and 100,000 rows (issue 13: "the
list latency with 10k and 100k rows in the table").

`python -m bench.scale [--sizes 10000,100000] [--requests 200] [--no-start]`
(a quick check: `--sizes 2000,10000 --requests 50`)

On the running stack (started and seeded if needed). The rows are bulk-inserted straight into the owning
service's database (one INSERT ... SELECT generate_series each, as the PostgreSQL superuser), all in one
bench-only department (a fixed id no real department has), then VACUUM ANALYZE, as a table that has settled:
- tasks (closed ones: no SLA or stale watcher picks them up), in the tasks database;
- deals (lost ones) on the Auto line, in pipeline's database;
- companies with made-up names, emails and tax ids, in the clients database.
No event is published for them: no other service hears of them. Per size, each list is asked `--requests` times
one after the other (after 10 unmeasured), through the gateway as the demo Admin, and timed from send to the
end of the body:
- `GET /api/v1/tasks?department_id=D&sort=-number&limit=50` (the department's tasks, newest first);
- `GET /api/v1/tasks?department_id=D&limit=50` (the default order: at-risk first);
- `GET /api/v1/opportunities?department_id=D&limit=50` (the department's deals, newest first);
- `GET /api/v1/clients?department_id=D&limit=50` (by name);
- `GET /api/v1/clients?department_id=D&q=<a word of one client's name>&limit=50` (the search).
Each list's answer also carries its `total` (a count of the department's rows: that part grows with the table
whatever the indexes). The rows are deleted afterwards (and before, should a killed run have left some).
Figures go to `.run/bench/scale.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.common import BenchError, admin_dsn_for, percentile, stack_up, write_report
from devstack.config import StackSettings, load
from devstack.seed import ADMIN

# The bench-only department: no real department has this id (identity makes random ones).
DEPARTMENT = uuid.UUID("00000000-0000-4000-8000-00000000b5ca")
WARM_UP = 10

# Each fill adds rows `start`..`stop` (1-based), so a bigger size adds to the smaller one.
TASKS_FILL = """
INSERT INTO tasks (id, title, origin, opportunity_id, client_id, stage_key, department_id, priority, status,
                   sla_started_at, sla_state, last_activity_at, created_at, updated_at, closed_at)
SELECT gen_random_uuid(), 'Bench scale task ' || i, 'auto', gen_random_uuid(), gen_random_uuid(), 'needs_analysis',
       $1, 'normal', CASE WHEN i % 7 = 0 THEN 'cancelled' ELSE 'done' END, now() - i * interval '1 minute', 'green',
       now(), now() - i * interval '1 minute', now(), now()
FROM generate_series($2::int, $3::int) AS i
"""
DEALS_FILL = """
INSERT INTO opportunities (id, client_id, line_id, title, owner_id, department_id, stage_key, stage_entered_at,
                           status, archived, version, created_at, updated_at, closed_at)
SELECT gen_random_uuid(), gen_random_uuid(), $4, 'Bench scale deal ' || i, gen_random_uuid(), $1,
       (SELECT key FROM stages ORDER BY position LIMIT 1 OFFSET i % 7), now() - i * interval '1 minute', 'lost',
       false, 2, now() - i * interval '1 minute', now(), now()
FROM generate_series($2::int, $3::int) AS i
"""
CLIENTS_FILL = """
INSERT INTO clients (id, kind, name, tax_id, country, email, phone, phone_digits, department_id, status)
SELECT gen_random_uuid(), 'company', initcap(substr(w, 1, 7) || ' ' || substr(w, 8, 9)) || ' SA',
       'B' || lpad(i::text, 9, '0'), 'GR', substr(w, 17, 8) || '.' || i || '@bench.example.com',
       '+30 210 ' || lpad(i::text, 7, '0'), '30210' || lpad(i::text, 7, '0'), $1, 'prospect'
FROM generate_series($2::int, $3::int) AS i, translate(md5('bench' || i), '0123456789', 'ghijklmnop') AS w
"""
# (database, table, fill): every table holds the bench department in `department_id`
TABLES = (
    ("tasks", "tasks", TASKS_FILL),
    ("pipeline", "opportunities", DEALS_FILL),
    ("clients", "clients", CLIENTS_FILL),
)


async def _connections(cfg: StackSettings) -> dict[str, asyncpg.Connection]:
    return {
        database: await asyncpg.connect(admin_dsn_for(cfg, database), timeout=10, command_timeout=600)
        for database, _, _ in TABLES
    }


async def _remove(conns: dict[str, asyncpg.Connection]) -> None:
    for database, table, _ in TABLES:
        await conns[database].execute(f"DELETE FROM {table} WHERE department_id = $1", DEPARTMENT)
        await conns[database].execute(f"VACUUM ANALYZE {table}")


async def _fill(conns: dict[str, asyncpg.Connection], start: int, stop: int, line_id: uuid.UUID, say) -> None:
    for database, table, fill in TABLES:
        began = time.perf_counter()
        args: list[Any] = [DEPARTMENT, start, stop] + ([line_id] if table == "opportunities" else [])
        await conns[database].execute(fill, *args)
        await conns[database].execute(f"VACUUM ANALYZE {table}")
        say(f"  {table}: rows {start:,}..{stop:,} in {time.perf_counter() - began:.1f} s")


async def _search_word(conns: dict[str, asyncpg.Connection]) -> str:
    """The last word but one of a bench client's name (its second made-up word)."""
    name = await conns["clients"].fetchval(
        "SELECT name FROM clients WHERE department_id = $1 ORDER BY tax_id LIMIT 1 OFFSET 77", DEPARTMENT
    )
    if name is None:
        raise BenchError("no bench client to search for")
    return str(name).split()[1]


def _lists(word: str) -> dict[str, tuple[str, dict[str, Any]]]:
    department = str(DEPARTMENT)
    return {
        "tasks newest first": ("/api/v1/tasks", {"department_id": department, "sort": "-number", "limit": 50}),
        "tasks at-risk first": ("/api/v1/tasks", {"department_id": department, "limit": 50}),
        "deals newest first": ("/api/v1/opportunities", {"department_id": department, "limit": 50}),
        "clients by name": ("/api/v1/clients", {"department_id": department, "limit": 50}),
        "clients search": ("/api/v1/clients", {"department_id": department, "q": word, "limit": 50}),
    }


async def _time(client: httpx.AsyncClient, path: str, params: dict[str, Any], requests: int) -> dict[str, Any]:
    latencies: list[float] = []
    total = None
    for i in range(WARM_UP + requests):
        began = time.perf_counter()
        response = await client.get(path, params=params)
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            raise BenchError(f"GET {path} {params} failed: {response.status_code} {response.text[:300]}")
        if i >= WARM_UP:
            latencies.append(elapsed)
        total = response.json()["total"]
    return {
        "total": total,
        "p50_ms": round(percentile(latencies, 50), 2),
        "p99_ms": round(percentile(latencies, 99), 2),
        "max_ms": round(max(latencies), 2),
    }


async def run(cfg: StackSettings, sizes: list[int], requests: int, say) -> dict[str, Any]:
    conns = await _connections(cfg)
    results: list[dict[str, Any]] = []
    try:
        async with httpx.AsyncClient(base_url=cfg.gateway_url, timeout=60) as client:
            response = await client.post(
                "/api/v1/auth/token", data={"username": ADMIN.email, "password": ADMIN.password}
            )
            if response.status_code != 200:
                raise BenchError(f"admin login failed: {response.status_code} {response.text[:300]}")
            client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
            lines = (await client.get("/api/v1/lines", params={"limit": 200})).json()["items"]
            line = next((x for x in lines if x["name"] == "Auto"), None)
            if line is None:
                raise BenchError("the Auto line is missing; run the seed (make up)")
            await _remove(conns)  # what a killed run may have left
            have = 0
            for size in sizes:
                say(f"{size:,} rows in each table (bench department {DEPARTMENT}) ...")
                await _fill(conns, have + 1, size, uuid.UUID(line["id"]), say)
                have = size
                word = await _search_word(conns)
                lists = {}
                for name, (path, params) in _lists(word).items():
                    lists[name] = await _time(client, path, params, requests)
                    say(f"  {name}: p50 {lists[name]['p50_ms']:.1f} ms, p99 {lists[name]['p99_ms']:.1f} ms")
                results.append({"rows": size, "search_word": word, "lists": lists})
    finally:
        say("removing the bench rows ...")
        await _remove(conns)
        for conn in conns.values():
            await conn.close()
    return {"department_id": str(DEPARTMENT), "requests": requests, "sizes": results}


def render(report: dict[str, Any]) -> str:
    names = list(report["sizes"][0]["lists"])
    header = ("List (limit 50, through the gateway)", *(f"{s['rows']:,} rows: p50 / p99 ms" for s in report["sizes"]))
    rows = [header]
    for name in names:
        rows.append(
            (
                name,
                *(f"{s['lists'][name]['p50_ms']:.1f} / {s['lists'][name]['p99_ms']:.1f}" for s in report["sizes"]),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = ["", "List latency by table size", fmt.format(*rows[0]).rstrip(), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*r).rstrip() for r in rows[1:]]
    lines.append(f"{report['requests']} requests per list and size, one at a time, as the Admin")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scale", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000", help="rows per table, ascending (default 10000,100000)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per list and size (default 200)")
    parser.add_argument("--no-start", action="store_true", help="do not start the stack; it must be running")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default .run/bench/scale.json)")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes: whole numbers separated by commas")
    if not sizes or sizes != sorted(sizes) or sizes[0] < 100 or args.requests < 1:
        parser.error("--sizes ascending, each >= 100; --requests >= 1")
    cfg = load()
    if not args.no_start:
        stack_up(cfg)
    print("list latency by table size", flush=True)
    report = asyncio.run(run(cfg, sizes, args.requests, say=lambda m: print(m, flush=True)))
    print(render(report), flush=True)
    write_report(report, args.output or cfg.run_dir / "bench" / "scale.json")


if __name__ == "__main__":
    main()
