"""Task routing: from a stage advance on Kafka to the routed task readable through the gateway.

`python -m bench.tasks` (the stack must be running, or is started). A bench department with five
employees ("Bench tasks", made once through the gateway and reused) receives the tasks.

1. Latency: `pipeline.opportunity.stage_advanced` events for new deals are published straight to
   Kafka (as pipeline's relay would) at a paced rate (default 50/s). Meanwhile a poller reads the newest
   open tasks of the department (`GET /api/v1/tasks?department_id=...&active=true&sort=-number&limit=50`)
   through the gateway, back to back, as the Admin.
   Latency = the moment the response that first lists a deal's task arrived - the moment its event
   was handed to the producer (both time.time() on this machine). The poll round trip is reported:
   it bounds how late a task can be seen after it became readable.
2. Sustained rate: a burst of events (default 2,000) is published as fast as the producer takes them;
   the department's task count is polled through the gateway until every one is routed.
   Rate = events / (last one readable - first one handed to the producer).
3. Clean-up: each bench deal is declined, which cancels its task, so loads stay bounded across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from dataclasses import asdict, dataclass, field

import httpx
from aiokafka import AIOKafkaProducer

from bench.common import BenchError, percentile, stack_up, ts, write_report
from devstack.config import StackSettings, load
from devstack.seed import ADMIN
from shared import clock
from shared.context import Actor
from shared.contracts.pipeline import MATERIAL_GATHERING, NEEDS_ANALYSIS, OpportunityDeclined, StageAdvanced, StageRef
from shared.messaging.envelope import Envelope, new_event_id, topic_for

DEPARTMENT = "Bench tasks"
MEMBERS = 5
PASSWORD = "bench-tasks-password"
AIM_P99_MS = 200.0
AIM_RATE = 200.0


@dataclass
class TasksBenchResult:
    latency_events: int
    target_rate: float
    achieved_rate: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    poll_round_trip_p50_ms: float
    poll_round_trip_p99_ms: float
    routing_p50_ms: float  # event time -> the task's created_at (both from this machine's clock)
    routing_p99_ms: float
    cpu_percent: dict[str, float]  # during the paced phase, % of one core per process
    load_average: list[float]  # the machine's, at the end of the paced phase
    burst_events: int
    burst_publish_seconds: float
    burst_seconds: float
    sustained_rate: float
    department_id: str
    samples_ms: list[float] = field(repr=False)

    def as_dict(self) -> dict:
        return asdict(self)


class Publisher:
    """Publishes contract events to Kafka as another service's relay would (CloudEvents headers, key = id)."""

    def __init__(self, cfg: StackSettings):
        self.producer = AIOKafkaProducer(**cfg.kafka_client_options(), enable_idempotence=True, acks="all", linger_ms=2)

    async def __aenter__(self) -> Publisher:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.producer.stop()

    def _record(self, data, subject: str):
        envelope = Envelope(
            id=new_event_id(),
            type=data.event_type,
            source="pipeline",
            time=clock.now(),
            data=data.model_dump(mode="json"),
            subject=subject,
            dataversion=data.version,
            actor=Actor("system", "bench"),
        )
        return (
            topic_for(envelope.type),
            envelope.encode_value(),
            subject.encode(),
            [(k, v.encode()) for k, v in envelope.attribute_headers().items()],
        )

    async def send_and_wait(self, data, subject: str) -> None:
        topic, value, key, headers = self._record(data, subject)
        await self.producer.send_and_wait(topic, value, key=key, headers=headers)

    async def send(self, data, subject: str) -> asyncio.Future:
        topic, value, key, headers = self._record(data, subject)
        return await self.producer.send(topic, value, key=key, headers=headers)


# The bench deals belong to a few clients, as deals do: a client's data key is fetched from the privacy service once
# and then cached by the router (PRIVACY_KEY_CACHE_SECONDS). A new client per deal would measure a key's creation per
# event instead of routing.
CLIENTS = 20


def _client_of(opportunity_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"insureops-bench-tasks-client-{opportunity_id.int % CLIENTS}")


def _advance(department_id: str, opportunity_id: uuid.UUID) -> StageAdvanced:
    def stage(key: str, name: str, position: int, dept: str | None) -> StageRef:
        return StageRef(key=key, name=name, position=position, department_id=dept, sla_hours=8)

    return StageAdvanced(
        opportunity_id=opportunity_id,
        client_id=_client_of(opportunity_id),
        line_id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        from_stage=stage(NEEDS_ANALYSIS, "Needs Analysis", 2, None),
        to_stage=stage(MATERIAL_GATHERING, "Material Gathering", 3, department_id),
        direction="forward",
        reason=None,
        seconds_in_stage=1.0,
        status="open",
        # As pipeline publishes it (what its readers go by).
        title=f"Bench deal {opportunity_id}",
        line_name="Bench line",
        opportunity_version=2,
        renewal=False,
    )


def _decline(opportunity_id: uuid.UUID, department_id: str) -> OpportunityDeclined:
    return OpportunityDeclined(
        opportunity_id=opportunity_id,
        client_id=_client_of(opportunity_id),
        line_id=uuid.uuid4(),
        owner_id=uuid.uuid4(),
        department_id=None,
        stage=StageRef(
            key=MATERIAL_GATHERING, name="Material Gathering", position=3, department_id=department_id, sla_hours=8
        ),
        reason="bench clean-up",
    )


async def ensure_department(client: httpx.AsyncClient) -> str:
    """The bench department and its five employees (created once), known to the tasks service."""
    offset = 0
    department = None
    while department is None:
        page = (await client.get("/api/v1/departments", params={"limit": 200, "offset": offset})).json()
        department = next((d for d in page["items"] if d["name"] == DEPARTMENT), None)
        offset += len(page["items"])
        if not page["items"] or offset >= page["total"]:
            break
    if department is None:
        response = await client.post("/api/v1/departments", json={"name": DEPARTMENT})
        if response.status_code != 201:
            raise BenchError(f"could not create {DEPARTMENT!r}: {response.status_code} {response.text[:300]}")
        department = response.json()
    department_id = department["id"]
    members = (await client.get("/api/v1/users", params={"department_id": department_id, "limit": 200})).json()
    emails = {u["email"] for u in members["items"]}
    for i in range(MEMBERS):
        email = f"bench.tasks{i}@insureops.example.com"
        if email not in emails:
            response = await client.post(
                "/api/v1/users",
                json={
                    "name": f"Bench Tasks {i}",
                    "email": email,
                    "password": PASSWORD,
                    "role": "Employee",
                    "department_id": department_id,
                },
            )
            if response.status_code != 201:
                raise BenchError(f"could not create {email}: {response.status_code} {response.text[:300]}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        response = await client.get("/api/v1/workload", params={"department_id": department_id})
        if response.status_code == 200 and len(response.json()["members"]) >= MEMBERS:
            return department_id
        await asyncio.sleep(0.2)
    raise BenchError("the tasks service did not learn the bench department's members within 60 s")


async def count_tasks(client: httpx.AsyncClient, department_id: str, **params) -> int:
    response = await client.get("/api/v1/tasks", params={"department_id": department_id, "limit": 1, **params})
    if response.status_code != 200:
        raise BenchError(f"listing tasks failed: {response.status_code} {response.text[:300]}")
    return response.json()["total"]


async def _wait_for_the_router(
    client: httpx.AsyncClient, publisher: Publisher, department_id: str, timeout: float
) -> None:
    """After a fresh start the router's consumer group may still be forming: measure only once it consumes."""
    probe = uuid.uuid4()
    await publisher.send_and_wait(_advance(department_id, probe), str(probe))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = await client.get("/api/v1/tasks", params={"opportunity_id": str(probe)})
        if response.status_code == 200 and response.json()["total"]:
            await publisher.send_and_wait(_decline(probe, department_id), str(probe))
            return
        await asyncio.sleep(0.2)
    raise BenchError(f"the tasks service routed nothing within {timeout:g} s")


async def _latency(
    client: httpx.AsyncClient,
    publisher: Publisher,
    department_id: str,
    *,
    events: int,
    rate: float,
    stall_timeout: float,
    say,
) -> tuple[list[float], list[float], float, list[str], list[float]]:
    published: dict[str, float] = {}
    seen: dict[str, float] = {}
    routed: dict[str, float] = {}  # created_at - sla_started_at (= the event's time), as the service saw it
    round_trips: list[float] = []
    done = asyncio.Event()

    async def poll() -> None:
        last_progress = time.monotonic()
        while not done.is_set() or len(seen) < len(published):
            began = time.time()
            response = await client.get(
                "/api/v1/tasks",
                params={"department_id": department_id, "active": "true", "sort": "-number", "limit": 50},
            )
            arrived = time.time()
            if response.status_code != 200:
                raise BenchError(f"polling failed: {response.status_code} {response.text[:300]}")
            round_trips.append((arrived - began) * 1000)
            for task in response.json()["items"]:
                deal = task["opportunity_id"]
                if deal in published and deal not in seen:
                    seen[deal] = arrived
                    routed[deal] = (ts(task["created_at"]) - ts(task["sla_started_at"])) * 1000
                    last_progress = time.monotonic()
            if time.monotonic() - last_progress > stall_timeout:
                raise BenchError(f"latency: {len(seen)} of {len(published)} tasks seen, none for {stall_timeout:g} s")

    poller = asyncio.create_task(poll())
    say(f"  {events} stage advances at {rate:g}/s, polling the task list through the gateway ...")
    started = time.monotonic()
    try:
        for i in range(events):
            delay = started + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            deal = uuid.uuid4()
            published[str(deal)] = time.time()
            await publisher.send_and_wait(_advance(department_id, deal), str(deal))
        achieved = events / (time.monotonic() - started)
        done.set()
        await poller
    finally:
        poller.cancel()
    return (
        [(seen[d] - published[d]) * 1000 for d in published],
        round_trips,
        achieved,
        list(published),
        list(routed.values()),
    )


async def _burst(
    client: httpx.AsyncClient, publisher: Publisher, department_id: str, *, events: int, stall_timeout: float, say
) -> tuple[float, float, float, list[str]]:
    base = await count_tasks(client, department_id)
    deals = [uuid.uuid4() for _ in range(events)]
    say(f"  {events} stage advances as fast as the producer takes them ...")
    first = time.time()
    futures = [await publisher.send(_advance(department_id, d), str(d)) for d in deals]
    await asyncio.gather(*futures)
    published = time.time()
    best, last_progress = -1, time.monotonic()
    while True:
        n = await count_tasks(client, department_id) - base
        now = time.time()
        if n > best:
            best, last_progress = n, time.monotonic()
        if n >= events:
            return published - first, now - first, events / (now - first), [str(d) for d in deals]
        if time.monotonic() - last_progress > stall_timeout:
            raise BenchError(f"burst: stuck at {n} of {events} routed for {stall_timeout:g} s")
        await asyncio.sleep(0.05)


async def _clean_up(
    client: httpx.AsyncClient,
    publisher: Publisher,
    department_id: str,
    deals: list[str],
    open_before: int,
    stall_timeout: float,
    say,
) -> None:
    say(f"  declining the {len(deals)} bench deals so their tasks close ...")
    futures = [await publisher.send(_decline(uuid.UUID(d), department_id), d) for d in deals]
    await asyncio.gather(*futures)
    best, last_progress = None, time.monotonic()
    while True:
        n = await count_tasks(client, department_id, active="true")
        if n <= open_before:
            return
        if best is None or n < best:
            best, last_progress = n, time.monotonic()
        if time.monotonic() - last_progress > stall_timeout:
            raise BenchError(f"clean-up: {n} bench tasks still open after {stall_timeout:g} s without progress")
        await asyncio.sleep(0.2)


def _cpu(cfg: StackSettings) -> dict[str, float]:
    from bench.memory import cpu_seconds
    from devstack.supervisor import Supervisor

    try:
        return cpu_seconds(Supervisor(cfg), names=("tasks", "gateway", "postgres", "kafka"))
    except Exception:  # CPU figures are informative only
        return {}


async def run(
    cfg: StackSettings, *, events: int, rate: float, burst: int, stall_timeout: float, say
) -> TasksBenchResult:
    async with httpx.AsyncClient(base_url=cfg.gateway_url, timeout=30) as client:
        token = await client.post("/api/v1/auth/token", data={"username": ADMIN.email, "password": ADMIN.password})
        if token.status_code != 200:
            raise BenchError(f"admin login failed: {token.status_code} {token.text[:300]}")
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        department_id = await ensure_department(client)
        open_before = await count_tasks(client, department_id, active="true")
        async with Publisher(cfg) as publisher:
            await _wait_for_the_router(client, publisher, department_id, stall_timeout)
            cpu_before, started = _cpu(cfg), time.monotonic()
            latencies, round_trips, achieved, deals, routed = await _latency(
                client, publisher, department_id, events=events, rate=rate, stall_timeout=stall_timeout, say=say
            )
            elapsed, cpu_after = time.monotonic() - started, _cpu(cfg)
            cpu_percent = {
                name: 100 * (cpu_after[name] - cpu_before[name]) / elapsed for name in cpu_after if name in cpu_before
            }
            load_average = list(os.getloadavg())
            publish_seconds, burst_seconds, sustained, burst_deals = await _burst(
                client, publisher, department_id, events=burst, stall_timeout=stall_timeout, say=say
            )
            try:
                await _clean_up(client, publisher, department_id, deals + burst_deals, open_before, stall_timeout, say)
            except BenchError as exc:  # the figures stand; the next run starts with more open work
                say(f"  clean-up incomplete: {exc}")
    return TasksBenchResult(
        latency_events=events,
        target_rate=rate,
        achieved_rate=achieved,
        p50_ms=percentile(latencies, 50),
        p90_ms=percentile(latencies, 90),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies),
        poll_round_trip_p50_ms=percentile(round_trips, 50),
        poll_round_trip_p99_ms=percentile(round_trips, 99),
        routing_p50_ms=percentile(routed, 50),
        routing_p99_ms=percentile(routed, 99),
        cpu_percent=cpu_percent,
        load_average=load_average,
        burst_events=burst,
        burst_publish_seconds=publish_seconds,
        burst_seconds=burst_seconds,
        sustained_rate=sustained,
        department_id=department_id,
        samples_ms=[round(v, 2) for v in latencies],
    )


def render(result: TasksBenchResult) -> str:
    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    rows = [
        ("Figure", "Measured", "Aim", ""),
        (
            f"Stage advance -> routed task readable, {result.latency_events} at {result.target_rate:g}/s",
            f"p50 {result.p50_ms:.1f} ms",
            "",
            "",
        ),
        ("", f"p90 {result.p90_ms:.1f} ms", "", ""),
        ("", f"p99 {result.p99_ms:.1f} ms", f"p99 < {AIM_P99_MS:.0f} ms", verdict(result.p99_ms < AIM_P99_MS)),
        ("", f"max {result.max_ms:.1f} ms", "", ""),
        (
            f"Sustained routing, burst of {result.burst_events:,}",
            f"{result.sustained_rate:,.0f} advances/s ({result.burst_seconds:.2f} s)",
            f">= {AIM_RATE:.0f}/s",
            verdict(result.sustained_rate >= AIM_RATE),
        ),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*rows[0]).rstrip(), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*r).rstrip() for r in rows[1:]]
    lines += [
        "",
        f"latency: events paced at {result.target_rate:g}/s (achieved {result.achieved_rate:.1f}/s); t0 = handed to "
        "the Kafka producer, end = arrival of the first gateway response listing the task; poll round trip "
        f"p50 {result.poll_round_trip_p50_ms:.1f} ms, p99 {result.poll_round_trip_p99_ms:.1f} ms; "
        f"of which event time -> task created by the router: p50 {result.routing_p50_ms:.1f} ms, "
        f"p99 {result.routing_p99_ms:.1f} ms",
        "CPU during the paced phase (% of one core): "
        + ", ".join(f"{name} {pct:.0f}%" for name, pct in result.cpu_percent.items())
        + f"; machine load average then {' '.join(f'{v:.2f}' for v in result.load_average)} "
        f"(nproc {os.cpu_count()})",
        f"burst: all {result.burst_events:,} handed to the producer in {result.burst_publish_seconds:.2f} s; the rate "
        "runs from the first send to the poll that counted the last routed task",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.tasks", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=500, help="paced stage advances for latency (default 500)")
    parser.add_argument("--rate", type=float, default=50.0, help="their pace per second (default 50)")
    parser.add_argument("--burst", type=int, default=2000, help="stage advances in the burst (default 2000)")
    parser.add_argument("--stall-timeout", type=float, default=60.0, help="fail after this long without progress")
    parser.add_argument("--no-start", action="store_true", help="do not start the stack; it must be running")
    args = parser.parse_args(argv)
    if args.events < 1 or args.burst < 1 or args.rate <= 0:
        parser.error("--events and --burst must be >= 1, --rate > 0")
    cfg = load()
    if not args.no_start:
        stack_up(cfg)
    print("task routing benchmark", flush=True)
    result = asyncio.run(
        run(
            cfg,
            events=args.events,
            rate=args.rate,
            burst=args.burst,
            stall_timeout=args.stall_timeout,
            say=lambda m: print(m, flush=True),
        )
    )
    print()
    print(render(result), flush=True)
    write_report(
        {"aims": {"p99_ms": AIM_P99_MS, "advances_per_second": AIM_RATE}, **result.as_dict()},
        cfg.run_dir / "bench" / "tasks.json",
    )


if __name__ == "__main__":
    main()
