"""The clients HTTP API. Thin: rules live in service.py, queries in repository.py."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, status

from services.clients import access, service
from services.clients import repository as repo
from services.clients.schemas import (
    ClientCreate,
    ClientKind,
    ClientOut,
    ClientStatus,
    ClientUpdate,
    CurrencyTotal,
    Rollup,
    TreeNode,
)
from shared.auth import Principal
from shared.db import TransactionalRoute
from shared.endpoints import Caller, Manager, Session, problems
from shared.errors import InvalidInput
from shared.pagination import Page, PageParams, page_params

PROBLEMS = problems()

router = APIRouter(route_class=TransactionalRoute, tags=["clients"], responses={401: PROBLEMS[401], 422: PROBLEMS[422]})


@router.get(
    "/api/v1/clients",
    response_model=Page[ClientOut],
    summary="Search and list clients (Admin: all; others: their department)",
)
async def list_clients(
    request: Request,
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Matches the name (fuzzy), email, phone or tax id. Without `sort`, best matches come first.",
        ),
    ] = None,
    status_: Annotated[ClientStatus | None, Query(alias="status")] = None,
    kind: ClientKind | None = None,
    department_id: uuid.UUID | None = None,
    parent_id: Annotated[uuid.UUID | None, Query(description="Children of this client")] = None,
    root: Annotated[bool, Query(description="Only clients without a parent")] = False,
    include_archived: bool = False,
):
    if access.sees_no_client(caller):
        return Page(items=[], total=0, limit=page.limit, offset=page.offset)
    filters = repo.ClientFilters(
        q=q.strip() if q else None,
        status=status_,
        kind=kind,
        department_id=department_id,
        parent_id=parent_id,
        root_only=root,
        include_archived=include_archived,
    )
    items, total = await repo.list_clients(
        session,
        page,
        filters,
        caller=caller,
        similarity_threshold=request.app.state.settings.search_similarity_threshold,
    )
    return Page(items=[ClientOut.model_validate(c) for c in items], total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/api/v1/clients",
    response_model=ClientOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a client (Employee and Manager: in their department; Admin: any)",
    responses={403: PROBLEMS[403], 409: PROBLEMS[409]},
)
async def create_client(body: ClientCreate, session: Session, caller: Caller):
    return ClientOut.model_validate(await service.create_client(session, body, caller))


@router.get(
    "/api/v1/clients/{client_id}", response_model=ClientOut, summary="One client", responses={404: PROBLEMS[404]}
)
async def get_client(client_id: uuid.UUID, session: Session, caller: Caller):
    return ClientOut.model_validate(await service.get_visible(session, client_id, caller))


@router.patch(
    "/api/v1/clients/{client_id}",
    response_model=ClientOut,
    summary="Change a profile or move the client in the tree (`parent_id`; a cycle is refused)",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def update_client(client_id: uuid.UUID, body: ClientUpdate, session: Session, caller: Caller):
    return ClientOut.model_validate(await service.update_client(session, client_id, body, caller))


@router.delete(
    "/api/v1/clients/{client_id}",
    response_model=ClientOut,
    summary="Archive a client without active contracts or live subsidiaries (Manager, Admin)",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def archive_client(client_id: uuid.UUID, session: Session, caller: Manager):
    return ClientOut.model_validate(await service.archive_client(session, client_id, caller))


def _visible_nodes(caller: Principal, nodes) -> list[TreeNode]:
    return [
        TreeNode.model_validate({**ClientOut.model_validate(c).model_dump(), "depth": depth})
        for c, depth in nodes
        if access.can_see(caller, c)
    ]


@router.get(
    "/api/v1/clients/{client_id}/ancestors",
    response_model=list[TreeNode],
    summary="The parent, its parent, ... up to the root (nearest first)",
    responses={404: PROBLEMS[404]},
)
async def ancestors(client_id: uuid.UUID, session: Session, caller: Caller):
    await service.get_visible(session, client_id, caller)
    return _visible_nodes(caller, await repo.ancestors(session, client_id))


@router.get(
    "/api/v1/clients/{client_id}/subtree",
    response_model=list[TreeNode],
    summary="The client and everything below it, breadth first, each with its depth and parent",
    responses={404: PROBLEMS[404]},
)
async def subtree(client_id: uuid.UUID, session: Session, caller: Caller):
    await service.get_visible(session, client_id, caller)
    return _visible_nodes(caller, await repo.subtree(session, client_id))


@router.get(
    "/api/v1/clients/{client_id}/rollup",
    response_model=Rollup,
    summary="Over the subtree as the caller sees it (subsidiaries out of their scope left out): clients, active "
    "contracts, and annual premium per currency",
    responses={404: PROBLEMS[404]},
)
async def rollup(client_id: uuid.UUID, session: Session, caller: Caller):
    await service.get_visible(session, client_id, caller)
    clients, per_currency = await repo.subtree_rollup(session, client_id, caller)
    if clients == 0:
        raise InvalidInput.for_field("path.client_id", "no such client")
    totals = [CurrencyTotal(currency=cur, active_contracts=n, annual_premium=total) for cur, n, total in per_currency]
    return Rollup(
        client_id=client_id,
        clients=clients,
        active_contracts=sum(t.active_contracts for t in totals),
        premium_by_currency=totals,
    )
