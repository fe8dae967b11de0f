"""The fault matrix's workload: real writes through the gateway, as the Sales manager makes them, until stopped.

Lanes run side by side: one creates clients and edits them, two walk deals along their plans (advance, move
back, accept with terms, issue the contract, or decline), one edits deals' titles and tasks' descriptions.
Every answer is classed: **accepted** (2xx: it happened, and must still be there in its final state),
**refused** (4xx: it did not happen) or **unsure** (no answer or a 5xx during a fault: it may have happened).
What a record may hold at the end follows from that: after an accepted write only its value, after an unsure one
its value or whatever it could hold before. A deal whose move was unsure is read again before its next move.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from devstack.faults.support import all_items, login, random_afm, tag
from shared.contracts.pipeline import POLICY_ISSUANCE

REQUEST_TIMEOUT = 10.0
# The contracts service's business time zone: an issue date is not after its today.
BUSINESS_TZ = ZoneInfo("Europe/Athens")
CLOSED = ("won", "lost")

# A deal's plans: moves up to Client Decision, then accept and issue (won), or decline (lost); a wanderer goes
# back and forth and stays open.
TO_DECISION = ("advance",) * 6
PLANS: dict[str, tuple[str, ...]] = {
    "win": (*TO_DECISION, "accept", "issue"),
    "decline": (*TO_DECISION, "decline"),
    "wander": ("advance", "advance", "move-back", "advance", "advance"),
}


def business_today() -> str:
    return datetime.now(BUSINESS_TZ).date().isoformat()


def terms() -> dict[str, str]:
    today = datetime.now(BUSINESS_TZ).date()
    return {
        "premium": "1200.00",
        "currency": "EUR",
        "start_date": (today - timedelta(days=10)).isoformat(),
        "end_date": (today + timedelta(days=300)).isoformat(),
        "insurer": "Ethniki Asfalistiki",
    }


@dataclass
class Field:
    """What one field of a record may hold: after an accepted write its value alone; an unsure write adds its
    value to what it could hold before."""

    may_hold: set[Any]

    def accepted(self, value: Any) -> None:
        self.may_hold = {value}

    def unsure(self, value: Any) -> None:
        self.may_hold.add(value)


@dataclass
class Deal:
    id: str
    client_id: str
    plan: str
    stage: str
    status: str = "open"
    answered: list[str | None] = field(default_factory=list)  # the stages moves were answered at, in order
    step: int = 0  # the next action of its plan
    unsure: bool = False  # a move's answer was lost: read the deal again before the next one
    contract_id: str | None = None
    issued: bool = False  # the contract's issue was accepted
    issue_unsure: bool = False
    title: Field = field(default_factory=lambda: Field(set()))

    @property
    def actions(self) -> tuple[str, ...]:
        return PLANS[self.plan]

    @property
    def finished(self) -> bool:
        return self.step >= len(self.actions) or self.status in CLOSED


@dataclass
class Workload:
    gateway: httpx.AsyncClient
    rng: random.Random
    email: str
    password: str
    headers: dict[str, str] = field(default_factory=dict)
    line_id: str = ""
    department_id: str = ""
    clients: dict[str, Field] = field(default_factory=dict)  # accepted clients -> their address
    deals: dict[str, Deal] = field(default_factory=dict)  # accepted openings
    tasks: dict[str, Field] = field(default_factory=dict)  # edited tasks -> their description
    accepted: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)
    unsure: Counter = field(default_factory=Counter)
    _waiting: list[str] = field(default_factory=list)  # clients without a deal yet
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _lanes: list[asyncio.Task] = field(default_factory=list)

    async def sign_in(self) -> None:
        """(Again:) a fresh token, the Auto line and the manager's department."""
        self.headers = {"Authorization": f"Bearer {await login(self.gateway, self.email, self.password)}"}
        if not self.line_id:
            lines = await all_items(self.gateway, "/api/v1/lines", self.headers)
            self.line_id = next(x for x in lines if x["name"] == "Auto")["id"]
            me = (await self.gateway.get("/api/v1/auth/me", headers=self.headers)).json()
            self.department_id = me["department_id"]

    @property
    def writes(self) -> int:
        return sum(self.accepted.values())

    async def _call(self, what: str, method: str, url: str, **kwargs: Any) -> httpx.Response | None:
        """The answer if there was one below 500; None (counted unsure) if the write may or may not have happened."""
        try:
            response = await self.gateway.request(method, url, headers=self.headers, timeout=REQUEST_TIMEOUT, **kwargs)
        except httpx.HTTPError as exc:
            self.unsure[f"{what}: {exc.__class__.__name__}"] += 1
            return None
        if response.status_code >= 500:
            self.unsure[f"{what}: {response.status_code}"] += 1
            return None
        if response.status_code < 300:
            self.accepted[what] += 1
        else:
            self.refused[f"{what}: {response.status_code}"] += 1
        return response

    # Clients -----------------------------------------------------------------------------------------
    async def _clients_lane(self, pause: float) -> None:
        while not self._stop.is_set():
            if self.clients and (len(self._waiting) >= 3 or self.rng.random() < 0.3):
                await self._edit_client(self.rng.choice(list(self.clients)))
            else:
                await self._create_client()
            await self._pause(pause)

    async def _create_client(self) -> None:
        address = f"{self.rng.randint(1, 200)} Faults Street"
        body = {
            "kind": "company",
            "name": f"Fault Matrix Client {tag()}",
            "country": "GR",
            "tax_id": random_afm(self.rng),
            "department_id": self.department_id,
            "address": address,
        }
        response = await self._call("client", "POST", "/api/v1/clients", json=body)
        if response is not None and response.status_code == 201:
            client_id = response.json()["id"]
            self.clients[client_id] = Field({address})
            self._waiting.append(client_id)

    async def _edit_client(self, client_id: str) -> None:
        address = f"{self.rng.randint(1, 200)} Recovery Avenue {tag()}"
        response = await self._call("client edit", "PATCH", f"/api/v1/clients/{client_id}", json={"address": address})
        if response is None:
            self.clients[client_id].unsure(address)
        elif response.status_code == 200:
            self.clients[client_id].accepted(address)

    # Deals -------------------------------------------------------------------------------------------
    async def _deals_lane(self, pause: float, lane: int) -> None:
        turn = lane
        while not self._stop.is_set():
            turn += 1
            unfinished = [d for d in self.deals.values() if not d.finished]
            if self._waiting and (turn % 5 == 0 or len(unfinished) < 6):
                await self._open(self._waiting.pop(0))
            elif unfinished:
                # Each lane walks its own half of the deals, so two lanes never move one deal at once.
                mine = [d for d in unfinished if int(d.id[-1], 16) % 2 == lane]
                if mine:
                    await self._act(mine[turn % len(mine)])
            await self._pause(pause)

    async def _open(self, client_id: str) -> None:
        title = f"Fault matrix deal {tag()}"
        response = await self._call(
            "open",
            "POST",
            "/api/v1/opportunities",
            json={"client_id": client_id, "line_id": self.line_id, "title": title},
        )
        if response is None or response.status_code != 201:
            # Unknown to pipeline yet (422), or refused: try again later. (An unsure opening that happened leaves a
            # deal this workload does not walk; the checks still see its events.)
            self._waiting.append(client_id)
            return
        deal = response.json()
        plan = self.rng.choice(("win", "win", "decline", "wander"))
        self.deals[deal["id"]] = Deal(
            deal["id"], client_id, plan, deal["stage"]["key"], answered=[deal["stage"]["key"]], title=Field({title})
        )

    async def _act(self, deal: Deal) -> None:
        if deal.unsure and not await self._reread(deal):
            return
        if deal.finished:
            return
        action = deal.actions[deal.step]
        if action == "issue":
            await self._issue(deal)
            return
        url = f"/api/v1/opportunities/{deal.id}/{action}"
        body: dict[str, Any]
        if action == "advance":
            body = {"from_stage": deal.stage}
        elif action == "move-back":
            body = {"from_stage": deal.stage, "reason": "Needs another look at the fleet list"}
        elif action == "accept":
            body = terms()
        else:
            body = {"reason": "The client chose another insurer"}
        response = await self._call("move", "POST", url, json=body)
        if response is None or response.status_code == 409:
            deal.unsure = True  # it may have happened (or the deal moved meanwhile): pipeline knows
            return
        if response.status_code != 200:
            return  # refused: tried again next turn
        answer = response.json()
        self._take(deal, answer)
        deal.answered.append(None if action == "decline" else deal.stage)  # a decline enters no stage
        deal.step += 1

    def _take(self, deal: Deal, answer: dict) -> None:
        deal.stage, deal.status = answer["stage"]["key"], answer["status"]
        deal.contract_id = answer.get("contract_id") or deal.contract_id

    async def _issue(self, deal: Deal) -> None:
        if deal.contract_id is None:
            deal.unsure = True
            return
        body = {"policy_number": f"FM-{tag()}-{tag()}", "issue_date": business_today()}
        response = await self._call("issue", "POST", f"/api/v1/contracts/{deal.contract_id}/issue", json=body)
        if response is None:
            deal.issue_unsure = True
            deal.unsure = True
        elif response.status_code == 200:
            deal.issued = True
            deal.step += 1
        elif response.status_code == 409:
            deal.unsure = True  # issued already (an earlier unsure try happened)
        # 404: the contract is not made yet (contracts makes it from the accepted event): tried again next turn

    async def _reread(self, deal: Deal) -> bool:
        """Where the deal is now, and so the next step of its plan."""
        try:
            got = await self.gateway.get(
                f"/api/v1/opportunities/{deal.id}", headers=self.headers, timeout=REQUEST_TIMEOUT
            )
            timeline = await self.gateway.get(
                f"/api/v1/opportunities/{deal.id}/timeline", headers=self.headers, timeout=REQUEST_TIMEOUT
            )
        except httpx.HTTPError:
            return False
        if got.status_code != 200 or timeline.status_code != 200:
            return False
        self._take(deal, got.json())
        moves = len(timeline.json()["entries"]) - 1  # the opening is the first entry
        deal.step = min(moves, len(deal.actions))
        if deal.actions[min(deal.step, len(deal.actions) - 1)] == "issue" and deal.stage == POLICY_ISSUANCE:
            deal.step = len(deal.actions) - 1
            if deal.contract_id is not None and await self._contract_issued(deal.contract_id):
                deal.step += 1
        if deal.status == "won" and deal.plan == "win":
            deal.step = len(deal.actions)
        deal.unsure = False
        return True

    async def _contract_issued(self, contract_id: str) -> bool:
        try:
            response = await self.gateway.get(
                f"/api/v1/contracts/{contract_id}", headers=self.headers, timeout=REQUEST_TIMEOUT
            )
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.json()["status"] in ("issued", "active")

    # Edits -------------------------------------------------------------------------------------------
    async def _edits_lane(self, pause: float) -> None:
        while not self._stop.is_set():
            open_deals = [d for d in self.deals.values() if d.status == "open" and not d.unsure]
            if open_deals:
                deal = self.rng.choice(open_deals)
                if self.rng.random() < 0.5:
                    await self._edit_deal(deal)
                else:
                    await self._edit_task(deal)
            await self._pause(pause)

    async def _edit_deal(self, deal: Deal) -> None:
        title = f"Fault matrix deal {tag()} (renamed)"
        response = await self._call("deal edit", "PATCH", f"/api/v1/opportunities/{deal.id}", json={"title": title})
        if response is None:
            deal.title.unsure(title)
        elif response.status_code == 200:
            deal.title.accepted(title)

    async def _edit_task(self, deal: Deal) -> None:
        try:
            response = await self.gateway.get(
                "/api/v1/tasks",
                params={"opportunity_id": deal.id, "active": "true"},
                headers=self.headers,
                timeout=REQUEST_TIMEOUT,
            )
        except httpx.HTTPError:
            return
        if response.status_code != 200 or not response.json()["items"]:
            return
        task = response.json()["items"][0]
        description = f"Checked during the fault matrix {tag()}"
        answer = await self._call(
            "task edit", "PATCH", f"/api/v1/tasks/{task['id']}", json={"description": description}
        )
        held = self.tasks.setdefault(task["id"], Field({task.get("description")}))
        if answer is None:
            held.unsure(description)
        elif answer.status_code == 200:
            held.accepted(description)

    # Running -----------------------------------------------------------------------------------------
    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    def start(self, *, pause: float = 0.2) -> None:
        self._stop.clear()
        self._lanes = [
            asyncio.create_task(self._clients_lane(pause * 2), name="clients-lane"),
            asyncio.create_task(self._deals_lane(pause, 0), name="deals-lane-0"),
            asyncio.create_task(self._deals_lane(pause, 1), name="deals-lane-1"),
            asyncio.create_task(self._edits_lane(pause * 2), name="edits-lane"),
        ]

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._lanes)

    async def settle(self) -> None:
        """After the fault: read again every deal whose last answer was lost, so its final state is known."""
        for deal in self.deals.values():
            if deal.unsure:
                await self._reread(deal)
