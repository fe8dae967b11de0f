"""Latency from issuing a contract to its client's status change: `python -m bench.contracts`.

Through the gateway, as the demo Admin: for each sample a fresh client (a Prospect) gets a contract
pending issuance; the contract is issued with dates covering today, which activates it at once. t0 is
the contract's `issued_at` (the contracts service's clock as it handled the issue request, just
before its commit); the end is the client's `status_changed_at` (the clients service's clock when it
handled `contracts.contract.activated` and made the client Active), read from the clients database.
Both are this machine's clock (the clock offsets of both services must be 0: checked). Samples run
one after another at a paced rate.

Path measured: contracts outbox -> relay -> Kafka -> clients consumer -> status change committed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from bench.common import BenchError, admin_dsn_for, percentile, stack_up, ts, wait_for_count, write_report
from devstack.config import StackSettings, load
from devstack.seed import ADMIN


@dataclass
class ContractsLatency:
    samples: int
    target_rate: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    min_ms: float
    mean_ms: float
    issue_http_p50_ms: float  # the issue request through the gateway
    issue_http_p99_ms: float
    samples_ms: list[float] = field(repr=False)


def _afm() -> str:
    from services.clients.taxid import afm_check_digit

    first = f"{random.randint(10_000_000, 99_999_999)}"
    return first + str(afm_check_digit(first))


async def _ok(response: httpx.Response, what: str) -> dict:
    if not 200 <= response.status_code < 300:
        raise BenchError(f"{what}: {response.status_code} {response.text[:300]}")
    return response.json()


async def run(cfg: StackSettings, *, samples: int, rate: float, stall_timeout: float, say) -> ContractsLatency:
    today = datetime.now(ZoneInfo("Europe/Athens")).date()
    async with httpx.AsyncClient(base_url=cfg.gateway_url, timeout=30) as client:
        token = await _ok(
            await client.post("/api/v1/auth/token", data={"username": ADMIN.email, "password": ADMIN.password}),
            "admin login",
        )
        client.headers["Authorization"] = f"Bearer {token['access_token']}"
        # The clock routes (CLOCK_CONTROL) answer an Admin's token on the service's own port.
        async with httpx.AsyncClient(timeout=30, headers=client.headers) as direct:
            for service in ("clients", "contracts"):
                answer = await direct.get(f"{cfg.service_url(service)}/internal/clock")
                offset = (await _ok(answer, f"{service}'s clock"))["offset_seconds"]
                if offset:
                    raise BenchError(f"the {service} service's clock is moved by {offset} s; put it back first")
        departments = await _ok(await client.get("/api/v1/departments", params={"limit": 200}), "departments")
        department_id = next(d["id"] for d in departments["items"] if d["name"] == "Sales")
        run_id = uuid.uuid4().hex[:8]

        say(f"  preparing {samples} clients with a contract pending issuance ...")
        pending: list[tuple[str, str]] = []
        for i in range(samples):
            c = await _ok(
                await client.post(
                    "/api/v1/clients",
                    json={
                        "kind": "company",
                        "name": f"Bench contracts {run_id} {i:04d}",
                        "country": "GR",
                        "tax_id": _afm(),
                        "department_id": department_id,
                    },
                ),
                "creating a client",
            )
            k = await _ok(
                await client.post(
                    "/api/v1/contracts",
                    json={
                        "client_id": c["id"],
                        "premium": "1000.00",
                        "currency": "EUR",
                        "start_date": (today - timedelta(days=1)).isoformat(),
                        "end_date": (today + timedelta(days=364)).isoformat(),
                        "insurer": "Bench",
                    },
                ),
                "creating a contract",
            )
            pending.append((c["id"], k["id"]))

        say(f"  issuing them one after another at {rate:g}/s ...")
        issued: dict[str, tuple[float, float, float]] = {}  # client id -> (sent, 2xx received, issued_at)
        paced_from = time.monotonic()
        for i, (client_id, contract_id) in enumerate(pending):
            delay = paced_from + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            sent = time.time()
            body = await _ok(
                await client.post(
                    f"/api/v1/contracts/{contract_id}/issue",
                    json={"policy_number": f"BENCH-{run_id}-{i:04d}", "issue_date": today.isoformat()},
                ),
                "issuing",
            )
            issued[client_id] = (sent, time.time(), ts(body["issued_at"]))
            if body["status"] != "active":
                raise BenchError(f"contract {contract_id} is {body['status']} after issue, not active")

    conn = await asyncpg.connect(admin_dsn_for(cfg, "clients"), timeout=10, command_timeout=30)
    try:
        ids = [uuid.UUID(c) for c in issued]

        async def active() -> int:
            return await conn.fetchval("SELECT count(*) FROM clients WHERE id = ANY($1) AND status = 'active'", ids)

        await wait_for_count("clients (status changes)", active, samples, stall_timeout=stall_timeout, poll=0.1)
        rows = await conn.fetch("SELECT id, status_changed_at FROM clients WHERE id = ANY($1)", ids)
    finally:
        await conn.close(timeout=5)
    latencies = [(ts(r["status_changed_at"]) - issued[str(r["id"])][2]) * 1000 for r in rows]
    http = [(received - sent) * 1000 for sent, received, _ in issued.values()]
    return ContractsLatency(
        samples=samples,
        target_rate=rate,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies),
        min_ms=min(latencies),
        mean_ms=sum(latencies) / len(latencies),
        issue_http_p50_ms=percentile(http, 50),
        issue_http_p99_ms=percentile(http, 99),
        samples_ms=[round(v, 2) for v in latencies],
    )


def render(result: ContractsLatency) -> str:
    rows = [
        ("Figure", "Measured"),
        (f"Contract issued -> client Active, {result.samples} samples", f"p50 {result.p50_ms:.1f} ms"),
        ("", f"p99 {result.p99_ms:.1f} ms"),
        ("", f"min {result.min_ms:.1f} ms, mean {result.mean_ms:.1f} ms, max {result.max_ms:.1f} ms"),
        (
            "Issue request through the gateway",
            f"p50 {result.issue_http_p50_ms:.1f} ms, p99 {result.issue_http_p99_ms:.1f} ms",
        ),
    ]
    width = max(len(r[0]) for r in rows)
    lines = [f"{a:<{width}}  {b}" for a, b in rows]
    lines.insert(1, "-" * width + "  " + "-" * max(len(r[1]) for r in rows))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.contracts", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=50, help="contracts issued (default 50)")
    parser.add_argument("--rate", type=float, default=5.0, help="issues per second (default 5)")
    parser.add_argument("--stall-timeout", type=float, default=60.0, help="fail after this long without progress")
    args = parser.parse_args(argv)
    if args.samples < 1 or args.rate <= 0:
        parser.error("--samples must be >= 1 and --rate > 0")
    cfg = load()
    stack_up(cfg)
    try:
        result = asyncio.run(
            run(
                cfg,
                samples=args.samples,
                rate=args.rate,
                stall_timeout=args.stall_timeout,
                say=lambda m: print(m, flush=True),
            )
        )
    except BenchError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    print(render(result))
    write_report(asdict(result), cfg.run_dir / "bench" / "contracts.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
