"""Latency from an accepted API write to its audit record.

Through the gateway, as the demo Admin, a dedicated department ("Bench latency A"/"... B", created
once and reused) is renamed M times, one request after another at a paced rate. Each answer names the
correlation id the platform gave the request (`X-Correlation-ID`), which its event carries; t0 is the
client's time.time() when the 2xx arrives. Afterwards the audit records are read back through the gateway
(`GET /api/v1/audit/records?aggregate_id=...`) and matched by correlation id:
latency = recorded_at (audit's clock) - t0 (the client's clock), both this machine's clock.

`recorded_at` is taken by audit just before it inserts the batch, so it is a few milliseconds earlier
than the moment the record becomes visible to readers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

import asyncpg
import httpx

from bench.common import BenchError, admin_dsn_for, percentile, ts, wait_for_count
from devstack.config import StackSettings
from devstack.seed import ADMIN

NAMES = ("Bench latency A", "Bench latency B")
MAX_PAGES = 1000


@dataclass
class LatencyResult:
    writes: int
    target_rate: float
    achieved_rate: float
    department_id: str
    p50_ms: float
    p99_ms: float
    max_ms: float
    min_ms: float
    mean_ms: float
    http_p50_ms: float  # request sent -> 2xx received, through the gateway
    http_p99_ms: float
    pipeline_p50_ms: float  # occurred_at (identity) -> recorded_at (audit)
    pipeline_p99_ms: float
    samples_ms: list[float] = field(repr=False)

    def as_dict(self) -> dict:
        return asdict(self)


async def _login(client: httpx.AsyncClient) -> str:
    response = await client.post("/api/v1/auth/token", data={"username": ADMIN.email, "password": ADMIN.password})
    if response.status_code != 200:
        raise BenchError(f"admin login failed: {response.status_code} {response.text[:300]}")
    return response.json()["access_token"]


async def _bench_department(client: httpx.AsyncClient) -> dict:
    offset = 0
    while offset < 100_000:
        response = await client.get("/api/v1/departments", params={"limit": 200, "offset": offset})
        response.raise_for_status()
        page = response.json()
        for dept in page["items"]:
            if dept["name"] in NAMES:
                return dept
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            break
    response = await client.post("/api/v1/departments", json={"name": NAMES[0]})
    if response.status_code != 201:
        raise BenchError(f"could not create the bench department: {response.status_code} {response.text[:300]}")
    return response.json()


async def run(cfg: StackSettings, *, writes: int, rate: float, stall_timeout: float, poll: float, say) -> LatencyResult:
    run_id = uuid.uuid4().hex[:12]
    timeout = httpx.Timeout(30.0)
    async with httpx.AsyncClient(base_url=cfg.gateway_url, timeout=timeout) as client:
        client.headers["Authorization"] = f"Bearer {await _login(client)}"
        dept = await _bench_department(client)
        dept_id, name = dept["id"], dept["name"]
        say(f"  {writes} PATCHes of department {dept_id} at {rate:g}/s through the gateway ...")

        began = datetime.now(UTC)
        sent: dict[str, tuple[float, float]] = {}  # correlation id -> (sent, 2xx received)
        paced_from = time.monotonic()
        for i in range(writes):
            delay = paced_from + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            name = NAMES[1] if name == NAMES[0] else NAMES[0]
            request_id = f"bench-{run_id}-{i:06d}"
            t_sent = time.time()
            response = await client.patch(
                f"/api/v1/departments/{dept_id}", json={"name": name}, headers={"X-Request-ID": request_id}
            )
            t0 = time.time()
            if not 200 <= response.status_code < 300:
                raise BenchError(f"PATCH #{i} failed: {response.status_code} {response.text[:300]}")
            sent[response.headers["x-correlation-id"]] = (t_sent, t0)
        achieved = writes / (time.monotonic() - paced_from)

        # Wait (bounded) until audit has every one, then read them back through the API.
        conn = await asyncpg.connect(admin_dsn_for(cfg, "audit"), timeout=10, command_timeout=30)
        try:
            wanted = list(sent)

            async def recorded() -> int:
                return await conn.fetchval(
                    "SELECT count(*) FROM audit_records WHERE aggregate_type = 'identity.department' "
                    "AND aggregate_id = $1 AND correlation_id = ANY($2::text[])",
                    dept_id,
                    wanted,
                )

            await wait_for_count(
                "audit (records of the PATCHes)", recorded, writes, stall_timeout=stall_timeout, poll=poll
            )
        finally:
            await conn.close(timeout=5)

        records: dict[str, dict] = {}
        params = {
            "aggregate_type": "identity.department",
            "aggregate_id": dept_id,
            "order": "asc",
            "limit": 500,
            "since": began.replace(microsecond=0).isoformat(),
        }
        for _ in range(MAX_PAGES):
            response = await client.get("/api/v1/audit/records", params=params)
            if response.status_code != 200:
                raise BenchError(f"reading the audit trail failed: {response.status_code} {response.text[:300]}")
            page = response.json()
            for item in page["items"]:
                if item.get("correlation_id") in sent:
                    records[item["correlation_id"]] = item
            if not page["next_cursor"] or len(records) == writes:
                break
            params["cursor"] = page["next_cursor"]
    missing = writes - len(records)
    if missing:
        raise BenchError(f"{missing} of {writes} PATCHes have no audit record readable through the API")

    latencies, http, pipeline = [], [], []
    for request_id, (t_sent, t0) in sent.items():
        record = records[request_id]
        latencies.append((ts(record["recorded_at"]) - t0) * 1000)
        http.append((t0 - t_sent) * 1000)
        pipeline.append((ts(record["recorded_at"]) - ts(record["occurred_at"])) * 1000)
    return LatencyResult(
        writes=writes,
        target_rate=rate,
        achieved_rate=achieved,
        department_id=dept_id,
        p50_ms=percentile(latencies, 50),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies),
        min_ms=min(latencies),
        mean_ms=sum(latencies) / len(latencies),
        http_p50_ms=percentile(http, 50),
        http_p99_ms=percentile(http, 99),
        pipeline_p50_ms=percentile(pipeline, 50),
        pipeline_p99_ms=percentile(pipeline, 99),
        samples_ms=[round(v, 2) for v in latencies],
    )
