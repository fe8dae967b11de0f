"""The role-aware dashboard at the gateway: an Employee's open tasks and deals; a Manager's team load,
overloaded members, escalations and own items; an Admin's service health and counts."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services.gateway.answers import PARTIAL_ANSWERS, Complete, MissingParts, Upstream, composed_fields, upstream
from services.gateway.parts import Composer, PartCall
from services.gateway.upstream import service_health
from shared.auth import Principal, current_user


class DashboardUser(BaseModel):
    id: uuid.UUID
    name: str
    email: str
    role: Literal["Employee", "Manager", "Admin"]
    department_id: uuid.UUID | None


TaskPage = Annotated[
    Upstream, upstream("tasks", "Page_TaskOut_", "tasks, at-risk first (red, yellow, green, then due time)")
]
DealPage = Annotated[Upstream, upstream("pipeline", "Page_OpportunityOut_", "open deals")]


class EmployeeDashboard(BaseModel):
    role: Literal["Employee"]
    user: DashboardUser
    my_tasks: TaskPage | None = Field(description="Open tasks assigned to me, at-risk first")
    my_deals: DealPage | None = Field(description="Open deals I own")
    missing: MissingParts
    complete: Complete
    generated_at: datetime


class ManagerDashboard(BaseModel):
    role: Literal["Manager"]
    user: DashboardUser
    team: (
        Annotated[Upstream, upstream("tasks", "WorkloadOut", "each active member's open tasks and weighted load")]
        | None
    ) = Field(description="My department's load")
    overloaded: (
        list[Annotated[Upstream, upstream("tasks", "MemberLoad", "a member over the load threshold")]] | None
    ) = Field(description="Members of my department whose open load exceeds the threshold (from `team`)")
    escalations: TaskPage | None = Field(description="Open tasks of my department escalated to a manager")
    my_tasks: TaskPage | None = Field(description="Open tasks assigned to me, at-risk first")
    my_deals: DealPage | None = Field(description="Open deals I own")
    missing: MissingParts
    complete: Complete
    generated_at: datetime


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    gateway: str
    services: dict[str, dict[str, Any]] = Field(description="Each service's readiness: status and checks")


class Counts(BaseModel):
    users: int | None
    clients: int | None
    open_deals: int | None
    open_tasks: int | None
    escalated_tasks: int | None
    active_contracts: int | None


class AdminDashboard(BaseModel):
    role: Literal["Admin"]
    user: DashboardUser
    health: Health | None = Field(description="Every service's readiness, as at `/healthz`")
    counts: Counts = Field(description="How much there is; a count is null when its service did not answer")
    missing: MissingParts
    complete: Complete
    generated_at: datetime


Dashboard = Annotated[EmployeeDashboard | ManagerDashboard | AdminDashboard, Field(discriminator="role")]

# (count name, service, path, filters) of the Admin's counts: each the `total` of a one-item page.
ADMIN_COUNTS: tuple[tuple[str, str, str, tuple[tuple[str, str], ...]], ...] = (
    ("users", "identity", "/api/v1/users", ()),
    ("clients", "clients", "/api/v1/clients", ()),
    ("open_deals", "pipeline", "/api/v1/opportunities", (("status", "open"),)),
    ("open_tasks", "tasks", "/api/v1/tasks", (("active", "true"),)),
    ("escalated_tasks", "tasks", "/api/v1/tasks", (("active", "true"), ("escalated", "true"))),
    ("active_contracts", "contracts", "/api/v1/contracts", (("status", "active"),)),
)


def add_dashboard(router: APIRouter, composer: Composer) -> None:
    """Add `GET /api/v1/dashboard` to `router`."""
    page, gather, settings = composer.page, composer.gather, composer.settings

    @router.get(
        "/api/v1/dashboard",
        response_model=Dashboard,
        summary="The caller's dashboard, by role: an Employee's open tasks (at-risk first) and deals; a "
        "Manager's team load, overloaded members, escalations and own items; an Admin's service "
        "health and counts. Parts that are slow or down are listed in `missing`",
        description=PARTIAL_ANSWERS + "\n\n`role` says which of the three shapes the answer has.",
    )
    async def dashboard(request: Request, caller: Principal = Depends(current_user)):
        me = str(caller.user_id)
        user = DashboardUser(
            id=caller.user_id,
            name=caller.name,
            email=caller.email,
            role=caller.role,
            department_id=caller.department_id,
        )
        own_items = [
            PartCall("my_tasks", "tasks", "/api/v1/tasks", page(assignee="me", active="true", sort="risk")),
            PartCall("my_deals", "pipeline", "/api/v1/opportunities", page(owner_id=me, status="open")),
        ]
        if caller.role == "Employee":
            outcome = await gather(request, own_items)
            return EmployeeDashboard(
                role="Employee",
                user=user,
                my_tasks=outcome.parts.get("my_tasks"),
                my_deals=outcome.parts.get("my_deals"),
                **composed_fields(outcome),
            )
        if caller.role == "Manager":
            department = {"department_id": str(caller.department_id)} if caller.department_id else {}
            outcome = await gather(
                request,
                [
                    PartCall("team", "tasks", "/api/v1/workload", tuple(department.items())),
                    PartCall(
                        "escalations",
                        "tasks",
                        "/api/v1/tasks",
                        page(escalated="true", active="true", sort="risk", **department),
                    ),
                    *own_items,
                ],
            )
            team = outcome.parts.get("team")
            overloaded = None
            if isinstance(team, dict):
                overloaded = [m for m in team.get("members", []) if isinstance(m, dict) and m.get("overloaded")]
            return ManagerDashboard(
                role="Manager",
                user=user,
                team=team,
                overloaded=overloaded,
                escalations=outcome.parts.get("escalations"),
                my_tasks=outcome.parts.get("my_tasks"),
                my_deals=outcome.parts.get("my_deals"),
                **composed_fields(outcome),
            )

        async def health() -> dict:
            return await service_health(
                request.app.state.upstream,
                composer.upstreams,
                min(settings.health_timeout_seconds, settings.compose_part_timeout_seconds),
            )

        calls = [PartCall("health", "gateway", run=health)]
        calls += [
            PartCall(f"counts.{name}", service, path, (*filters, ("limit", "1")))
            for name, service, path, filters in ADMIN_COUNTS
        ]
        outcome = await gather(request, calls)
        counts = {name: _total(outcome.parts.get(f"counts.{name}")) for name, *_ in ADMIN_COUNTS}
        return AdminDashboard(
            role="Admin",
            user=user,
            health=outcome.parts.get("health"),
            counts=Counts(**counts),
            **composed_fields(outcome),
        )


def _total(page: Any) -> int | None:
    total = page.get("total") if isinstance(page, dict) else None
    return total if isinstance(total, int) else None
