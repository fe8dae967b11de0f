"""Client 360 at the gateway: the client, its place in the hierarchy, contracts, deals, open tasks, documents and
latest history in one answer. The clients service decides whether the caller sees the client at all."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from services.gateway.answers import (
    PARTIAL_ANSWERS,
    PROBLEMS,
    Complete,
    MissingParts,
    Upstream,
    composed_fields,
    upstream,
)
from services.gateway.parts import Composer, PartCall
from shared.auth import Principal, current_user
from shared.errors import NotFound, ServiceUnavailable


class Hierarchy(BaseModel):
    ancestors: list[Annotated[Upstream, upstream("clients", "TreeNode", "a client above, nearest first")]] | None = (
        Field(description="The parent, its parent, ... up to the root (nearest first); null if missing")
    )
    children: (
        Annotated[Upstream, upstream("clients", "Page_ClientOut_", "the direct subsidiaries (first page, with total)")]
        | None
    )
    subtree: (
        Annotated[Upstream, upstream("clients", "Rollup", "the whole subtree: clients, active contracts, premium")]
        | None
    )


class Client360(BaseModel):
    client_id: uuid.UUID
    client: Annotated[Upstream, upstream("clients", "ClientOut", "the client's profile and status")] | None
    hierarchy: Hierarchy
    contracts: (
        Annotated[Upstream, upstream("contracts", "Page_ContractOut_", "the client's contracts, newest first")] | None
    )
    opportunities: (
        Annotated[Upstream, upstream("pipeline", "Page_OpportunityOut_", "the client's deals, newest first")] | None
    )
    open_tasks: Annotated[Upstream, upstream("tasks", "Page_TaskOut_", "the client's open tasks, at-risk first")] | None
    documents: (
        Annotated[
            Upstream,
            upstream(
                "documents",
                "Page_DocumentOut_",
                "the documents of the client and of its deals, tasks and contracts the caller may see, newest first",
            ),
        ]
        | None
    )
    history: (
        Annotated[
            Upstream,
            upstream(
                "audit",
                "AuditPage",
                "the client's latest audit records, newest first: the client, its "
                "deals, tasks and contracts (older ones: `GET /api/v1/audit/records?"
                "client_id=...&cursor=<next_cursor>`; Managers and Admins only)",
            ),
        ]
        | None
    )
    missing: MissingParts
    complete: Complete
    generated_at: datetime


def add_client_360(router: APIRouter, composer: Composer) -> None:
    """Add `GET /api/v1/clients/{client_id}/360` to `router`."""
    page, gather = composer.page, composer.gather

    @router.get(
        "/api/v1/clients/{client_id}/360",
        response_model=Client360,
        responses={
            404: PROBLEMS[404],
            503: {
                "description": "The clients service, which decides whether the caller "
                "sees the client, did not answer in time (problem+json)"
            },
        },
        summary="Client 360: the client, its place in the hierarchy, contracts, deals, open tasks, documents "
        "and latest history in one answer; parts that are slow or down are listed in `missing`",
        description=PARTIAL_ANSWERS + "\n\nThe clients service decides whether the caller may see the "
        "client at all: its 404 (no such client, or outside the caller's scope) makes the whole answer 404. "
        "If the clients service does not answer (down, or slower than the deadline), the answer is a 503 "
        "problem with Retry-After: without the client's owner nobody can say whether the caller may see "
        "the rest. The history (audit) is for Managers and Admins; for an Employee it is missing as "
        "`forbidden`.",
    )
    async def client_360(client_id: uuid.UUID, request: Request, caller: Principal = Depends(current_user)):
        cid = str(client_id)
        calls = [
            PartCall("client", "clients", f"/api/v1/clients/{cid}"),
            PartCall("ancestors", "clients", f"/api/v1/clients/{cid}/ancestors"),
            PartCall("children", "clients", "/api/v1/clients", page(parent_id=cid, sort="name")),
            PartCall("subtree", "clients", f"/api/v1/clients/{cid}/rollup"),
            PartCall("contracts", "contracts", "/api/v1/contracts", page(client_id=cid)),
            PartCall("opportunities", "pipeline", "/api/v1/opportunities", page(client_id=cid)),
            PartCall("open_tasks", "tasks", "/api/v1/tasks", page(client_id=cid, active="true", sort="risk")),
            PartCall("documents", "documents", "/api/v1/documents", page(client_id=cid)),
            # The client's history (the client, its deals, tasks and contracts), newest first: the latest N.
            PartCall("history", "audit", "/api/v1/audit/records", page(client_id=cid, order="desc")),
        ]
        # The client's owner decides whether the caller may see it at all: without its answer there is none.
        outcome = await gather(request, calls, decisive=lambda call, failure: call.name == "client")
        if "client" not in outcome.parts:
            failure = outcome.stopped_by or next(m for m in outcome.missing if m.part == "client")
            if failure.status == 404:
                raise NotFound(f"no client {cid}")
            raise ServiceUnavailable(
                f"the clients service, which decides who may see client {cid}, did not answer "
                f"({failure.reason}); try again shortly",
                headers={"Retry-After": "2"},
            )
        parts = outcome.parts
        return Client360(
            client_id=client_id,
            client=parts.get("client"),
            hierarchy=Hierarchy(
                ancestors=parts.get("ancestors"), children=parts.get("children"), subtree=parts.get("subtree")
            ),
            contracts=parts.get("contracts"),
            opportunities=parts.get("opportunities"),
            open_tasks=parts.get("open_tasks"),
            documents=parts.get("documents"),
            history=parts.get("history"),
            **composed_fields(outcome),
        )
