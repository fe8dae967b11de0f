"""Pipeline's HTTP API: insurance lines, stages, opportunities and their moves, the board and analytics.
Thin: rules live in service.py and rules.py, queries in repository.py."""

from __future__ import annotations

import itertools
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, status
from fastapi.responses import StreamingResponse

from services.pipeline import access, checklists, rules, service
from services.pipeline import repository as repo
from services.pipeline.board_stream import board_stream
from services.pipeline.schemas import (
    AdvanceBody,
    Analytics,
    Board,
    BoardColumn,
    Conversion,
    DealChecklist,
    DeclineBody,
    LineCreate,
    LineOut,
    LineUpdate,
    MoneyTotal,
    MoveBackBody,
    OpportunityCreate,
    OpportunityOut,
    OpportunityUpdate,
    RequirementState,
    SlaState,
    StageOut,
    StageTime,
    StageUpdate,
    Status,
    TermsIn,
    Timeline,
    TimelineEntry,
    WinRate,
)
from shared import clock
from shared.auth import bearer_token, token_expiry
from shared.db import TransactionalRoute
from shared.endpoints import Admin, Caller, Session, problems
from shared.errors import NotFound
from shared.pagination import Page, PageParams, page_params
from shared.sse import MEDIA_TYPE
from shared.streams import LiveStreamResponse, until_revoked

PROBLEMS = problems(s409="Not possible in the deal's current state, or the deal moved meanwhile (problem+json)")
MOVE_PROBLEMS: dict[int | str, dict[str, Any]] = {404: PROBLEMS[404], 409: PROBLEMS[409]}

router = APIRouter(route_class=TransactionalRoute, responses={401: PROBLEMS[401], 422: PROBLEMS[422]})
# The board's stream is long-lived: it runs no request transaction.
stream_router = APIRouter(responses={401: PROBLEMS[401]})


def _share(request: Request) -> float:
    return request.app.state.settings.sla_at_risk_share


# Lines -------------------------------------------------------------------------------------------
@router.get(
    "/api/v1/lines",
    response_model=Page[LineOut],
    tags=["lines"],
    summary="The insurance lines, a page at a time like every list (sorted by name unless `sort` says otherwise)",
)
async def list_lines(session: Session, _: Caller, page: Annotated[PageParams, Depends(page_params)]):
    items, total = await repo.line_page(session, page)
    return Page(items=[LineOut.model_validate(x) for x in items], total=total, limit=page.limit, offset=page.offset)


@router.post(
    "/api/v1/lines",
    response_model=LineOut,
    status_code=status.HTTP_201_CREATED,
    tags=["lines"],
    summary="Add an insurance line (Admin)",
    responses={403: PROBLEMS[403], 409: PROBLEMS[409]},
)
async def create_line(body: LineCreate, session: Session, admin: Admin):
    return LineOut.model_validate(await service.create_line(session, body))


@router.get(
    "/api/v1/lines/{line_id}",
    response_model=LineOut,
    tags=["lines"],
    summary="One insurance line",
    responses={404: PROBLEMS[404]},
)
async def get_line(line_id: uuid.UUID, session: Session, _: Caller):
    line = await repo.get_line(session, line_id)
    if line is None:
        raise NotFound(f"no insurance line {line_id}")
    return LineOut.model_validate(line)


@router.patch(
    "/api/v1/lines/{line_id}",
    response_model=LineOut,
    tags=["lines"],
    summary="Rename a line, change its primary specialist or department (Admin)",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404], 409: PROBLEMS[409]},
)
async def update_line(line_id: uuid.UUID, body: LineUpdate, session: Session, admin: Admin):
    return LineOut.model_validate(await service.update_line(session, line_id, body))


# Stages ------------------------------------------------------------------------------------------
@router.get(
    "/api/v1/stages",
    response_model=Page[StageOut],
    tags=["stages"],
    summary="The stages in board order (`position`), a page at a time like every list",
)
async def list_stages(session: Session, _: Caller, page: Annotated[PageParams, Depends(page_params)]):
    items, total = await repo.stage_page(session, page)
    return Page(items=[StageOut.model_validate(x) for x in items], total=total, limit=page.limit, offset=page.offset)


@router.patch(
    "/api/v1/stages/{key}",
    response_model=StageOut,
    tags=["stages"],
    summary="Change a stage: name, position, SLA target (working hours), department (Admin)",
    responses={403: PROBLEMS[403], 404: PROBLEMS[404]},
)
async def update_stage(key: str, body: StageUpdate, session: Session, admin: Admin):
    return StageOut.model_validate(await service.update_stage(session, key, body))


# Opportunities -----------------------------------------------------------------------------------
@router.post(
    "/api/v1/opportunities",
    response_model=OpportunityOut,
    status_code=status.HTTP_201_CREATED,
    tags=["opportunities"],
    responses={409: PROBLEMS[409]},
    summary="Open a deal at the first stage for a client the caller may see; the line's primary specialist owns it",
)
async def open_opportunity(body: OpportunityCreate, request: Request, session: Session, caller: Caller):
    opp = await service.open_opportunity(
        session,
        body,
        viewer=access.viewer_of(caller),
        client_wait_seconds=request.app.state.settings.client_wait_seconds,
    )
    # The caller opened it, so they get it back even if it lies outside what they may list later.
    return await service.visible_opportunity(
        session, opp.id, access.Viewer(caller.user_id, "Admin", None), at_risk_share=_share(request)
    )


@router.get(
    "/api/v1/opportunities",
    response_model=Page[OpportunityOut],
    tags=["opportunities"],
    summary="Deals the caller may see, filtered, sorted and paged",
)
async def list_opportunities(
    request: Request,
    session: Session,
    caller: Caller,
    page: Annotated[PageParams, Depends(page_params)],
    stage: Annotated[str | None, Query(max_length=40, description="Stage key")] = None,
    owner_id: uuid.UUID | None = None,
    line_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    client_id: uuid.UUID | None = None,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    sla_state: Annotated[
        SlaState | None,
        Query(description="Wall-clock time in the current stage against its SLA target; only open deals have one"),
    ] = None,
):
    filters = repo.OpportunityFilters(
        stage=stage,
        owner_id=owner_id,
        line_id=line_id,
        department_id=department_id,
        client_id=client_id,
        status=status_,
        sla_state=sla_state,
        now=clock.now(),
        at_risk_share=_share(request),
    )
    rows, total = await repo.list_opportunities(session, access.viewer_of(caller), page, filters=filters)
    share = _share(request)
    return Page(
        items=[service.opportunity_out(*row, at_risk_share=share) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get(
    "/api/v1/opportunities/{opportunity_id}",
    response_model=OpportunityOut,
    tags=["opportunities"],
    summary="One deal",
    responses={404: PROBLEMS[404]},
)
async def get_opportunity(opportunity_id: uuid.UUID, request: Request, session: Session, caller: Caller):
    return await service.visible_opportunity(
        session, opportunity_id, access.viewer_of(caller), at_risk_share=_share(request)
    )


@router.get(
    "/api/v1/opportunities/{opportunity_id}/checklist",
    response_model=DealChecklist,
    tags=["opportunities"],
    summary="The deal's checklist for its current stage: each required document, present or missing",
    responses={404: PROBLEMS[404]},
)
async def get_checklist(opportunity_id: uuid.UUID, request: Request, session: Session, caller: Caller):
    deal = await service.visible_opportunity(
        session, opportunity_id, access.viewer_of(caller), at_risk_share=_share(request)
    )
    state = await checklists.state(session, opportunity_id, deal.stage.key)
    return DealChecklist(
        opportunity_id=opportunity_id,
        stage_key=state.stage_key,
        auto_advance=state.auto_advance,
        complete=state.complete,
        requirements=[
            RequirementState(
                document_types=types,
                present=bool(ids := [i for t in types for i in state.present.get(t, [])]),
                document_ids=ids,
            )
            for types in state.requirements
        ],
        missing=state.missing,
    )


@router.patch(
    "/api/v1/opportunities/{opportunity_id}",
    response_model=OpportunityOut,
    tags=["opportunities"],
    summary="Change title, expected premium, notes; reassign the owner (Manager or Admin)",
    responses={403: PROBLEMS[403], **MOVE_PROBLEMS},
)
async def update_opportunity(
    opportunity_id: uuid.UUID, body: OpportunityUpdate, request: Request, session: Session, caller: Caller
):
    deal = await service.update_opportunity(session, opportunity_id, body, caller)
    return deal.out(at_risk_share=_share(request))


@router.post(
    "/api/v1/opportunities/{opportunity_id}/advance",
    response_model=OpportunityOut,
    tags=["opportunities"],
    responses=MOVE_PROBLEMS,
    summary="Move the deal to the next stage (not from Client Decision or Policy Issuance); an Employee only once "
    "the stage's required documents are present",
)
async def advance(
    opportunity_id: uuid.UUID,
    request: Request,
    session: Session,
    caller: Caller,
    body: Annotated[AdvanceBody | None, Body()] = None,
):
    deal = await service.move(
        session,
        opportunity_id,
        "advance",
        viewer=access.viewer_of(caller),
        from_stage=body.from_stage if body else None,
        reason=body.reason if body else None,
    )
    # The mover gets the result even if the deal has now left their scope (e.g. into another department's stage).
    return deal.out(at_risk_share=_share(request))


@router.post(
    "/api/v1/opportunities/{opportunity_id}/move-back",
    response_model=OpportunityOut,
    tags=["opportunities"],
    responses=MOVE_PROBLEMS,
    summary="Move the deal one stage back, with a reason",
)
async def move_back(opportunity_id: uuid.UUID, body: MoveBackBody, request: Request, session: Session, caller: Caller):
    deal = await service.move(
        session,
        opportunity_id,
        "move_back",
        viewer=access.viewer_of(caller),
        from_stage=body.from_stage,
        reason=body.reason,
    )
    # The mover gets the result even if the deal has now left their scope (e.g. into another department's stage).
    return deal.out(at_risk_share=_share(request))


@router.post(
    "/api/v1/opportunities/{opportunity_id}/accept",
    response_model=OpportunityOut,
    tags=["opportunities"],
    responses=MOVE_PROBLEMS,
    summary="The client accepted (at Client Decision): record the terms, move to Policy Issuance",
)
async def accept(opportunity_id: uuid.UUID, body: TermsIn, request: Request, session: Session, caller: Caller):
    deal = await service.move(session, opportunity_id, "accept", viewer=access.viewer_of(caller), terms=body)
    # The mover gets the result even if the deal has now left their scope (e.g. into another department's stage).
    return deal.out(at_risk_share=_share(request))


@router.post(
    "/api/v1/opportunities/{opportunity_id}/decline",
    response_model=OpportunityOut,
    tags=["opportunities"],
    responses=MOVE_PROBLEMS,
    summary="The client declined (at Client Decision): close the deal as lost and archive it",
)
async def decline(opportunity_id: uuid.UUID, body: DeclineBody, request: Request, session: Session, caller: Caller):
    deal = await service.move(session, opportunity_id, "decline", viewer=access.viewer_of(caller), reason=body.reason)
    # The mover gets the result even if the deal has now left their scope (e.g. into another department's stage).
    return deal.out(at_risk_share=_share(request))


@router.post(
    "/api/v1/opportunities/{opportunity_id}/complete",
    response_model=OpportunityOut,
    tags=["opportunities"],
    responses=MOVE_PROBLEMS,
    summary="Mark the policy issued (at Policy Issuance): the deal reaches Completion and is won",
)
async def complete(opportunity_id: uuid.UUID, request: Request, session: Session, caller: Caller):
    deal = await service.move(session, opportunity_id, "complete", viewer=access.viewer_of(caller))
    # The mover gets the result even if the deal has now left their scope (e.g. into another department's stage).
    return deal.out(at_risk_share=_share(request))


@router.get(
    "/api/v1/opportunities/{opportunity_id}/timeline",
    response_model=Timeline,
    tags=["opportunities"],
    summary="Every move of the deal: from, to, who, when, time spent in the stage left, reason",
    responses={404: PROBLEMS[404]},
)
async def timeline(opportunity_id: uuid.UUID, request: Request, session: Session, caller: Caller):
    await service.visible_opportunity(session, opportunity_id, access.viewer_of(caller), at_risk_share=_share(request))
    names = {s.key: s.name for s in await repo.stages(session)}
    entries = [
        TimelineEntry(
            id=m.id,
            kind=m.kind,
            from_stage=m.from_stage,
            from_stage_name=names.get(m.from_stage) if m.from_stage else None,
            to_stage=m.to_stage,
            to_stage_name=names.get(m.to_stage) if m.to_stage else None,
            actor=m.actor,
            moved_at=m.moved_at,
            seconds_in_stage=m.seconds_in_stage,
            reason=m.reason,
            status_after=m.status_after,
        )
        for m in await repo.timeline(session, opportunity_id)
    ]
    return Timeline(opportunity_id=opportunity_id, entries=entries)


# Board and analytics -----------------------------------------------------------------------------
@router.get(
    "/api/v1/pipeline/board",
    response_model=Board,
    tags=["pipeline"],
    summary="Deals grouped by stage with counts (lost deals are archived and not shown)",
)
async def board(
    request: Request,
    session: Session,
    caller: Caller,
    owner_id: uuid.UUID | None = None,
    line_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    per_stage: Annotated[int | None, Query(ge=1, le=200, description="Deals listed per stage")] = None,
):
    filters = repo.OpportunityFilters(owner_id=owner_id, line_id=line_id, department_id=department_id, archived=False)
    per_stage = per_stage or request.app.state.settings.board_deals_per_stage
    counts, totals, rows = await repo.board(session, access.viewer_of(caller), filters=filters, per_stage=per_stage)
    share = _share(request)
    columns = []
    for stage in await repo.stages(session):
        deals = [service.opportunity_out(*row, at_risk_share=share) for row in rows if row[0].stage_key == stage.key]
        premium_totals = [
            MoneyTotal(currency=currency, amount=amount)
            for currency, amount in sorted(totals.get(stage.key, {}).items())
        ]
        columns.append(
            BoardColumn(
                stage=StageOut.model_validate(stage),
                count=counts.get(stage.key, 0),
                premium_totals=premium_totals,
                deals=deals,
            )
        )
    return Board(columns=columns, total=sum(counts.values()))


@stream_router.get(
    "/api/v1/pipeline/board/stream",
    response_class=StreamingResponse,
    tags=["pipeline"],
    summary="The board, live: an event each time a deal the caller may see, a stage or a line changes "
    "(Server-Sent Events)",
    description=(
        "A `text/event-stream` that tells an open board what changed, so it refetches within moments of someone "
        "else's move instead of polling. Events (each `data:` is JSON, each `id:` the event's sequence number):\n"
        '- `ready` first: `{"last_event_id": n}`; (re)load the board after it.\n'
        '- `opportunity`: `{"type": "pipeline.opportunity.stage_advanced", "opportunity_id": "…", '
        '"sequence": n}` for a deal the caller may see now or could see just before (a deal that left their '
        "view is told too); refetch the board or that deal.\n"
        '- `config`: `{"type": "pipeline.config.stage_updated", "sequence": n}`: stages or lines changed (names, '
        "order, SLA targets); refetch them.\n"
        "- `resync`: events were missed (a slow reader, a reconnection of the service's listener): refetch "
        "everything.\n"
        "- `token_expired`: the stream ends with the access token; reconnect with a fresh one.\n"
        "- `token_revoked`: the token was revoked (the user deactivated, their role, department or password "
        "changed); the stream ends.\n\n"
        "A user may keep a few streams open at once (`SSE_STREAMS_PER_USER`): 429 beyond. "
        "A comment line is sent every 15 s when idle. Moves made while no stream was open are not replayed: a "
        "client that reconnects reloads the board after `ready`. Authentication: `Authorization: Bearer <token>` "
        "only (tokens never go in URLs)."
    ),
    responses={
        200: {"content": {MEDIA_TYPE: {}}, "description": "The live stream"},
        429: {"description": "The caller has too many streams open (problem+json)"},
    },
)
async def board_events(request: Request, caller: Caller) -> StreamingResponse:
    settings = request.app.state.settings
    token = bearer_token(request)
    slot = request.app.state.stream_slots.take(caller.user_id)
    stream = board_stream(
        request.app.state.board_streams,
        access.viewer_of(caller),
        expires_at=token_expiry(token),
        heartbeat_seconds=settings.board_stream_heartbeat_seconds,
        retry_ms=settings.board_stream_retry_ms,
    )
    return LiveStreamResponse(until_revoked(stream, verifier=request.app.state.token_verifier, token=token), slot=slot)


@router.get(
    "/api/v1/pipeline/analytics",
    response_model=Analytics,
    tags=["pipeline"],
    summary="Time in each stage (median, p90), stage-to-stage conversion, win rate per line and specialist",
)
async def analytics(
    session: Session,
    caller: Caller,
    line_id: uuid.UUID | None = None,
    owner_id: uuid.UUID | None = None,
    department_id: uuid.UUID | None = None,
    since: Annotated[clock.Instant | None, Query(description="Deals opened at or after (with a timezone)")] = None,
    until: Annotated[clock.Instant | None, Query(description="Deals opened before (with a timezone)")] = None,
):
    filters = repo.OpportunityFilters(
        owner_id=owner_id, line_id=line_id, department_id=department_id, opened_since=since, opened_before=until
    )
    viewer = access.viewer_of(caller)
    order = await repo.stages(session)
    times = {stage: (n, median, p90) for stage, n, median, p90 in await repo.time_in_stage(session, viewer, filters)}
    entered, advanced = await repo.stage_reach(session, viewer, filters)
    conversion = []
    for here, nxt in itertools.pairwise(order):
        n_in, n_on = entered.get(here.key, 0), advanced.get((here.key, nxt.key), 0)
        conversion.append(
            Conversion(
                from_stage=here.key, to_stage=nxt.key, entered=n_in, advanced=n_on, rate=n_on / n_in if n_in else None
            )
        )

    def rates(rows) -> list[WinRate]:
        return [
            WinRate(
                id=i, name=name, won=won, lost=lost, open=still_open, rate=won / (won + lost) if won + lost else None
            )
            for i, name, won, lost, still_open in rows
        ]

    return Analytics(
        deals=await repo.deal_counts(session, viewer, filters),
        time_in_stage=[
            StageTime(
                stage=s.key,
                name=s.name,
                moves=times.get(s.key, (0, None, None))[0],
                median_seconds=times.get(s.key, (0, None, None))[1],
                p90_seconds=times.get(s.key, (0, None, None))[2],
            )
            for s in order
            if s.key in times or s.key != rules.COMPLETION
        ],
        conversion=conversion,
        win_rate_by_line=rates(await repo.win_rates(session, viewer, filters, by="line")),
        win_rate_by_specialist=rates(await repo.win_rates(session, viewer, filters, by="owner")),
    )
