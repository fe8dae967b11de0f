"""The fault matrix's rounds: a workload through the gateway, one fault mid-flow, recovery timed, invariants
checked; and the totals printed at the end."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from devstack.config import StackSettings
from devstack.faults.checks import Checker, Marks, Violation
from devstack.faults.inject import KINDS, Fault, Schedule, inject
from devstack.faults.support import ensure_running, wait_all_ready
from devstack.faults.workload import Deal, Workload
from devstack.supervisor import Supervisor

# Who the workload acts as, and who verifies the audit chain (the seed's demo users).
WORKER_EMAIL = "maria.manager@insureops.example.com"


@dataclass
class RoundResult:
    number: int
    fault: Fault
    violations: list[Violation]
    ready_seconds: float | None  # from the fault's end until every service answered /readyz
    recovered_seconds: float | None  # ... until every invariant held
    seconds: float  # the whole round
    accepted: int
    unsure: int


@dataclass
class Report:
    seed: int
    rounds: list[RoundResult] = field(default_factory=list)
    violations: list[tuple[int, Violation]] = field(default_factory=list)  # first seen, by round
    workload: Workload | None = None
    planned: int = 0

    @property
    def ok(self) -> bool:
        return not self.violations

    def faults_by_kind(self) -> Counter:
        return Counter(r.fault.kind for r in self.rounds)

    def totals(self) -> str:
        lines = [
            f"rounds: {len(self.rounds)}{f' of {self.planned}' if self.planned != len(self.rounds) else ''} "
            f"(seed {self.seed}) in {sum(r.seconds for r in self.rounds) / 60:.1f} min, "
            f"{statistics.median([r.seconds for r in self.rounds]) if self.rounds else 0:.1f} s a round (median)"
        ]
        kinds = self.faults_by_kind()
        lines.append("faults: " + ", ".join(f"{k} {kinds[k]}" for k in KINDS if kinds[k]))
        for kind in ("kill", "pause"):
            targets = Counter(r.fault.target for r in self.rounds if r.fault.kind == kind)
            if targets:
                lines.append(f"  {kind}: " + ", ".join(f"{t} {n}" for t, n in sorted(targets.items())))
        groups = Counter(r.fault.target for r in self.rounds if r.fault.kind == "rewind")
        if groups:
            lines.append("  rewind: " + ", ".join(f"{t} {n}" for t, n in sorted(groups.items())))
        if self.workload is not None:
            w = self.workload
            lines.append(
                f"workload: {w.writes} writes accepted ({', '.join(f'{k} {v}' for k, v in sorted(w.accepted.items()))}),"
                f" {sum(w.unsure.values())} unsure ({_errors(w)}), {sum(w.refused.values())} refused; "
                f"{len(w.clients)} clients, {len(w.deals)} deals "
                f"({', '.join(f'{k} {v}' for k, v in sorted(Counter(_outcome(d) for d in w.deals.values()).items()))})"
            )
        lines.append(f"violations: {len(self.violations)}")
        for number, v in self.violations:
            lines.append(f"  round {number}: {v.invariant}: {v.detail}")
        lines.append("recovery (s, from the fault's end): kind            ready median/max   all invariants median/max")
        for kind in KINDS:
            ready = [r.ready_seconds for r in self.rounds if r.fault.kind == kind and r.ready_seconds is not None]
            rec = [r.recovered_seconds for r in self.rounds if r.fault.kind == kind and r.recovered_seconds is not None]
            if ready or rec:
                lines.append(f"  {kind:<20} {_stat(ready):>28}   {_stat(rec):>14}")
        return "\n".join(lines)


def _errors(workload: Workload) -> str:
    """The unsure answers by what they were: a status (a 500 is a bug: a dependency away is a 503) or no answer."""
    kinds = Counter[str]()
    for what, n in workload.unsure.items():
        kinds[what.split(": ", 1)[1]] += n
    return ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())) or "none"


def _outcome(deal: Deal) -> str:
    if deal.issued:
        return "issued"
    return "accepted" if deal.contract_id else deal.status


def _stat(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.median(values):5.1f} / {max(values):5.1f}"


async def run_rounds(
    stack: StackSettings,
    supervisor: Supervisor,
    *,
    rounds: int,
    seed: int,
    say: Callable[[str], None] = print,
    flow: tuple[float, float] = (2.0, 4.0),
    after: float = 3.0,
    timeout: float = 180.0,
    until: float | None = None,
    report: Report | None = None,
) -> Report:
    """Run `rounds` rounds on a running, seeded stack and return what they found: fewer if the monotonic time
    `until` comes first (no round starts after it). `report`, if given, is filled as the rounds go (what was found
    so far survives an interruption)."""
    from devstack.seed import ADMIN

    rng = random.Random(seed)
    schedule = Schedule(random.Random(rng.random()))
    report = report if report is not None else Report(seed)
    report.planned = rounds
    await wait_all_ready(stack, timeout=timeout)
    run_marks = await Marks.take(stack)
    checker = Checker(stack, supervisor, run_marks, timeout, ADMIN.email, ADMIN.password)
    seen: set[tuple[str, str]] = set()
    async with httpx.AsyncClient(base_url=stack.gateway_url, timeout=30) as gateway:
        from devstack.seed import DEMO_USERS

        worker = next(u for u in DEMO_USERS if u.email == WORKER_EMAIL)
        workload = Workload(gateway, random.Random(rng.random()), worker.email, worker.password)
        report.workload = workload
        for number in range(1, rounds + 1):
            if until is not None and time.monotonic() > until:
                say(f"time is up: {number - 1} of {rounds} rounds run")
                break
            fault = schedule.next()
            result = await _round(number, fault, stack, supervisor, checker, workload, rng, flow, after, timeout)
            report.rounds.append(result)
            new = [v for v in result.violations if v.key not in seen]
            seen.update(v.key for v in new)
            report.violations += [(number, v) for v in new]
            say(
                f"round {number:>3}/{rounds} {fault.describe():<55} ready {_secs(result.ready_seconds)} "
                f"recovered {_secs(result.recovered_seconds)}  round {result.seconds:5.1f}s  "
                f"writes +{result.accepted} ({result.unsure} unsure)  "
                + ("ok" if not result.violations else f"{len(result.violations)} VIOLATIONS")
            )
            for v in new:
                say(f"    {v.invariant}: {v.detail}")
    # The whole chain at the end, not only each round's stretch of it.
    whole = await checker.verify(1)
    if not whole.get("ok"):
        report.violations.append((rounds, Violation("audit verify ok", f"the whole chain: {str(whole)[:500]}")))
    return report


def _secs(value: float | None) -> str:
    return "  -  " if value is None else f"{value:5.1f}s"


async def _round(
    number: int,
    fault: Fault,
    stack: StackSettings,
    supervisor: Supervisor,
    checker: Checker,
    workload: Workload,
    rng: random.Random,
    flow: tuple[float, float],
    after: float,
    timeout: float,
) -> RoundResult:
    started = time.monotonic()
    violations: list[Violation] = []
    ready_s = recovered_s = None
    before_writes, before_unsure = workload.writes, sum(workload.unsure.values())
    try:
        await wait_all_ready(stack, timeout=timeout)
        marks = await Marks.take(stack)
        await workload.sign_in()
        workload.start()
        try:
            await asyncio.sleep(rng.uniform(*flow))
            await inject(fault, stack, supervisor)
            ended = time.monotonic()
            await asyncio.sleep(after)
        finally:
            await workload.stop()
            for name in ("kafka", "postgres", fault.target.split(".")[0]):
                if name:
                    await ensure_running(supervisor, name)
        checker.start_round()
        violations += await checker.health()
        ready_s = time.monotonic() - ended
        await workload.settle()
        violations += await checker.outboxes()
        events = await checker.events()
        deals = [key for per in events.values() for t, key, _ in per.values() if t == "pipeline.opportunity.opened"]
        clients = [key for per in events.values() for t, key, _ in per.values() if t == "clients.client.created"]
        violations += await checker.writes(workload)
        violations += await checker.routing(deals)
        violations += await checker.client_status(clients)
        violations += await checker.notifications(events)
        if fault.kind == "rewind":
            violations += await checker.caught_up(fault.target, fault.handled)
        violations += await checker.audit(await checker.events(), from_seq=marks.audit_seq)
        recovered_s = time.monotonic() - ended
        violations += await checker.dead_letters(marks)
    except Exception as exc:  # the round itself failed: say so, as a violation, and go on with the next
        violations.append(Violation("the round ran", f"{exc.__class__.__name__}: {str(exc)[:400]}"))
    return RoundResult(
        number,
        fault,
        violations,
        ready_s,
        recovered_s if not violations else None,
        time.monotonic() - started,
        workload.writes - before_writes,
        sum(workload.unsure.values()) - before_unsure,
    )
