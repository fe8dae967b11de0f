"""Stage-advance latency and the highest sustained advance rate of the pipeline service.

`python -m bench.pipeline [--deals 500] [--rate 50] [--paced 300] [--concurrency 8,32] [--loop-seconds 8]`

Through the gateway, as the demo Admin, on the running stack (started if needed):
1. a bench client is announced on `clients.client.events` (as the clients service would) and N deals
   are opened on the Auto line;
2. paced: `--paced` advances, one per deal, fired at a fixed rate (default 50/s) whatever the answers
   take (open loop), each timed from send to 2xx: p50/p99 of the advance request;
3. sustained: closed loops of C concurrent clients, each advancing deals one at a time (a deal is never
   advanced by two clients at once) for `--loop-seconds`; the advance rate each C sustained, and the best.
Each deal takes six advances (First Contact to Client Decision), so N*6 bounds the advances available.
The latency from an advance to its routed task being readable is measured by the tasks benchmark.
Figures print as a table and go to `.run/bench/pipeline.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections import deque
from pathlib import Path

import httpx

from bench.common import BenchError, percentile, stack_up, write_report
from devstack.config import load
from devstack.seed import ADMIN

ADVANCES_PER_DEAL = 6  # first_contact -> ... -> client_decision


async def _announce_client(cfg) -> str:
    from aiokafka import AIOKafkaProducer

    from shared import clock
    from shared.context import Actor
    from shared.contracts.clients import ClientCreated
    from shared.messaging.envelope import Envelope, new_event_id, topic_for

    client_id = uuid.uuid4()
    data = ClientCreated(
        client_id=client_id,
        kind="company",
        name="Bench Pipeline SA",
        tax_id=None,
        country="GR",
        email=None,
        phone=None,
        address=None,
        department_id=None,
        parent_id=None,
        status="prospect",
    )
    envelope = Envelope(
        id=new_event_id(),
        type=data.event_type,
        source="clients",  # as the clients service would (consumers park an event its topic's owner did not send)
        time=clock.now(),
        data=data.model_dump(mode="json"),
        subject=str(client_id),
        actor=Actor("system", "bench"),
    )
    producer = AIOKafkaProducer(**cfg.kafka_client_options(), enable_idempotence=True, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            topic_for(envelope.type),
            envelope.encode_value(),
            key=str(client_id).encode(),
            headers=[(k, v.encode()) for k, v in envelope.attribute_headers().items()],
        )
    finally:
        await producer.stop()
    return str(client_id)


async def open_deals(
    client: httpx.AsyncClient, *, client_id: str, line_id: str, count: int, concurrency: int = 16
) -> list[str]:
    ids: list[str] = []
    queue = iter(range(count))

    async def worker() -> None:
        for i in queue:
            response = await client.post(
                "/api/v1/opportunities",
                json={
                    "client_id": client_id,
                    "line_id": line_id,
                    "title": f"Bench deal {i}",
                    "expected_premium": "1000.00",
                    "currency": "EUR",
                },
            )
            if response.status_code != 201:
                raise BenchError(f"opening a deal failed: {response.status_code} {response.text[:300]}")
            ids.append(response.json()["id"])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ids


async def _advance(client: httpx.AsyncClient, deal_id: str) -> float:
    began = time.perf_counter()
    response = await client.post(f"/api/v1/opportunities/{deal_id}/advance")
    elapsed = (time.perf_counter() - began) * 1000
    if response.status_code != 200:
        raise BenchError(f"advance of {deal_id} failed: {response.status_code} {response.text[:300]}")
    return elapsed


async def paced(client: httpx.AsyncClient, deals: list[str], *, count: int, rate: float) -> dict:
    """`count` advances (one per deal) started at `rate` per second, not waiting for earlier answers."""
    tasks = []
    start = time.perf_counter()
    for i in range(count):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(_advance(client, deals[i])))
    latencies = await asyncio.gather(*tasks)
    took = time.perf_counter() - start
    return {
        "advances": count,
        "target_rate": rate,
        "achieved_rate": count / took,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies),
    }


async def closed_loop(
    client: httpx.AsyncClient, ready: deque, remaining: dict[str, int], *, concurrency: int, seconds: float, cpu_probe
) -> dict:
    """`concurrency` clients advancing as fast as answers come back, for `seconds`; with the CPU time each
    process of the stack spent per advance (a figure that other load on the machine does not inflate much)."""
    latencies: list[float] = []
    cpu_before = cpu_probe()
    stop_at = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < stop_at and ready:
            deal = ready.popleft()
            latencies.append(await _advance(client, deal))
            remaining[deal] -= 1
            if remaining[deal]:
                ready.append(deal)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    took = time.perf_counter() - start
    if not latencies:
        raise BenchError("no deal left to advance; open more with --deals")
    await asyncio.sleep(1.0)  # let the relay and audit finish the last events
    cpu_after = cpu_probe()
    cpu_ms = {
        name: round((cpu_after[name] - cpu_before.get(name, 0.0)) / len(latencies) * 1000, 2) for name in cpu_after
    }
    return {
        "concurrency": concurrency,
        "advances": len(latencies),
        "seconds": took,
        "cpu_ms_per_advance": cpu_ms,
        "rate": len(latencies) / took,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "exhausted": not ready,
    }


async def run(args) -> dict:
    from bench import memory
    from devstack.supervisor import Supervisor

    cfg = load()
    supervisor = Supervisor(cfg)

    def cpu_probe() -> dict[str, float]:
        return memory.cpu_seconds(supervisor, ("pipeline", "gateway", "audit", "kafka", "postgres"))

    limits = httpx.Limits(
        max_connections=max(args.concurrency) + 64, max_keepalive_connections=max(args.concurrency) + 64
    )
    async with httpx.AsyncClient(base_url=cfg.gateway_url, timeout=60, limits=limits) as client:
        response = await client.post("/api/v1/auth/token", data={"username": ADMIN.email, "password": ADMIN.password})
        if response.status_code != 200:
            raise BenchError(f"admin login failed: {response.status_code} {response.text[:200]}")
        client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
        listed = (await client.get("/api/v1/lines", params={"limit": 200})).json()["items"]
        line = next((line for line in listed if line["name"] == args.line), None)
        if line is None or line["specialist_id"] is None:
            raise BenchError(f"the {args.line} line is missing or has no specialist; run the seed (make up)")
        client_id = await _announce_client(cfg)
        print(f"opening {args.deals} deals on the {args.line} line ...", flush=True)
        began = time.perf_counter()
        deals = await open_deals(client, client_id=client_id, line_id=line["id"], count=args.deals)
        open_rate = len(deals) / (time.perf_counter() - began)
        report = {"deals": len(deals), "open_rate": open_rate, "load_average_before": list(os.getloadavg())}

        paced_count = min(args.paced, len(deals))
        print(f"paced: {paced_count} advances at {args.rate:g}/s ...", flush=True)
        report["paced"] = await paced(client, deals, count=paced_count, rate=args.rate)

        remaining = {d: ADVANCES_PER_DEAL - (1 if i < paced_count else 0) for i, d in enumerate(deals)}
        ready = deque(d for d in deals[paced_count:] + deals[:paced_count])
        loops: list[dict] = []
        for concurrency in args.concurrency:
            print(f"closed loop: {concurrency} concurrent clients for {args.loop_seconds:g} s ...", flush=True)
            loops.append(
                await closed_loop(
                    client, ready, remaining, concurrency=concurrency, seconds=args.loop_seconds, cpu_probe=cpu_probe
                )
            )
        report["closed_loop"] = loops
        report["best_sustained_rate"] = max(r["rate"] for r in loops)
    return report


def render(report: dict) -> str:
    p = report["paced"]
    rows = [
        ("Deals opened", f"{report['deals']} ({report['open_rate']:.0f}/s, 16 concurrent)"),
        (
            f"Advance latency at {p['target_rate']:g}/s ({p['advances']} advances, achieved {p['achieved_rate']:.1f}/s)",
            f"p50 {p['p50_ms']:.1f} ms  p99 {p['p99_ms']:.1f} ms  max {p['max_ms']:.1f} ms",
        ),
    ]
    for r in report["closed_loop"]:
        rows.append(
            (
                f"Sustained advances, {r['concurrency']} concurrent clients ({r['advances']} in {r['seconds']:.1f} s)",
                f"{r['rate']:.0f}/s  p50 {r['p50_ms']:.1f} ms  p99 {r['p99_ms']:.1f} ms"
                + ("  (ran out of deals)" if r["exhausted"] else ""),
            )
        )
    rows.append(("Highest sustained advance rate", f"{report['best_sustained_rate']:.0f}/s"))
    cpu = report["closed_loop"][-1]["cpu_ms_per_advance"]
    rows.append(("CPU per advance (last closed loop)", ", ".join(f"{k} {v:.1f} ms" for k, v in cpu.items())))
    rows.append(("Load average before the run", " ".join(f"{v:.2f}" for v in report["load_average_before"])))
    width = max(len(r[0]) for r in rows)
    return "\n".join(["", "Pipeline benchmark (through the gateway)", *(f"{a:<{width}}  {b}" for a, b in rows)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.pipeline", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deals", type=int, default=500, help="deals to open (default 500)")
    parser.add_argument("--paced", type=int, default=300, help="advances in the paced phase (default 300)")
    parser.add_argument("--rate", type=float, default=50.0, help="pace of those advances per second (default 50)")
    parser.add_argument(
        "--concurrency", default="8,32", help="comma-separated client counts of the closed loops (default 8,32)"
    )
    parser.add_argument("--loop-seconds", type=float, default=8.0, help="length of each closed loop (default 8)")
    parser.add_argument("--line", default="Auto", help="insurance line of the deals (default Auto)")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default .run/bench/pipeline.json)")
    args = parser.parse_args(argv)
    args.concurrency = [int(c) for c in args.concurrency.split(",") if c.strip()]
    if args.deals < 1 or args.rate <= 0 or not args.concurrency or min(args.concurrency) < 1:
        parser.error("--deals >= 1, --rate > 0, --concurrency a list of positive numbers")

    cfg = load()
    stack_up(cfg, seeded=False)
    report = asyncio.run(run(args))
    print(render(report))
    write_report(report, args.output or cfg.run_dir / "bench" / "pipeline.json")


if __name__ == "__main__":
    main()
