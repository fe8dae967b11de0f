"""The core loop through the API: a stage advance by HTTP through the gateway -> its routed task readable through
the gateway, at several advance rates (issue 13: p50 <= 30 ms and p99 <= 100 ms at 100 advances/s; how cost grows
at 10, 100 and 300 advances/s).

`python -m bench.loop [--rates 10,100,300] [--seconds 10] [--timeout 30] [--no-start]`
(a quick check: `--rates 10,100 --seconds 3`)

On the running stack (started and seeded if needed), as the demo Admin, everything through the gateway:
1. Set-up. The bench department with five employees (`bench.tasks.ensure_department`, made once and reused).
   The six stages a forward advance enters up to Client Decision (Needs Analysis ... Client Decision) are pointed
   at the bench department for the run (PATCH /api/v1/stages/{key}) and put back afterwards (the seed puts them
   back too, should the run be killed), so every routed task lands in the bench department, whose list holds
   nothing else. A bench client is created in it (POST /api/v1/clients) and deals are opened for it on the Auto line at
   once (the read-your-writes rule: no waiting between; the first open's time after the client's 201 is
   reported), enough for every rate (a deal takes six advances).
2. Per rate R: advances (POST /api/v1/opportunities/{id}/advance) started at R per second for `--seconds`, open
   loop (not waiting for earlier answers; a deal is not advanced again before its previous answer: when every
   deal is waiting for an answer, the platform is that far behind, and the pace slips: counted). Each
   advance is timed from send to its 2xx (the advance request). Meanwhile one poller reads the bench
   department's tasks newest first (`GET /api/v1/tasks?department_id=...&sort=-number&limit=20`) back to
   back; when a page holds only tasks newer than any seen before it reads the next page too, so no task slips
   past unseen. advance -> task readable = arrival of the first poll response listing the task (its deal and
   stage) - arrival of the advance's 2xx (both time.time() on this machine). The true moment lies between the
   start of the previous poll and that arrival: the poll round trip (reported) bounds the error (about two
   round trips at most). Tasks not listed within `--timeout` s of their 2xx are counted as missing. Also
   reported: the task's created_at - the 2xx (the router's side, the tasks service's clock).
   CPU: each process of the stack (services, Kafka, PostgreSQL with its backends) from /proc/<pid>/stat
   (`bench.memory.cpu_seconds`), from the phase's first advance to its last task seen, less what the process
   burns at rest (measured for `--idle-seconds` before the phases) and less what the phase's polls cost it (the
   poller alone is measured for `--idle-seconds` too: CPU per poll), divided by the advances answered 2xx.
   A failed advance (not 2xx) is counted by its status; a deal whose advance was refused (409, 422) is not
   advanced again, one whose advance failed otherwise (overload, no answer) may be.
3. Clean-up (also when the run fails): every bench deal is advanced to Client Decision and declined there (its
   tasks are cancelled; loads stay bounded across runs), and the stages get their departments back. Open deals of
   bench clients of an earlier run (killed before its clean-up) are declined so before the run.

A missed aim is a figure (MISSED in the table), not a failure. Figures go to `.run/bench/loop.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench import memory
from bench.common import BenchError, percentile, stack_up, ts, write_report
from bench.pipeline import ADVANCES_PER_DEAL, open_deals
from bench.tasks import count_tasks, ensure_department
from devstack.config import StackSettings, load
from devstack.seed import ADMIN

AIM_RATE = 100.0  # the aims hold at this rate
AIM_P50_MS = 30.0
AIM_P99_MS = 100.0
# A page of the newest tasks a poll reads: a few polls a second see a few new tasks each at 100 advances/s, and a
# page full of new ones has the next read too. 100 cost the tasks service 2.1 ms of CPU a poll (3.2 ms with the
# gateway and PostgreSQL), taken from the loop it measures, for rows already seen.
POLL_LIMIT = 20
CLIENT_NAME = "Bench Loop SA"
WARM_UP = 5  # advances before the first phase (not measured): connections made, the router's group formed


@dataclass
class Phase:
    """One rate's figures."""

    target_rate: float
    seconds: float
    advances: int = 0  # answered 2xx
    failed: int = 0  # answered otherwise (status -> count)
    failures: dict[str, int] = field(default_factory=dict)
    starved: int = 0  # times no deal was free when an advance was due (the pace slipped)
    ran_out: bool = False  # every deal reached Client Decision (or was refused): the phase ended early
    achieved_rate: float = 0.0
    advance_ms: list[float] = field(default_factory=list)
    loop_ms: list[float] = field(default_factory=list)  # 2xx -> task listed
    created_after_2xx_ms: list[float] = field(default_factory=list)  # the task's created_at - the 2xx
    missing: int = 0
    poll_ms: list[float] = field(default_factory=list)
    phase_seconds: float = 0.0  # first advance sent -> last task seen (or the timeout)
    cpu_ms_per_advance: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        def pct(values: list[float], p: float) -> float | None:
            return round(percentile(values, p), 2) if values else None

        return {
            "target_rate": self.target_rate,
            "seconds": self.seconds,
            "advances": self.advances,
            "failed": self.failed,
            "failures": self.failures,
            "starved": self.starved,
            "ran_out_of_deals": self.ran_out,
            "achieved_rate": round(self.achieved_rate, 2),
            "advance_p50_ms": pct(self.advance_ms, 50),
            "advance_p99_ms": pct(self.advance_ms, 99),
            "loop_p50_ms": pct(self.loop_ms, 50),
            "loop_p90_ms": pct(self.loop_ms, 90),
            "loop_p99_ms": pct(self.loop_ms, 99),
            "loop_max_ms": round(max(self.loop_ms), 2) if self.loop_ms else None,
            "tasks_seen": len(self.loop_ms),
            "tasks_missing": self.missing,
            "created_after_2xx_p50_ms": pct(self.created_after_2xx_ms, 50),
            "created_after_2xx_p99_ms": pct(self.created_after_2xx_ms, 99),
            "poll_round_trip_p50_ms": pct(self.poll_ms, 50),
            "poll_round_trip_p99_ms": pct(self.poll_ms, 99),
            "polls": len(self.poll_ms),
            "phase_seconds": round(self.phase_seconds, 2),
            "cpu_ms_per_advance": self.cpu_ms_per_advance,
            "cpu_ms_per_advance_total": round(sum(v for k, v in self.cpu_ms_per_advance.items() if k != "bench"), 2),
            "samples_ms": [round(v, 2) for v in self.loop_ms],
        }


class Poller:
    """Reads the bench department's tasks newest first, back to back; remembers when each (deal, stage) was first
    listed."""

    def __init__(self, client: httpx.AsyncClient, department_id: str):
        self.client = client
        self.department_id = department_id
        self.newest = -1  # the highest task number seen
        self.seen: dict[tuple[str, str], tuple[float, float]] = {}  # -> (arrival, the task's created_at)
        self.round_trips: list[float] = []

    async def poll_once(self) -> None:
        offset = 0
        while True:
            began = time.time()
            response = await self.client.get(
                "/api/v1/tasks",
                params={
                    "department_id": self.department_id,
                    "sort": "-number",
                    "limit": POLL_LIMIT,
                    "offset": offset,
                },
            )
            arrived = time.time()
            if response.status_code != 200:
                raise BenchError(f"polling the tasks failed: {response.status_code} {response.text[:300]}")
            self.round_trips.append((arrived - began) * 1000)
            items = response.json()["items"]
            for task in items:
                key = (task["opportunity_id"], task["stage_key"])
                if key not in self.seen:
                    self.seen[key] = (arrived, ts(task["created_at"]))
            numbers = [t["number"] for t in items]
            if self.newest < 0 or len(items) < POLL_LIMIT or min(numbers) <= self.newest:
                self.newest = max([self.newest, *numbers])
                return
            offset += POLL_LIMIT  # a full page, all new: older new ones may lie on the next

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.poll_once()


async def _login(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/auth/token", data={"username": ADMIN.email, "password": ADMIN.password})
    if response.status_code != 200:
        raise BenchError(f"admin login failed: {response.status_code} {response.text[:300]}")
    client.headers["Authorization"] = f"Bearer {response.json()['access_token']}"


async def _point_stages(client: httpx.AsyncClient, departments: dict[str, str | None], *, timeout: float) -> None:
    """PATCH each stage's department, retrying while pipeline has not learnt the department yet (422)."""
    for key, department_id in departments.items():
        deadline = time.monotonic() + timeout
        while True:
            response = await client.patch(f"/api/v1/stages/{key}", json={"department_id": department_id})
            if response.status_code == 200:
                break
            if response.status_code in (422, 502, 503, 504) and time.monotonic() < deadline:
                await asyncio.sleep(0.3)
                continue
            raise BenchError(f"PATCH /api/v1/stages/{key} failed: {response.status_code} {response.text[:300]}")


async def _create_client(client: httpx.AsyncClient, department_id: str) -> tuple[str, float]:
    """A bench client in the bench department (retried while the clients service has not learnt the department:
    422); its id and when its 201 arrived (time.perf_counter())."""
    deadline = time.monotonic() + 60
    while True:
        response = await client.post(
            "/api/v1/clients", json={"kind": "company", "name": CLIENT_NAME, "department_id": department_id}
        )
        if response.status_code == 201:
            return response.json()["id"], time.perf_counter()
        if response.status_code not in (422, 502, 503, 504) or time.monotonic() > deadline:
            raise BenchError(f"creating the bench client failed: {response.status_code} {response.text[:300]}")
        await asyncio.sleep(0.3)


async def _advance(client: httpx.AsyncClient, deal: str) -> tuple[int, float, float, str | None]:
    """(status, request ms, the 2xx's arrival as time.time(), the stage entered)."""
    began = time.perf_counter()
    response = await client.post(f"/api/v1/opportunities/{deal}/advance")
    arrived = time.time()
    elapsed = (time.perf_counter() - began) * 1000
    stage = response.json()["stage"]["key"] if response.status_code == 200 else None
    return response.status_code, elapsed, arrived, stage


def _cpu(sup) -> dict[str, float]:
    return memory.cpu_seconds(sup)


async def _phase(
    client: httpx.AsyncClient,
    poller: Poller,
    ready: deque[str],
    remaining: dict[str, int],
    stages: dict[str, str],
    *,
    rate: float,
    seconds: float,
    timeout: float,
    sup,
    idle_rate: dict[str, float],
    per_poll: dict[str, float],
) -> Phase:
    phase = Phase(target_rate=rate, seconds=seconds)
    count = max(1, round(rate * seconds))
    answered: dict[tuple[str, str], float] = {}  # (deal, stage) -> the 2xx's arrival
    free = asyncio.Event()
    last_answer = 0.0

    async def one(deal: str) -> None:
        nonlocal last_answer
        try:
            try:
                status, elapsed, arrived, stage = await _advance(client, deal)
                failure = None if status == 200 and stage else str(status)
            except httpx.HTTPError as exc:  # no answer (a timeout, a dropped connection): a failure like a 5xx
                status, failure = 0, type(exc).__name__
            last_answer = time.perf_counter()
            if failure is None:
                assert stage is not None
                phase.advances += 1
                phase.advance_ms.append(elapsed)
                answered[(deal, stage)] = arrived
                stages[deal] = stage
                remaining[deal] -= 1
                if remaining[deal]:
                    ready.append(deal)
            else:
                phase.failed += 1
                phase.failures[failure] = phase.failures.get(failure, 0) + 1
                if status not in (409, 422):  # not refused (overload, a lost answer): the deal may be tried again
                    ready.append(deal)
        finally:
            free.set()  # a deal is free again, or the pacer must look whether any advance is still in flight

    stop = asyncio.Event()
    polling = asyncio.create_task(poller.run(stop))
    polls_before = len(poller.round_trips)
    cpu_before = _cpu(sup)
    started, wall_started = time.perf_counter(), time.time()
    sends: list[asyncio.Task] = []
    try:
        for i in range(count):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if not ready:
                phase.starved += 1
                while not ready and not all(t.done() for t in sends):
                    free.clear()
                    await free.wait()
                if not ready:  # none in flight and none free: every deal is at Client Decision
                    phase.ran_out = True
                    break
            sends.append(asyncio.create_task(one(ready.popleft())))
        await asyncio.gather(*sends)
        # Advances answered 2xx per second, from the first send to the last answer.
        phase.achieved_rate = phase.advances / max(last_answer - started, 1e-9)
        # Until every answered advance's task was listed, or its timeout passed.
        while True:
            pending = [at for key, at in answered.items() if key not in poller.seen]
            if not pending or time.time() > max(pending) + timeout:
                break
            await asyncio.sleep(0.02)
            if polling.done():
                polling.result()  # raises the poller's error
    finally:
        stop.set()
        await asyncio.gather(polling, return_exceptions=True)
    ended = time.time()
    cpu_after = _cpu(sup)
    phase.phase_seconds = ended - wall_started
    for key, at in answered.items():
        if key in poller.seen:
            arrived, created = poller.seen[key]
            phase.loop_ms.append((arrived - at) * 1000)
            phase.created_after_2xx_ms.append((created - at) * 1000)
        else:
            phase.missing += 1
    phase.poll_ms = poller.round_trips[polls_before:]
    if phase.advances:
        polls = len(phase.poll_ms)

        def net(name: str) -> float:
            spent = cpu_after[name] - cpu_before.get(name, 0.0)
            return spent - idle_rate.get(name, 0.0) * phase.phase_seconds - per_poll.get(name, 0.0) * polls

        phase.cpu_ms_per_advance = {name: round(max(0.0, net(name)) / phase.advances * 1000, 3) for name in cpu_after}
    return phase


async def _poll_cost(poller: Poller, sup, seconds: float, idle_rate: dict[str, float]) -> dict[str, float]:
    """CPU seconds each process spends per poll of the task list (the poller alone, the stack otherwise at rest)."""
    stop = asyncio.Event()
    polls_before = len(poller.round_trips)
    before = _cpu(sup)
    polling = asyncio.create_task(poller.run(stop))
    await asyncio.sleep(seconds)
    stop.set()
    await polling
    after = _cpu(sup)
    polls = max(1, len(poller.round_trips) - polls_before)
    return {
        k: max(0.0, after[k] - before.get(k, 0.0) - idle_rate.get(k, 0.0) * seconds) / polls
        for k in after
        if k != "bench"
    }


async def _clean_up(client: httpx.AsyncClient, stages: dict[str, str], last: str, say) -> int:
    """Every deal given (id -> the stage it is at) advanced to `last` (Client Decision, the only stage a deal is
    declined at) and declined there: their tasks are cancelled. Returns how many could not be declined."""
    say(f"declining {len(stages)} bench deals (advanced to Client Decision first) so their tasks are cancelled ...")
    queue = iter(list(stages.items()))
    failed: list[str] = []

    async def worker() -> None:
        for deal, stage in queue:
            for _ in range(ADVANCES_PER_DEAL):
                if stage == last:
                    break
                response = await client.post(f"/api/v1/opportunities/{deal}/advance")
                if response.status_code != 200:
                    break  # e.g. already at Client Decision (an earlier advance's answer was lost): decline it
                stage = response.json()["stage"]["key"]
            response = await client.post(f"/api/v1/opportunities/{deal}/decline", json={"reason": "bench clean-up"})
            if response.status_code != 200:
                failed.append(f"{deal}: {response.status_code} {response.text[:200]}")

    await asyncio.gather(*(worker() for _ in range(16)))
    if failed:
        say(f"  {len(failed)} declines failed, e.g. {failed[0]}")
    return len(failed)


async def _leftovers(client: httpx.AsyncClient, department_id: str) -> dict[str, str]:
    """Open deals of bench clients of earlier runs (one killed before its clean-up): id -> stage."""
    found: dict[str, str] = {}
    clients = (await client.get("/api/v1/clients", params={"department_id": department_id, "limit": 200})).json()
    for bench_client in clients["items"]:
        if bench_client["name"] != CLIENT_NAME:
            continue
        offset = 0
        while True:
            page = (
                await client.get(
                    "/api/v1/opportunities",
                    params={"client_id": bench_client["id"], "status": "open", "limit": 200, "offset": offset},
                )
            ).json()
            found.update({d["id"]: d["stage"]["key"] for d in page["items"]})
            offset += len(page["items"])
            if not page["items"] or offset >= page["total"]:
                break
    return found


async def _settle(client: httpx.AsyncClient, department_id: str, open_before: int, say) -> None:
    """Until the bench department has no more open tasks than before the run (the declines routed)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if await count_tasks(client, department_id, active="true") <= open_before:
            return
        await asyncio.sleep(0.3)
    say("  clean-up incomplete: bench tasks still open after 60 s")


async def run(cfg: StackSettings, args, say) -> dict[str, Any]:
    from devstack.supervisor import Supervisor

    sup = Supervisor(cfg)
    total = WARM_UP + sum(max(1, round(r * args.seconds)) for r in args.rates)
    # Six advances a deal, with a margin; and at least two seconds' worth of the top rate in flight at once.
    deals_wanted = args.deals or max(math.ceil(total / ADVANCES_PER_DEAL * 1.25), math.ceil(2 * max(args.rates))) + 20
    limits = httpx.Limits(max_connections=512, max_keepalive_connections=512)
    async with httpx.AsyncClient(base_url=cfg.gateway_url, timeout=60, limits=limits) as client:
        await _login(client)
        department_id = await ensure_department(client)
        stages = sorted(
            (await client.get("/api/v1/stages", params={"limit": 50})).json()["items"], key=lambda s: s["position"]
        )
        routed = [s["key"] for s in stages[1 : 1 + ADVANCES_PER_DEAL]]  # in board order: stages may be reordered
        previous = {s["key"]: s["department_id"] for s in stages[1 : 1 + ADVANCES_PER_DEAL]}
        lines = (await client.get("/api/v1/lines", params={"limit": 200})).json()["items"]
        line = next((x for x in lines if x["name"] == "Auto"), None)
        if line is None or line["specialist_id"] is None:
            raise BenchError("the Auto line is missing or has no specialist; run the seed (make up)")
        last = routed[-1]  # Client Decision
        leftovers = await _leftovers(client, department_id)
        if leftovers:
            say("an earlier run left deals open:")
            await _clean_up(client, leftovers, last, say)
        open_before = await count_tasks(client, department_id, active="true")
        deals: list[str] = []
        stage_of: dict[str, str] = {}  # each bench deal's stage, as its last advance answered
        report: dict[str, Any] = {"department_id": department_id, "routed_stages": routed}
        say(f"pointing stages {', '.join(routed)} at the bench department for the run ...")
        await _point_stages(client, dict.fromkeys(routed, department_id), timeout=60)
        try:
            client_id, created_at = await _create_client(client, department_id)
            say(f"opening {deals_wanted} deals for a client just created ...")
            deals += await open_deals(client, client_id=client_id, line_id=line["id"], count=1, concurrency=1)
            report["client_created_to_first_deal_ms"] = round((time.perf_counter() - created_at) * 1000, 1)
            began = time.perf_counter()
            deals += await open_deals(client, client_id=client_id, line_id=line["id"], count=deals_wanted - 1)
            report["deals"] = len(deals)
            report["deals_open_rate"] = round((len(deals) - 1) / (time.perf_counter() - began), 1)

            remaining = dict.fromkeys(deals, ADVANCES_PER_DEAL)
            stage_of.update(dict.fromkeys(deals, stages[0]["key"]))
            ready = deque(deals)
            poller = Poller(client, department_id)
            await poller.poll_once()
            say(f"warming up: {WARM_UP} advances, waiting for their tasks ...")
            await _phase(
                client,
                poller,
                ready,
                remaining,
                stage_of,
                rate=5,
                seconds=WARM_UP / 5,
                timeout=args.timeout,
                sup=sup,
                idle_rate={},
                per_poll={},
            )
            say(f"the stack at rest for {args.idle_seconds:g} s (its idle CPU is left out of the per-advance CPU) ...")
            before = _cpu(sup)
            await asyncio.sleep(args.idle_seconds)
            after = _cpu(sup)
            idle_rate = {k: (after[k] - before.get(k, 0.0)) / args.idle_seconds for k in after}
            report["idle_percent_of_a_core"] = {k: round(v * 100, 2) for k, v in idle_rate.items()}
            say(f"the poller alone for {args.idle_seconds:g} s (its CPU is left out of the per-advance CPU too) ...")
            per_poll = await _poll_cost(poller, sup, args.idle_seconds, idle_rate)
            report["cpu_ms_per_poll"] = {k: round(v * 1000, 3) for k, v in per_poll.items() if v > 0}
            report["load_average_before"] = list(os.getloadavg())
            phases = []
            for rate in args.rates:
                say(f"{rate:g} advances/s for {args.seconds:g} s ...")
                phase = await _phase(
                    client,
                    poller,
                    ready,
                    remaining,
                    stage_of,
                    rate=rate,
                    seconds=args.seconds,
                    timeout=args.timeout,
                    sup=sup,
                    idle_rate=idle_rate,
                    per_poll=per_poll,
                )
                phases.append(phase.summary())
            report["phases"] = phases
            report["load_average_after"] = list(os.getloadavg())
        finally:
            try:
                await _clean_up(client, {d: stage_of.get(d, stages[0]["key"]) for d in deals}, last, say)
                await _settle(client, department_id, open_before, say)
            finally:
                say("putting the stages' departments back ...")
                await _point_stages(client, previous, timeout=30)
    return report


def render(report: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:,.1f}"

    header = (
        "Rate",
        "Achieved",
        "Advance p50/p99 ms",
        "Advance->task readable p50/p99 ms",
        "Missing",
        "Poll RT p50 ms",
        "CPU ms/advance",
    )
    rows = [header]
    for p in report["phases"]:
        rows.append(
            (
                f"{p['target_rate']:g}/s",
                f"{p['achieved_rate']:.1f}/s ({p['advances']} ok, {p['failed']} failed"
                + (", ran out of deals)" if p["ran_out_of_deals"] else ")"),
                f"{ms(p['advance_p50_ms'])} / {ms(p['advance_p99_ms'])}",
                f"{ms(p['loop_p50_ms'])} / {ms(p['loop_p99_ms'])}",
                f"{p['tasks_missing']}",
                ms(p["poll_round_trip_p50_ms"]),
                f"{p['cpu_ms_per_advance_total']:.1f}",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = ["", "The core loop through the API (advance by HTTP -> routed task listed through the gateway)"]
    lines += [fmt.format(*rows[0]).rstrip(), "  ".join("-" * w for w in widths)]
    lines += [fmt.format(*r).rstrip() for r in rows[1:]]
    at_aim = next((p for p in report["phases"] if p["target_rate"] == AIM_RATE), None)
    if at_aim is None or at_aim["loop_p50_ms"] is None:
        lines.append(
            f"aim at {AIM_RATE:g}/s: p50 <= {AIM_P50_MS:g} ms, p99 <= {AIM_P99_MS:g} ms (no phase at that rate)"
        )
    else:
        ok = at_aim["loop_p50_ms"] <= AIM_P50_MS and at_aim["loop_p99_ms"] <= AIM_P99_MS and not at_aim["tasks_missing"]
        lines.append(
            f"aim at {AIM_RATE:g}/s: advance->task p50 <= {AIM_P50_MS:g} ms, p99 <= {AIM_P99_MS:g} ms, none missing; "
            f"measured p50 {at_aim['loop_p50_ms']:.1f} ms, p99 {at_aim['loop_p99_ms']:.1f} ms, "
            f"{at_aim['tasks_missing']} missing: " + ("ok" if ok else "MISSED")
        )
    lines.append("")
    for p in report["phases"]:
        top = sorted(((k, v) for k, v in p["cpu_ms_per_advance"].items() if k != "bench"), key=lambda kv: -kv[1])
        lines.append(
            f"{p['target_rate']:g}/s: task created_at after the 2xx p50 {ms(p['created_after_2xx_p50_ms'])} ms, "
            f"p99 {ms(p['created_after_2xx_p99_ms'])} ms; poll round trip p99 {ms(p['poll_round_trip_p99_ms'])} ms; "
            f"paced slips {p['starved']}; CPU per advance: " + ", ".join(f"{k} {v:.1f}" for k, v in top if v >= 0.05)
        )
    per_poll = sorted(report.get("cpu_ms_per_poll", {}).items(), key=lambda kv: -kv[1])
    lines.append(
        "CPU per poll of the task list (left out of the CPU per advance): "
        + ", ".join(f"{k} {v:.1f} ms" for k, v in per_poll if v >= 0.05)
    )
    lines.append(
        f"client created -> first deal opened: {report['client_created_to_first_deal_ms']:.0f} ms; "
        f"{report['deals']} deals opened at {report['deals_open_rate']:.0f}/s; load average before "
        + " ".join(f"{v:.2f}" for v in report["load_average_before"])
        + ", after "
        + " ".join(f"{v:.2f}" for v in report["load_average_after"])
        + f" (nproc {os.cpu_count()})"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.loop", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--rates", default="10,100,300", help="advances per second, comma-separated (default 10,100,300)"
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each rate's phase (default 10)")
    parser.add_argument(
        "--timeout", type=float, default=30.0, help="a task not listed this long after its 2xx is missing"
    )
    parser.add_argument("--idle-seconds", type=float, default=5.0, help="rest measured for the idle CPU (default 5)")
    parser.add_argument("--deals", type=int, default=0, help="deals to open (default: enough for every phase)")
    parser.add_argument("--no-start", action="store_true", help="do not start the stack; it must be running")
    parser.add_argument("--output", type=Path, default=None, help="JSON file (default .run/bench/loop.json)")
    args = parser.parse_args(argv)
    try:
        args.rates = [float(r) for r in args.rates.split(",") if r.strip()]
    except ValueError:
        parser.error("--rates: numbers separated by commas")
    if not args.rates or min(args.rates) <= 0 or args.seconds <= 0 or args.timeout <= 0 or args.idle_seconds <= 0:
        parser.error("--rates positive numbers; --seconds, --timeout and --idle-seconds > 0")
    cfg = load()
    if not args.no_start:
        stack_up(cfg)
    print("core loop benchmark", flush=True)
    report = asyncio.run(run(cfg, args, say=lambda m: print(m, flush=True)))
    print(render(report), flush=True)
    write_report(
        {"aims": {"rate": AIM_RATE, "loop_p50_ms": AIM_P50_MS, "loop_p99_ms": AIM_P99_MS}, **report},
        args.output or cfg.run_dir / "bench" / "loop.json",
    )


if __name__ == "__main__":
    main()
