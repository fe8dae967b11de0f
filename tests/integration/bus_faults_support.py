"""The bus fault tests' workload and checks: a steady flow of real writes through the gateway (clients created,
deals opened and moved forward and back), then every effect downstream counted, each exactly once.

What the checks hold to is what the writing services have durably (their tables and outboxes): a write
answered with an error may or may not have happened, but every write that was accepted must be there, and
everything that is there must have had each of its effects once — no more, no less.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx

from devstack.config import StackSettings
from devstack.faults.support import (  # noqa: F401 (the fault tests' helpers, from the fault matrix's)
    DATABASES,
    database,
    ensure_running,
    fetch,
    in_thread,
    readyz,
    wait_all_ready,
    wait_kafka_back,
    wait_state,
)
from shared.contracts.pipeline import STAGE_KEYS
from tests.conftest import all_items, wait_until
from tests.integration.clients_contracts_helpers import SALES_MANAGER, headers_for, random_afm, tag

# The services whose events the workload causes: what each has in its outbox since the start is checked downstream.
SOURCES = ("clients", "pipeline", "tasks")
# Each deal walks this script, one move per turn; a deal that has finished it is left where it is.
SCRIPT = ("advance", "advance", "move-back", "advance", "advance")
REQUEST_TIMEOUT = 10.0


@dataclass
class Marks:
    """Where each service's outbox and dead letters stood before the test: only what comes after is checked."""

    outbox: dict[str, int]
    dead_letters: dict[str, int]

    @classmethod
    async def take(cls, stack: StackSettings) -> Marks:
        outbox, dead = {}, {}
        for service in DATABASES:
            async with database(stack, service) as conn:
                outbox[service] = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
                dead[service] = await conn.fetchval("SELECT coalesce(max(id), 0) FROM dead_letters")
        return cls(outbox, dead)


@dataclass
class Deal:
    id: str
    stage: str
    answered: list[str]  # the stages the deal was answered at, in order (its opening first)
    step: int = 0  # the next move of SCRIPT
    unsure: bool = False  # a move's answer was lost: re-read where the deal is before the next one

    @property
    def finished(self) -> bool:
        return self.step >= len(SCRIPT)


@dataclass
class Workload:
    """Writes through the gateway, as a sales manager would, until stopped: one lane creates clients, one opens
    deals for them and moves the deals along SCRIPT. Errors are counted, not raised: during a fault a write
    may be refused."""

    gateway: httpx.AsyncClient
    headers: dict[str, str]
    line_id: str
    department_id: str
    clients: list[str] = field(default_factory=list)  # accepted, in order
    deals: dict[str, Deal] = field(default_factory=dict)  # accepted openings
    accepted: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)
    _waiting: list[str] = field(default_factory=list)  # clients without a deal yet
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _lanes: list[asyncio.Task] = field(default_factory=list)

    @classmethod
    async def prepare(cls, gateway: httpx.AsyncClient) -> Workload:
        headers = await headers_for(gateway, SALES_MANAGER)
        lines = await all_items(gateway, "/api/v1/lines", headers)
        line = next(x for x in lines if x["name"] == "Auto")
        me = (await gateway.get("/api/v1/auth/me", headers=headers)).json()
        return cls(gateway, headers, line["id"], me["department_id"])

    @property
    def writes(self) -> int:
        return sum(self.accepted.values())

    async def _call(self, what: str, method: str, url: str, **kwargs) -> httpx.Response | None:
        """The answer if the write was accepted (or refused as a conflict); None if it failed."""
        try:
            response = await self.gateway.request(method, url, headers=self.headers, timeout=REQUEST_TIMEOUT, **kwargs)
        except httpx.HTTPError as exc:
            self.refused[f"{what}: {exc.__class__.__name__}"] += 1
            return None
        if response.status_code >= 500 or (response.status_code == 422 and what == "open"):
            self.refused[f"{what}: {response.status_code}"] += 1
            return None
        if response.status_code < 300:
            self.accepted[what] += 1
        return response

    # Lanes -----------------------------------------------------------------------------------------
    async def _clients_lane(self, pause: float) -> None:
        while not self._stop.is_set():
            body = {
                "kind": "company",
                "name": f"Bus Fault Client {tag()}",
                "country": "GR",
                "tax_id": random_afm(),
                "department_id": self.department_id,
            }
            response = await self._call("client", "POST", "/api/v1/clients", json=body)
            if response is not None:
                assert response.status_code == 201, response.text
                self.clients.append(response.json()["id"])
                self._waiting.append(response.json()["id"])
            await self._pause(pause)

    async def _deals_lane(self, pause: float) -> None:
        turn = 0
        while not self._stop.is_set():
            turn += 1
            if turn % 2 == 1 and self._waiting:
                await self._open(self._waiting[0])
            unfinished = [d for d in self.deals.values() if not d.finished]
            if unfinished:
                await self._move(unfinished[turn % len(unfinished)])
            await self._pause(pause)

    async def _open(self, client_id: str) -> None:
        response = await self._call(
            "open",
            "POST",
            "/api/v1/opportunities",
            json={"client_id": client_id, "line_id": self.line_id, "title": f"Bus fault deal {tag()}"},
        )
        if response is None:
            return  # unknown to pipeline yet, or refused: tried again next time
        assert response.status_code == 201, response.text
        self._waiting.remove(client_id)
        deal = response.json()
        self.deals[deal["id"]] = Deal(deal["id"], deal["stage"]["key"], [deal["stage"]["key"]])

    async def _move(self, deal: Deal) -> None:
        if deal.unsure and not await self._reread(deal):
            return
        action = SCRIPT[deal.step]
        body = {"from_stage": deal.stage}
        if action == "move-back":
            body["reason"] = "Needs another look at the fleet list"
        response = await self._call("move", "POST", f"/api/v1/opportunities/{deal.id}/{action}", json=body)
        if response is None:
            deal.unsure = True  # it may have happened: pipeline knows
            return
        if response.status_code == 409:
            deal.unsure = True
            return
        assert response.status_code == 200, response.text
        deal.stage = response.json()["stage"]["key"]
        deal.answered.append(deal.stage)
        deal.step += 1

    async def _reread(self, deal: Deal) -> bool:
        try:
            response = await self.gateway.get(
                f"/api/v1/opportunities/{deal.id}/timeline", headers=self.headers, timeout=REQUEST_TIMEOUT
            )
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        entries = response.json()["entries"]
        deal.stage = entries[-1]["to_stage"]
        deal.step = len(entries) - 1
        deal.unsure = False
        return True

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    # Running ---------------------------------------------------------------------------------------
    def start(self, *, pause: float = 0.2) -> None:
        self._stop.clear()
        self._lanes = [
            asyncio.create_task(self._clients_lane(pause * 2), name="clients-lane"),
            asyncio.create_task(self._deals_lane(pause), name="deals-lane"),
        ]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._lanes)

    async def run_for(self, seconds: float) -> None:
        """Let the workload run this long (it keeps running until stopped)."""
        await asyncio.sleep(seconds)

    async def accepted_while(self, action) -> int:
        """Run `action` (a coroutine) while the workload goes on; return the writes accepted meanwhile."""
        before = self.writes
        await action
        return self.writes - before


# Checks -----------------------------------------------------------------------------------------------
@dataclass
class Outcome:
    """What the writing services hold since the marks, as the checks read it."""

    events: dict[str, dict[str, str]]  # service -> event id -> type
    notified: dict[str, int]  # event id -> notifications it must cause (one per recipient)
    created_clients: list[str]  # the clients whose creation was published


async def published_events(stack: StackSettings, marks: Marks, timeout: float = 180) -> Outcome:
    """Wait until every source service has published its outbox since the marks; return those events and the
    notifications they must cause."""
    events: dict[str, dict[str, str]] = {}
    notified: dict[str, int] = {}
    created_clients: list[str] = []
    for service in SOURCES:

        async def all_published(service=service):
            rows = await fetch(
                stack,
                service,
                "SELECT count(*) AS n FROM outbox WHERE id > $1 AND published_at IS NULL",
                marks.outbox[service],
            )
            return rows[0]["n"] == 0

        await wait_until(all_published, timeout=timeout, interval=0.5, what=f"{service}'s outbox published")
        rows = await fetch(
            stack,
            service,
            "SELECT event_id, event_type, key, payload FROM outbox WHERE id > $1 "
            "AND topic NOT LIKE 'deadletter.%' ORDER BY id",
            marks.outbox[service],
        )
        events[service] = {r["event_id"]: r["event_type"] for r in rows}
        for r in rows:
            if r["event_type"] == "clients.client.created":
                created_clients.append(r["key"])
            if r["event_type"] in ("tasks.task.created", "pipeline.opportunity.opened"):
                data = json.loads(r["payload"])
                recipient = data.get("assignee_id") if r["event_type"] == "tasks.task.created" else data.get("owner_id")
                if recipient:
                    notified[r["event_id"]] = 1
    return Outcome(events, notified, created_clients)


async def check_audit(stack: StackSettings, outcome: Outcome, timeout: float = 120) -> None:
    """Each event in audit exactly once."""
    ids = [i for per in outcome.events.values() for i in per]

    async def recorded():
        rows = await fetch(
            stack,
            "audit",
            "SELECT count(DISTINCT event_id) AS n FROM audit_records WHERE event_id = ANY($1::text[])",
            ids,
        )
        return rows[0]["n"] == len(ids) or None

    await wait_until(recorded, timeout=timeout, interval=0.5, what=f"all {len(ids)} events in audit")
    doubled = await fetch(
        stack,
        "audit",
        "SELECT event_id, count(*) FROM audit_records WHERE event_id = ANY($1::text[]) "
        "GROUP BY event_id HAVING count(*) > 1",
        ids,
    )
    assert not doubled, f"audited twice: {doubled[:5]}"


async def deal_visits(stack: StackSettings, deal_ids: list[str]) -> dict[str, list[str]]:
    """Each deal's stage visits as pipeline holds them (its opening and every move)."""
    rows = await fetch(
        stack,
        "pipeline",
        "SELECT opportunity_id::text AS id, to_stage FROM stage_moves "
        "WHERE opportunity_id = ANY($1::uuid[]) ORDER BY opportunity_id, moved_at, id",
        deal_ids,
    )
    visits: dict[str, list[str]] = {d: [] for d in deal_ids}
    for r in rows:
        visits[r["id"]].append(r["to_stage"])
    return visits


async def check_accepted_writes_kept(stack: StackSettings, workload: Workload) -> dict[str, list[str]]:
    """Every accepted write is in its service's tables (nothing acknowledged was lost); returns the deals' visits."""
    rows = await fetch(stack, "clients", "SELECT id::text FROM clients WHERE id = ANY($1::uuid[])", workload.clients)
    assert len(rows) == len(workload.clients), "an accepted client is gone"
    visits = await deal_visits(stack, list(workload.deals))
    for deal in workload.deals.values():
        it = iter(visits[deal.id])
        assert all(stage in it for stage in deal.answered), (
            f"an accepted move of deal {deal.id} is gone: answered {deal.answered}, pipeline has {visits[deal.id]}"
        )
    return visits


async def routed_tasks(stack: StackSettings, deal_ids: list[str]) -> dict[str, list[tuple[str, str]]]:
    rows = await fetch(
        stack,
        "tasks",
        "SELECT opportunity_id::text AS id, stage_key, status FROM tasks "
        "WHERE origin = 'auto' AND opportunity_id = ANY($1::uuid[]) "
        "ORDER BY opportunity_id, number",
        deal_ids,
    )
    tasks: dict[str, list[tuple[str, str]]] = {d: [] for d in deal_ids}
    for r in rows:
        tasks[r["id"]].append((r["stage_key"], r["status"]))
    return tasks


def routing_mismatches(visits: dict[str, list[str]], tasks: dict[str, list[tuple[str, str]]]) -> dict[str, tuple]:
    """Deals whose tasks are not one per stage visit, in order, with only the current stage's task open."""
    wrong = {}
    for deal_id, stages in visits.items():
        keys = [k for k, _ in tasks[deal_id]]
        open_ = [i for i, (_, status) in enumerate(tasks[deal_id]) if status not in ("done", "cancelled")]
        if keys != stages or open_ != [len(stages) - 1]:
            wrong[deal_id] = (stages, tasks[deal_id])
    return wrong


async def check_routing(stack: StackSettings, visits: dict[str, list[str]], timeout: float = 120) -> None:
    """One routed task per stage visit of every deal, in order; only the task of the stage the deal is in is open."""
    assert all(stage in STAGE_KEYS for stages in visits.values() for stage in stages)

    async def routed():
        wrong = routing_mismatches(visits, await routed_tasks(stack, list(visits)))
        return not wrong or None

    try:
        await wait_until(routed, timeout=timeout, interval=0.5, what="one task per stage visit")
    except AssertionError:
        wrong = routing_mismatches(visits, await routed_tasks(stack, list(visits)))
        raise AssertionError(
            f"{len(wrong)} deals routed wrongly, e.g. {list(itertools.islice(wrong.items(), 3))}"
        ) from None


async def check_notifications(stack: StackSettings, outcome: Outcome, timeout: float = 120) -> None:
    """One notification per event that names a recipient (a deal's owner, a task's assignee), never two."""
    ids = list(outcome.notified)

    async def notified():
        rows = await fetch(
            stack,
            "notifications",
            "SELECT count(DISTINCT source_event_id) AS n FROM notifications WHERE source_event_id = ANY($1::text[])",
            ids,
        )
        return rows[0]["n"] == len(ids) or None

    await wait_until(notified, timeout=timeout, interval=0.5, what=f"notifications of {len(ids)} events")
    doubled = await fetch(
        stack,
        "notifications",
        "SELECT source_event_id, count(*) FROM notifications "
        "WHERE source_event_id = ANY($1::text[]) GROUP BY source_event_id "
        "HAVING count(*) > 1",
        ids,
    )
    assert not doubled, f"notified twice: {doubled[:5]}"


async def check_client_replicas(stack: StackSettings, client_ids: list[str], timeout: float = 60) -> None:
    """Contracts and pipeline know every client created (their consumers of clients' events)."""
    for service in ("contracts", "pipeline"):

        async def known(service=service):
            rows = await fetch(
                stack, service, "SELECT count(*) AS n FROM known_clients WHERE id = ANY($1::uuid[])", client_ids
            )
            return rows[0]["n"] == len(client_ids) or None

        await wait_until(known, timeout=timeout, interval=0.5, what=f"{service} to know every client")


async def check_no_dead_letters(stack: StackSettings, marks: Marks) -> None:
    parked = {}
    for service in DATABASES:
        rows = await fetch(
            stack,
            service,
            "SELECT consumer, event_type, error FROM dead_letters WHERE id > $1",
            marks.dead_letters[service],
        )
        if rows:
            parked[service] = [dict(r) for r in rows[:3]]
    assert not parked, f"dead letters: {parked}"


async def check_every_effect_once(stack: StackSettings, workload: Workload, marks: Marks) -> Outcome:
    """The whole check after a fault: accepted writes kept, every event audited once, one task per stage visit,
    notifications once, the client replicas complete, no dead letter, every service ready."""
    started = time.monotonic()
    await wait_all_ready(stack)
    visits = await check_accepted_writes_kept(stack, workload)
    outcome = await published_events(stack, marks)
    await check_audit(stack, outcome)
    await check_routing(stack, visits)
    await check_notifications(stack, outcome)
    await check_client_replicas(stack, outcome.created_clients)
    await check_no_dead_letters(stack, marks)
    await wait_all_ready(stack)
    print(
        f"checked in {time.monotonic() - started:.1f}s: {workload.accepted} accepted, {dict(workload.refused)} "
        f"refused; {sum(len(e) for e in outcome.events.values())} events, {len(visits)} deals"
    )
    return outcome
