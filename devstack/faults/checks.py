"""The fault matrix's invariants, checked through the databases and the API after every round.

Each check waits (up to its timeout) for the platform to converge, then returns what still does not hold as
`Violation`s: nothing is raised, so one round reports every broken invariant at once. What is checked covers
everything since the run's marks (the outbox and dead-letter positions when the run began), not only the round's
own writes: a later fault (a consumer group moved back over earlier rounds) must not disturb what an earlier
round left right.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from devstack.config import StackSettings
from devstack.faults.support import DATABASES, database, fetch, login, not_ready
from devstack.faults.workload import Workload
from devstack.supervisor import Supervisor
from shared.contracts.pipeline import COMPLETION

# Audit's periodic chain checkpoint: an event of audit's own, published whether or not anything happens.
CHECKPOINT = "audit.checkpoint.recorded"


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str

    @property
    def key(self) -> tuple[str, str]:
        return self.invariant, self.detail


@dataclass
class Marks:
    """Where each service's outbox and dead letters stood: only what comes after is checked."""

    outbox: dict[str, int]
    dead_letters: dict[str, int]
    audit_seq: int

    @classmethod
    async def take(cls, stack: StackSettings) -> Marks:
        outbox, dead = {}, {}
        for service in DATABASES:
            async with database(stack, service) as conn:
                outbox[service] = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
                dead[service] = await conn.fetchval("SELECT coalesce(max(id), 0) FROM dead_letters")
        async with database(stack, "audit") as conn:
            seq = await conn.fetchval("SELECT coalesce(max(seq), 0) FROM audit_records")
        return cls(outbox, dead, seq)


async def converge(check: Callable[[], Awaitable[list[str]]], deadline: float, interval: float = 0.5) -> list[str]:
    """Call `check` (what is still wrong) until it answers nothing or the `deadline` (monotonic) passes; return its
    last answer."""
    while True:
        wrong = await check()
        if not wrong or time.monotonic() > deadline:
            return wrong
        await _sleep(interval)


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def _some(items: list[str], n: int = 3) -> str:
    return "; ".join(items[:n]) + (f" (and {len(items) - n} more)" if len(items) > n else "")


@dataclass
class Checker:
    stack: StackSettings
    supervisor: Supervisor
    run_marks: Marks
    timeout: float = 180.0
    admin_email: str = ""
    admin_password: str = ""
    deadline: float = 0.0  # when the round's checks stop waiting for the platform to converge

    def start_round(self) -> None:
        """The checks of a round wait for convergence `timeout` seconds in all, not each."""
        self.deadline = time.monotonic() + self.timeout

    # Health --------------------------------------------------------------------------------------------
    async def health(self) -> list[Violation]:
        """Every service ready and every program running, with no hand but supervisord's own restarts."""

        async def wrong() -> list[str]:
            states = await _in_thread(self.supervisor.states)
            down = [f"{name} is {state}" for name, state in states.items() if state != "RUNNING"]
            return down + [f"{name} not ready: {why}" for name, why in (await not_ready(self.stack)).items()]

        return [Violation("healthy without a hand", w) for w in await converge(wrong, self.deadline)]

    # Outboxes --------------------------------------------------------------------------------------------
    async def outboxes(self) -> list[Violation]:
        """No outbox row stuck: every service's relay publishes everything."""

        async def wrong() -> list[str]:
            out = []
            for service in DATABASES:
                row = (
                    await fetch(
                        self.stack,
                        service,
                        "SELECT count(*) AS n, min(created_at) AS oldest FROM outbox WHERE published_at IS NULL",
                    )
                )[0]
                if row["n"]:
                    out.append(f"{service}: {row['n']} unpublished since {row['oldest']:%H:%M:%S}")
            return out

        return [Violation("no outbox row stuck", w) for w in await converge(wrong, self.deadline)]

    async def events(self) -> dict[str, dict[str, tuple[str, str, dict]]]:
        """Every service's events since the run's marks: service -> event id -> (type, key, payload)."""
        events: dict[str, dict[str, tuple[str, str, dict]]] = {}
        for service in DATABASES:
            rows = await fetch(
                self.stack,
                service,
                "SELECT event_id, event_type, key, payload FROM outbox WHERE id > $1 "
                "AND topic NOT LIKE 'deadletter.%' ORDER BY id",
                self.run_marks.outbox[service],
            )
            events[service] = {r["event_id"]: (r["event_type"], r["key"], json.loads(r["payload"])) for r in rows}
        return events

    # Audit -------------------------------------------------------------------------------------------
    async def audit(self, events: dict[str, dict[str, tuple[str, str, dict]]], from_seq: int) -> list[Violation]:
        """Every published event in audit exactly once; the chain verifies."""
        ids = [i for per in events.values() for i in per]

        async def wrong() -> list[str]:
            rows = await fetch(
                self.stack,
                "audit",
                "SELECT event_id, count(*) AS n FROM audit_records WHERE event_id = ANY($1::text[]) GROUP BY event_id",
                ids,
            )
            counts = {r["event_id"]: r["n"] for r in rows}
            missing = [f"{t} {i} ({s})" for s, per in events.items() for i, (t, _, _) in per.items() if i not in counts]
            twice = [f"{i} x{n}" for i, n in counts.items() if n > 1]
            return [f"not in audit: {_some(missing)}"] * bool(missing) + [f"audited twice: {_some(twice)}"] * bool(
                twice
            )

        found = [Violation("every event in audit once", w) for w in await converge(wrong, self.deadline)]
        report = await self.verify(from_seq)
        if not report.get("ok"):
            found.append(Violation("audit verify ok", json.dumps(report.get("break") or report)[:500]))
        return found

    async def verify(self, from_seq: int) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.stack.gateway_url, timeout=120) as client:
            headers = {"Authorization": f"Bearer {await login(client, self.admin_email, self.admin_password)}"}
            response = await client.get("/api/v1/audit/verify", params={"from_seq": max(1, from_seq)}, headers=headers)
            if response.status_code != 200:
                return {"ok": False, "status": response.status_code, "body": response.text[:300]}
            return dict(response.json())

    # Accepted writes -------------------------------------------------------------------------------------
    async def writes(self, workload: Workload) -> list[Violation]:
        """Every accepted write present, in its final state."""

        async def wrong() -> list[str]:
            out: list[str] = []
            clients = {
                r["id"]: r["address"]
                for r in await fetch(
                    self.stack,
                    "clients",
                    "SELECT id::text, address FROM clients WHERE id = ANY($1::uuid[])",
                    list(workload.clients),
                )
            }
            for client_id, held in workload.clients.items():
                if client_id not in clients:
                    out.append(f"accepted client {client_id} is gone")
                elif clients[client_id] not in held.may_hold:
                    out.append(f"client {client_id} address {clients[client_id]!r}, accepted {sorted(held.may_hold)}")
            deals = {
                r["id"]: r
                for r in await fetch(
                    self.stack,
                    "pipeline",
                    "SELECT id::text, stage_key, status, title, contract_id::text FROM opportunities "
                    "WHERE id = ANY($1::uuid[])",
                    list(workload.deals),
                )
            }
            visits = await self.visits(list(workload.deals))
            contracts = {
                r["opportunity_id"]: r
                for r in await fetch(
                    self.stack,
                    "contracts",
                    "SELECT id::text, opportunity_id::text, status FROM contracts WHERE opportunity_id = ANY($1::uuid[])",
                    list(workload.deals),
                )
            }
            for deal in workload.deals.values():
                row = deals.get(deal.id)
                if row is None:
                    out.append(f"accepted deal {deal.id} is gone")
                    continue
                stages: Iterator[str | None] = iter([s for s, _ in visits.get(deal.id, [])])
                if not all(stage in stages for stage in deal.answered):
                    out.append(
                        f"an accepted move of deal {deal.id} is gone: answered {deal.answered}, "
                        f"pipeline has {[s for s, _ in visits.get(deal.id, [])]}"
                    )
                if row["title"] not in deal.title.may_hold:
                    out.append(f"deal {deal.id} title {row['title']!r}, accepted {sorted(deal.title.may_hold)}")
                want = self._deal_final(deal)
                if want is not None and (row["stage_key"], row["status"]) != want:
                    out.append(f"deal {deal.id} ({deal.plan}) is {row['stage_key']}/{row['status']}, answered {want}")
                if deal.contract_id is not None and deal.status != "lost":
                    contract = contracts.get(deal.id)
                    if contract is None:
                        out.append(f"deal {deal.id} was accepted but contracts has no contract for it")
                    elif contract["id"] != deal.contract_id or row["contract_id"] != deal.contract_id:
                        out.append(f"deal {deal.id}: contract {contract['id']}, deal says {row['contract_id']}")
                    elif deal.issued and contract["status"] not in ("issued", "active"):
                        out.append(f"deal {deal.id}: contract issue accepted, contract is {contract['status']}")
            tasks = {
                r["id"]: r["description"]
                for r in await fetch(
                    self.stack,
                    "tasks",
                    "SELECT id::text, description FROM tasks WHERE id = ANY($1::uuid[])",
                    list(workload.tasks),
                )
            }
            for task_id, held in workload.tasks.items():
                if task_id not in tasks:
                    out.append(f"edited task {task_id} is gone")
                elif tasks[task_id] not in held.may_hold:
                    out.append(
                        f"task {task_id} description {tasks[task_id]!r}, accepted {sorted(held.may_hold, key=str)}"
                    )
            return out

        return [Violation("accepted writes kept", w) for w in await converge(wrong, self.deadline)]

    @staticmethod
    def _deal_final(deal: Any) -> tuple[str, str] | None:
        """Where a deal must end as its answers say (None if an answer was lost)."""
        if deal.unsure or deal.issue_unsure:
            return None
        if deal.issued:
            return COMPLETION, "won"  # the issued contract completes the deal (pipeline consumes the event)
        return deal.stage, deal.status

    async def visits(self, deal_ids: list[str]) -> dict[str, list[tuple[str | None, str]]]:
        """Each deal's stage visits as pipeline holds them: (stage, kind), its opening first."""
        rows = await fetch(
            self.stack,
            "pipeline",
            "SELECT opportunity_id::text AS id, to_stage, kind FROM stage_moves "
            "WHERE opportunity_id = ANY($1::uuid[]) ORDER BY opportunity_id, moved_at, id",
            deal_ids,
        )
        visits: dict[str, list[tuple[str | None, str]]] = {d: [] for d in deal_ids}
        for r in rows:
            visits[r["id"]].append((r["to_stage"], r["kind"]))
        return visits

    # Routing ---------------------------------------------------------------------------------------------
    async def routing(self, deal_ids: list[str]) -> list[Violation]:
        """Each deal has one automatic task per stage visit, in order, and exactly one open task (its current
        stage's) while it is open; none once it is won or lost."""

        async def wrong() -> list[str]:
            visits = await self.visits(deal_ids)
            status = {
                r["id"]: r["status"]
                for r in await fetch(
                    self.stack,
                    "pipeline",
                    "SELECT id::text, status FROM opportunities WHERE id = ANY($1::uuid[])",
                    deal_ids,
                )
            }
            rows = await fetch(
                self.stack,
                "tasks",
                "SELECT opportunity_id::text AS id, stage_key, status, origin FROM tasks "
                "WHERE opportunity_id = ANY($1::uuid[]) ORDER BY opportunity_id, number",
                deal_ids,
            )
            tasks: dict[str, list[tuple[str, str, str]]] = {d: [] for d in deal_ids}
            for r in rows:
                tasks[r["id"]].append((r["stage_key"], r["status"], r["origin"]))
            out = []
            for deal_id in deal_ids:
                stages = [s for s, kind in visits[deal_id] if s is not None and s != COMPLETION]
                auto = [(k, st) for k, st, origin in tasks[deal_id] if origin == "auto"]
                open_ = [k for k, st, _ in tasks[deal_id] if st not in ("done", "cancelled")]
                want_open = [stages[-1]] if status.get(deal_id) == "open" and stages else []
                if [k for k, _ in auto] != stages or open_ != want_open:
                    out.append(f"deal {deal_id} ({status.get(deal_id)}): visits {stages}, tasks {auto}, open {open_}")
            return out

        found = await converge(wrong, self.deadline)
        return [Violation("one open task per deal, for its stage", w) for w in found]

    # Client status ---------------------------------------------------------------------------------------
    async def client_status(self, client_ids: list[str]) -> list[Violation]:
        """Each client's status and active contracts follow the contracts it holds (in the contracts service)."""
        from services.clients.service import derive_status

        async def wrong() -> list[str]:
            held = {
                r["client_id"]: (r["active"], r["held"])
                for r in await fetch(
                    self.stack,
                    "contracts",
                    "SELECT client_id::text, count(*) FILTER (WHERE status = 'active') AS active, "
                    "count(*) FILTER (WHERE status IN ('active', 'expired')) > 0 AS held "
                    "FROM contracts WHERE client_id = ANY($1::uuid[]) GROUP BY client_id",
                    client_ids,
                )
            }
            rows = await fetch(
                self.stack,
                "clients",
                "SELECT id::text, status, active_contracts FROM clients WHERE id = ANY($1::uuid[])",
                client_ids,
            )
            out = []
            for r in rows:
                active, ever = held.get(r["id"], (0, False))
                want = (derive_status(active, ever), active)
                if (r["status"], r["active_contracts"]) != want:
                    out.append(f"client {r['id']} is {r['status']}/{r['active_contracts']}, its contracts say {want}")
            return out

        return [Violation("client status matches contracts", w) for w in await converge(wrong, self.deadline)]

    # Notifications -------------------------------------------------------------------------------------
    async def notifications(self, events: dict[str, dict[str, tuple[str, str, dict]]]) -> list[Violation]:
        """One notification per event that names a recipient (a deal's owner, a task's assignee), never two."""
        wanted: dict[tuple[str, str], str] = {}
        for per in events.values():
            for event_id, (event_type, _, data) in per.items():
                if event_type == "tasks.task.created" and data.get("assignee_id"):
                    wanted[(event_id, data["assignee_id"])] = event_type
                elif event_type == "pipeline.opportunity.opened" and data.get("owner_id"):
                    wanted[(event_id, data["owner_id"])] = event_type
        ids = list({i for i, _ in wanted})

        async def wrong() -> list[str]:
            rows = await fetch(
                self.stack,
                "notifications",
                "SELECT source_event_id, recipient_id::text, count(*) AS n FROM notifications "
                "WHERE source_event_id = ANY($1::text[]) GROUP BY source_event_id, recipient_id",
                ids,
            )
            got = {(r["source_event_id"], r["recipient_id"]): r["n"] for r in rows}
            missing = [f"{t} {i}" for (i, who), t in wanted.items() if (i, who) not in got]
            twice = [f"{i} to {who} x{n}" for (i, who), n in got.items() if n > 1]
            return [f"not notified: {_some(missing)}"] * bool(missing) + [f"notified twice: {_some(twice)}"] * bool(
                twice
            )

        return [Violation("no duplicate notification", w) for w in await converge(wrong, self.deadline)]

    # Dead letters --------------------------------------------------------------------------------------
    async def dead_letters(self, marks: Marks) -> list[Violation]:
        """Dead letters since `marks`: none (no fault of the matrix makes an event that should be parked)."""
        out = []
        for service in DATABASES:
            rows = await fetch(
                self.stack,
                service,
                "SELECT id, consumer, event_type, event_id, left(error, 300) AS error FROM dead_letters "
                "WHERE id > $1 ORDER BY id",
                marks.dead_letters[service],
            )
            out += [
                f"{service}: {r['consumer']} parked {r['event_type']} {r['event_id']}: {r['error']}"
                for r in itertools.islice(rows, 5)
            ]
        return [Violation("dead letters empty or explained", w) for w in out]

    # Consumer groups -------------------------------------------------------------------------------------
    async def caught_up(self, group: str, offsets: dict[Any, int]) -> list[Violation]:
        """A group moved back has read again everything it had handled."""
        from devstack.faults.inject import committed

        async def wrong() -> list[str]:
            now = await committed(self.stack, group)
            behind = [
                f"{tp.topic}[{tp.partition}] {now.get(tp)} < {o}" for tp, o in offsets.items() if now.get(tp, -1) < o
            ]
            return [f"{group} has not read again what it had handled: {_some(behind)}"] if behind else []

        return [Violation("a group moved back catches up", w) for w in await converge(wrong, self.deadline)]


async def _in_thread(function: Callable[..., Any], *args: Any) -> Any:
    import asyncio

    return await asyncio.to_thread(function, *args)
