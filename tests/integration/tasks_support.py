"""Helpers for the tasks service's tests: a fresh department with members (made through the gateway as
Admin, then awaited in the tasks service's identity replica) and pipeline events to drive routing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import httpx

from shared.contracts.pipeline import (
    STAGE_KEYS,
    OpportunityDeclined,
    OpportunityOpened,
    StageAdvanced,
    StageRef,
)
from tests.conftest import internal_headers, login, run_job, wait_until

PASSWORD = "qa-tasks-password"
STAGE_NAMES = {key: key.replace("_", " ").title() for key in STAGE_KEYS}


@dataclass
class Person:
    id: str
    email: str
    role: str
    name: str

    async def headers(self, gateway: httpx.AsyncClient) -> dict[str, str]:
        return {"Authorization": f"Bearer {await login(gateway, self.email, PASSWORD)}"}


@dataclass
class Team:
    department_id: str
    name: str
    manager: Person | None
    employees: list[Person] = field(default_factory=list)

    @property
    def members(self) -> list[Person]:
        return self.employees + ([self.manager] if self.manager else [])

    @property
    def member_ids_sorted(self) -> list[str]:
        return sorted((p.id for p in self.members), key=uuid.UUID)


async def make_team(
    gateway: httpx.AsyncClient,
    admin_headers: dict,
    *,
    employees: int = 2,
    manager: bool = True,
    label: str = "QA tasks",
) -> Team:
    tag = uuid.uuid4().hex[:8]
    name = f"{label} {tag}"
    response = await gateway.post("/api/v1/departments", json={"name": name}, headers=admin_headers)
    assert response.status_code == 201, response.text
    department_id = response.json()["id"]

    async def person(role: str, i: int) -> Person:
        email = f"qa.{tag}.{role.lower()}{i}@tasks.insureops.example.com"
        body = {
            "name": f"{role} {i} of {name}",
            "email": email,
            "password": PASSWORD,
            "role": role,
            "department_id": department_id,
        }
        created = await gateway.post("/api/v1/users", json=body, headers=admin_headers)
        assert created.status_code == 201, created.text
        return Person(created.json()["id"], email, role, body["name"])

    team = Team(department_id, name, None, [await person("Employee", i) for i in range(employees)])
    if manager:
        team.manager = await person("Manager", 0)
        patched = await gateway.patch(
            f"/api/v1/departments/{department_id}", json={"manager_id": team.manager.id}, headers=admin_headers
        )
        assert patched.status_code == 200, patched.text

    wanted = {p.id for p in team.members}

    async def replica_knows_them():
        r = await gateway.get("/api/v1/workload", params={"department_id": department_id}, headers=admin_headers)
        if r.status_code != 200:
            return False
        body = r.json()
        return {m["user_id"] for m in body["members"]} == wanted and body["manager_id"] == (
            team.manager.id if team.manager else None
        )

    await wait_until(replica_knows_them, timeout=30, what=f"the tasks service to know {name}")
    return team


def stage(key: str, department_id: str | None, sla_hours: float) -> StageRef:
    return StageRef(
        key=key,
        name=STAGE_NAMES[key],
        position=STAGE_KEYS.index(key) + 1,
        department_id=department_id,
        sla_hours=sla_hours,
    )


@dataclass
class Deal:
    opportunity_id: uuid.UUID = field(default_factory=uuid.uuid4)
    client_id: uuid.UUID = field(default_factory=uuid.uuid4)
    line_id: uuid.UUID = field(default_factory=uuid.uuid4)
    owner_id: uuid.UUID | None = None
    title: str = "QA deal"

    # `version` is pipeline's opportunity_version; None makes the event one from before versions were added.
    def opened(
        self, first: StageRef, department_id: str | None = None, *, version: int | None = None
    ) -> OpportunityOpened:
        return OpportunityOpened(
            opportunity_id=self.opportunity_id,
            client_id=self.client_id,
            line_id=self.line_id,
            line_name="Marine",
            title=self.title,
            expected_premium=Decimal("1200.00"),
            currency="EUR",
            notes=None,
            owner_id=self.owner_id,
            department_id=department_id,
            stage=first,
            opportunity_version=version,
        )

    def advanced(
        self,
        from_stage: StageRef,
        to_stage: StageRef,
        *,
        direction: str = "forward",
        status: str = "open",
        reason: str | None = None,
        version: int | None = None,
    ) -> StageAdvanced:
        return StageAdvanced(
            opportunity_id=self.opportunity_id,
            client_id=self.client_id,
            line_id=self.line_id,
            owner_id=self.owner_id or uuid.uuid4(),
            from_stage=from_stage,
            to_stage=to_stage,
            direction=direction,
            reason=reason,
            seconds_in_stage=60.0,
            status=status,
            title=self.title,
            line_name="Marine",
            opportunity_version=version,
        )

    def declined(self, at: StageRef, *, version: int | None = None) -> OpportunityDeclined:
        return OpportunityDeclined(
            opportunity_id=self.opportunity_id,
            client_id=self.client_id,
            line_id=self.line_id,
            owner_id=self.owner_id or uuid.uuid4(),
            department_id=None,
            stage=at,
            reason="premium too high",
            title=self.title,
            opportunity_version=version,
        )


async def deal_tasks(gateway: httpx.AsyncClient, headers: dict, opportunity_id) -> list[dict]:
    response = await gateway.get(
        "/api/v1/tasks", params={"opportunity_id": str(opportunity_id), "limit": 200, "sort": "number"}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def get_task(gateway: httpx.AsyncClient, headers: dict, task_id: str) -> dict:
    response = await gateway.get(f"/api/v1/tasks/{task_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def tasks_now(stack) -> datetime:
    async with httpx.AsyncClient(timeout=10, headers=await internal_headers(stack)) as client:
        return parse_time((await client.get(f"{stack.service_url('tasks')}/internal/clock")).json()["now"])


async def move_tasks_clock_to(stack, move_clock, target: datetime) -> None:
    """Move the tasks service's clock so that its now is `target` (give or take the call's duration)."""
    await move_clock(target - await tasks_now(stack), services=["tasks"])


async def run_tasks_job(stack, job: str) -> dict:
    """Run a watch now; if the periodic loop holds its lock this instant, try again until a round ran."""

    async def ran():
        report = await run_job(stack, "tasks", job)
        return report if report["ran"] else None

    return await wait_until(ran, timeout=20, interval=0.2, what=f"a round of {job}")


async def audit_records(
    gateway: httpx.AsyncClient, admin_headers: dict, aggregate_id: str, event_type: str | None = None
) -> list[dict]:
    params = {"aggregate_id": aggregate_id, "order": "asc", "limit": 500}
    if event_type:
        params["event_type"] = event_type
    response = await gateway.get("/api/v1/audit/records", params=params, headers=admin_headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


async def routing_is_live(
    gateway: httpx.AsyncClient, admin_headers: dict, publish_event, *, timeout: float = 60
) -> None:
    """Wait until the router consumes (after a fresh start its consumer group may still be forming), with a
    probe deal whose task touches no test department."""
    probe = Deal(owner_id=uuid.uuid4(), title="routing probe")
    await publish_event(probe.opened(stage("first_contact", None, 1)), subject=str(probe.opportunity_id))
    await wait_until(
        lambda: deal_tasks(gateway, admin_headers, probe.opportunity_id),
        timeout=timeout,
        what="the router to consume a probe event",
    )
