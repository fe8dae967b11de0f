"""Every query of the pipeline service."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
from sqlalchemy import ColumnElement, Select, and_, delete, func, literal, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.pipeline.access import Viewer, visible_where
from services.pipeline.models import (
    DealDocument,
    KnownChecklist,
    KnownClient,
    Line,
    Opportunity,
    Stage,
    StageMove,
    people,
)
from shared.pagination import PageParams, apply_sort, page_total
from shared.privacy.rights import unless_erased

DEFAULT_CURRENCY = "EUR"  # a deal's expected premium without a currency is in euros

OPPORTUNITY_SORTS = {
    "created_at": Opportunity.created_at,
    "updated_at": Opportunity.updated_at,
    "title": Opportunity.title,
    "expected_premium": Opportunity.expected_premium,
    "stage": Stage.position,
    "stage_entered_at": Opportunity.stage_entered_at,
}


# Stages and lines --------------------------------------------------------------------------------
async def stages(session: AsyncSession, *, for_update: bool = False) -> list[Stage]:
    stmt = select(Stage).order_by(Stage.position, Stage.key)
    if for_update:
        stmt = stmt.with_for_update()
    return list((await session.execute(stmt)).scalars())


async def lines(session: AsyncSession) -> list[Line]:
    return list((await session.execute(select(Line).order_by(Line.name))).scalars())


LINE_SORTS = {"name": Line.name, "created_at": Line.created_at}
STAGE_SORTS = {"position": Stage.position, "name": Stage.name, "key": Stage.key}


async def _page(session: AsyncSession, stmt: Select[Any], page: PageParams, sorts, default: str, tiebreak):
    paged = apply_sort(stmt, page.sort, sorts, default, tiebreak).limit(page.limit).offset(page.offset)
    rows = list((await session.execute(paged)).scalars())
    return rows, await page_total(session, stmt, found=len(rows), limit=page.limit, offset=page.offset)


async def line_page(session: AsyncSession, page: PageParams) -> tuple[list[Line], int]:
    return await _page(session, select(Line), page, LINE_SORTS, "name", Line.id)


async def stage_page(session: AsyncSession, page: PageParams) -> tuple[list[Stage], int]:
    return await _page(session, select(Stage), page, STAGE_SORTS, "position", Stage.key)


async def get_line(session: AsyncSession, line_id: uuid.UUID, *, for_update: bool = False) -> Line | None:
    stmt = select(Line).where(Line.id == line_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def insert_line_if_absent(session: AsyncSession, name: str, now: datetime) -> uuid.UUID | None:
    """Add the insurance line `name` unless one by that name exists (also one another replica adds at the same
    moment); its id if this call added it."""
    return await session.scalar(
        pg_insert(Line)
        .values(id=uuid.uuid4(), name=name, created_at=now, updated_at=now)
        .on_conflict_do_nothing(index_elements=["name"])
        .returning(Line.id)
    )


async def set_line_deals_department(session: AsyncSession, line_id: uuid.UUID, department_id: uuid.UUID | None) -> None:
    """A deal belongs to its line's department: move the line's deals with it."""
    await session.execute(update(Opportunity).where(Opportunity.line_id == line_id).values(department_id=department_id))


async def get_line_by_name(session: AsyncSession, name: str) -> Line | None:
    # Both sides lowered by PostgreSQL (as identity's department names): Python's lower() may fold differently.
    return (await session.execute(select(Line).where(func.lower(Line.name) == func.lower(name)))).scalar_one_or_none()


# Replicas ----------------------------------------------------------------------------------------
async def active_user(session: AsyncSession, user_id: uuid.UUID):
    users = people.users
    return (await session.execute(select(users).where(users.c.id == user_id, users.c.active.is_(True)))).first()


async def department_exists(session: AsyncSession, department_id: uuid.UUID) -> bool:
    departments = people.departments
    return await session.scalar(select(literal(True)).where(departments.c.id == department_id)) is not None


async def get_client(session: AsyncSession, client_id: uuid.UUID) -> KnownClient | None:
    return await session.get(KnownClient, client_id, populate_existing=True)


async def upsert_known_client(session: AsyncSession, client_id: uuid.UUID, values: dict[str, Any]) -> None:
    """Add the client to the replica, or overwrite its `values` if it is there."""
    insert = pg_insert(KnownClient).values(id=client_id, **values)
    changes = {**values, "updated_at": func.now()}
    if "name" in changes:  # an erased client's name stays "erased"
        changes["name"] = unless_erased(KnownClient.name, insert.excluded.name)
    await session.execute(insert.on_conflict_do_update(index_elements=["id"], set_=changes))


async def update_known_client(session: AsyncSession, client_id: uuid.UUID, values: dict[str, Any]) -> None:
    if "name" in values:  # an erased client's name stays "erased"
        values = {**values, "name": unless_erased(KnownClient.name, values["name"])}
    await session.execute(
        update(KnownClient).where(KnownClient.id == client_id).values(**values, updated_at=func.now())
    )


# Opportunities -----------------------------------------------------------------------------------
async def lock_opportunity_row(session: AsyncSession, opportunity_id: uuid.UUID):
    """(Opportunity, line name, client name, owner name) of one deal, its row locked until the transaction ends;
    or None."""
    stmt = (
        select(Opportunity, Line.name, KnownClient.name, people.users.c.name)
        .join(Line, Line.id == Opportunity.line_id)
        .outerjoin(KnownClient, KnownClient.id == Opportunity.client_id)
        .outerjoin(people.users, people.users.c.id == Opportunity.owner_id)
        .where(Opportunity.id == opportunity_id)
        .with_for_update(of=Opportunity)
    )
    return (await session.execute(stmt)).first()


async def get_opportunity(
    session: AsyncSession, opportunity_id: uuid.UUID, *, for_update: bool = False
) -> Opportunity | None:
    stmt = select(Opportunity).where(Opportunity.id == opportunity_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


def elapsed_ratio(now: datetime) -> ColumnElement[Any]:
    """Share of the current stage's SLA target used, in wall-clock time."""
    return func.extract("epoch", literal(now) - Opportunity.stage_entered_at) / (Stage.sla_hours * 3600.0)


def sla_filter(state: str, now: datetime, at_risk_share: float) -> ColumnElement[bool]:
    ratio = elapsed_ratio(now)
    open_ = Opportunity.status == "open"
    if state == "red":
        return and_(open_, ratio >= 1.0)
    if state == "yellow":
        return and_(open_, ratio >= at_risk_share, ratio < 1.0)
    return and_(open_, ratio < at_risk_share)


@dataclass
class OpportunityFilters:
    """What a list, the board or the analytics narrow the caller's deals to; None narrows nothing."""

    stage: str | None = None
    owner_id: uuid.UUID | None = None
    line_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    client_id: uuid.UUID | None = None
    status: str | None = None
    archived: bool | None = None
    opened_since: datetime | None = None
    opened_before: datetime | None = None
    sla_state: str | None = None  # judged at `now` with `at_risk_share` (both given with it)
    now: datetime | None = None
    at_risk_share: float | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        equal = (
            (Opportunity.stage_key, self.stage),
            (Opportunity.owner_id, self.owner_id),
            (Opportunity.line_id, self.line_id),
            (Opportunity.department_id, self.department_id),
            (Opportunity.client_id, self.client_id),
            (Opportunity.status, self.status),
        )
        clauses = [column == value for column, value in equal if value is not None]
        if self.sla_state is not None:
            assert self.now is not None and self.at_risk_share is not None, "an SLA state is judged at a time"
            clauses.append(sla_filter(self.sla_state, self.now, self.at_risk_share))
        if self.archived is not None:
            clauses.append(Opportunity.archived.is_(self.archived))
        if self.opened_since is not None:
            clauses.append(Opportunity.created_at >= self.opened_since)
        if self.opened_before is not None:
            clauses.append(Opportunity.created_at < self.opened_before)
        return clauses


def _opportunity_rows() -> Select:
    return (
        select(Opportunity, Stage, Line.name, KnownClient.name, people.users.c.name)
        .join(Stage, Stage.key == Opportunity.stage_key)
        .join(Line, Line.id == Opportunity.line_id)
        .outerjoin(KnownClient, KnownClient.id == Opportunity.client_id)
        .outerjoin(people.users, people.users.c.id == Opportunity.owner_id)
    )


async def opportunity_row(session: AsyncSession, opportunity_id: uuid.UUID):
    """(Opportunity, Stage, line name, client name, owner name) of one deal, or None."""
    return (await session.execute(_opportunity_rows().where(Opportunity.id == opportunity_id))).first()


def _visible_in(viewer: Viewer, filters: OpportunityFilters) -> ColumnElement[bool]:
    """The visibility rule, left out when the filters keep to the viewer's own department: every deal of it is
    visible to them, and the rule's OR (owner, department, stage's department) kept the planner from reading a
    page off an index (it sorted all the department's deals for each page)."""
    if filters.department_id is not None and filters.department_id == viewer.department_id:
        return true()
    return visible_where(viewer)


async def list_opportunities(
    session: AsyncSession,
    viewer: Viewer,
    page: PageParams,
    *,
    filters: OpportunityFilters,
) -> tuple[list, int]:
    visible = _visible_in(viewer, filters)
    stmt = _opportunity_rows().where(visible, *filters.clauses())
    stmt = apply_sort(stmt, page.sort, OPPORTUNITY_SORTS, "-created_at", Opportunity.id)
    rows = list((await session.execute(stmt.limit(page.limit).offset(page.offset))).all())
    # Counted (when it must be) on the deals' ids alone: the same rows, without the columns of the page.
    counted = select(Opportunity.id).join(Stage, Stage.key == Opportunity.stage_key).where(visible, *filters.clauses())
    return rows, await page_total(session, counted, found=len(rows), limit=page.limit, offset=page.offset)


async def board(
    session: AsyncSession,
    viewer: Viewer,
    *,
    filters: OpportunityFilters,
    per_stage: int,
) -> tuple[dict, dict, list]:
    """Counts per stage, expected-premium totals per stage and currency, and the most recently moved deals of
    each stage (up to `per_stage`)."""
    base = (
        select(Opportunity.stage_key, Opportunity.currency, func.count(), func.sum(Opportunity.expected_premium))
        .join(Stage, Stage.key == Opportunity.stage_key)
        .where(visible_where(viewer), *filters.clauses())
        .group_by(Opportunity.stage_key, Opportunity.currency)
    )
    counts: dict[str, int] = {}
    totals: dict[str, dict[str, Decimal]] = {}
    for key, currency, n, premium in (await session.execute(base)).all():
        counts[key] = counts.get(key, 0) + n
        if premium is not None:
            per_currency = totals.setdefault(key, {})
            currency = currency or DEFAULT_CURRENCY
            per_currency[currency] = per_currency.get(currency, Decimal(0)) + premium
    ranked = (
        select(
            Opportunity.id,
            func.row_number()
            .over(partition_by=Opportunity.stage_key, order_by=(Opportunity.stage_entered_at.desc(), Opportunity.id))
            .label("rank"),
        )
        .join(Stage, Stage.key == Opportunity.stage_key)
        .where(visible_where(viewer), *filters.clauses())
        .subquery()
    )
    rows = (
        await session.execute(
            _opportunity_rows()
            .join(ranked, ranked.c.id == Opportunity.id)
            .where(ranked.c.rank <= per_stage)
            .order_by(Stage.position, Opportunity.stage_entered_at.desc(), Opportunity.id)
        )
    ).all()
    return counts, totals, list(rows)


async def timeline(session: AsyncSession, opportunity_id: uuid.UUID) -> list[StageMove]:
    return list(
        (
            await session.execute(
                select(StageMove)
                .where(StageMove.opportunity_id == opportunity_id)
                .order_by(StageMove.moved_at, StageMove.id)
            )
        ).scalars()
    )


# Analytics ---------------------------------------------------------------------------------------
def _scoped_deals(viewer: Viewer, filters: OpportunityFilters) -> Select:
    return (
        select(Opportunity.id)
        .join(Stage, Stage.key == Opportunity.stage_key)
        .where(visible_where(viewer), *filters.clauses())
    )


async def deal_counts(session: AsyncSession, viewer: Viewer, filters: OpportunityFilters) -> dict[str, int]:
    deals = _scoped_deals(viewer, filters).subquery()
    rows = await session.execute(
        select(Opportunity.status, func.count()).join(deals, deals.c.id == Opportunity.id).group_by(Opportunity.status)
    )
    return {"open": 0, "won": 0, "lost": 0, **{status: n for status, n in rows.all()}}


async def time_in_stage(session: AsyncSession, viewer: Viewer, filters: OpportunityFilters) -> list:
    """(stage, moves, median, p90) of the seconds spent in each stage, over every move out of it."""
    deals = _scoped_deals(viewer, filters).subquery()
    seconds = StageMove.seconds_in_stage
    stmt = (
        select(
            StageMove.from_stage,
            func.count(),
            func.percentile_cont(0.5).within_group(seconds),
            func.percentile_cont(0.9).within_group(seconds),
        )
        .join(deals, deals.c.id == StageMove.opportunity_id)
        .where(StageMove.from_stage.is_not(None), seconds.is_not(None))
        .group_by(StageMove.from_stage)
    )
    return list((await session.execute(stmt)).all())


async def stage_reach(session: AsyncSession, viewer: Viewer, filters: OpportunityFilters) -> tuple[dict, dict]:
    """Per stage: distinct deals that entered it, and distinct deals that moved forward out of it (to where)."""
    deals = _scoped_deals(viewer, filters).subquery()
    entered = await session.execute(
        select(StageMove.to_stage, func.count(func.distinct(StageMove.opportunity_id)))
        .join(deals, deals.c.id == StageMove.opportunity_id)
        .where(StageMove.to_stage.is_not(None), StageMove.kind.in_(("opened", "forward")))
        .group_by(StageMove.to_stage)
    )
    advanced = await session.execute(
        select(StageMove.from_stage, StageMove.to_stage, func.count(func.distinct(StageMove.opportunity_id)))
        .join(deals, deals.c.id == StageMove.opportunity_id)
        .where(StageMove.kind == "forward")
        .group_by(StageMove.from_stage, StageMove.to_stage)
    )
    return {stage: n for stage, n in entered.all()}, {(f, t): n for f, t, n in advanced.all()}


async def win_rates(session: AsyncSession, viewer: Viewer, filters: OpportunityFilters, *, by: str) -> list:
    """(id, name, won, lost, open) per line (`by="line"`) or per owner (`by="owner"`)."""
    deals = _scoped_deals(viewer, filters).subquery()
    won = func.count().filter(Opportunity.status == "won")
    lost = func.count().filter(Opportunity.status == "lost")
    still_open = func.count().filter(Opportunity.status == "open")
    if by == "line":
        stmt = (
            select(Line.id, Line.name, won, lost, still_open)
            .select_from(Opportunity)
            .join(deals, deals.c.id == Opportunity.id)
            .join(Line, Line.id == Opportunity.line_id)
            .group_by(Line.id, Line.name)
            .order_by(Line.name)
        )
    else:
        users = people.users
        stmt = (
            select(Opportunity.owner_id, users.c.name, won, lost, still_open)
            .select_from(Opportunity)
            .join(deals, deals.c.id == Opportunity.id)
            .outerjoin(users, users.c.id == Opportunity.owner_id)
            .group_by(Opportunity.owner_id, users.c.name)
            .order_by(users.c.name, Opportunity.owner_id)
        )
    return list((await session.execute(stmt)).all())


# The board's live stream ------------------------------------------------------------------------------
# Single statements on the streams' own asyncpg pool (board_stream.py): one round trip each, no transaction.
_NEWEST_OUTBOX_SEQUENCE = "SELECT coalesce(max(id), 0) FROM outbox"
_DEAL_AUDIENCE = (
    "SELECT o.owner_id, o.department_id, s.department_id AS stage_department_id, "
    "(SELECT payload FROM outbox WHERE id = $2) AS payload "
    "FROM opportunities o LEFT JOIN stages s ON s.key = o.stage_key WHERE o.id = $1"
)


async def newest_outbox_sequence(pool: asyncpg.Pool) -> int:
    """The sequence number of pipeline's newest event (0 when there is none)."""
    return int(await pool.fetchval(_NEWEST_OUTBOX_SEQUENCE))


async def deal_audience(pool: asyncpg.Pool, opportunity_id: uuid.UUID, sequence: int) -> asyncpg.Record | None:
    """Who may see the deal now (owner, department, its stage's department) and the payload of its event
    `sequence` (which says where it was before); None if there is no such deal."""
    return await pool.fetchrow(_DEAL_AUDIENCE, opportunity_id, sequence)


# The documents service's checklists and deal documents (replicas) ------------------------------------------------
async def upsert_checklist(session: AsyncSession, stage_key: str, requirements: list[list[str]], auto_advance: bool):
    values = {"requirements": requirements, "auto_advance": auto_advance}
    await session.execute(
        pg_insert(KnownChecklist)
        .values(stage_key=stage_key, **values)
        .on_conflict_do_update(index_elements=["stage_key"], set_=values)
    )


async def get_checklist(session: AsyncSession, stage_key: str) -> KnownChecklist | None:
    return await session.get(KnownChecklist, stage_key, populate_existing=True)


async def add_deal_document(
    session: AsyncSession, document_id: uuid.UUID, opportunity_id: uuid.UUID, document_type: str
) -> None:
    await session.execute(
        pg_insert(DealDocument)
        .values(document_id=document_id, opportunity_id=opportunity_id, document_type=document_type)
        .on_conflict_do_nothing(index_elements=["document_id"])
    )


async def remove_deal_document(session: AsyncSession, document_id: uuid.UUID) -> None:
    await session.execute(delete(DealDocument).where(DealDocument.document_id == document_id))


async def deal_documents(session: AsyncSession, opportunity_id: uuid.UUID) -> list[DealDocument]:
    stmt = select(DealDocument).where(DealDocument.opportunity_id == opportunity_id).order_by(DealDocument.document_id)
    return list((await session.execute(stmt)).scalars())


async def renewal_of(session: AsyncSession, contract_id: uuid.UUID) -> Opportunity | None:
    """The renewal deal of a contract, if one was opened."""
    stmt = select(Opportunity).where(Opportunity.renews_contract_id == contract_id)
    return (await session.execute(stmt)).scalar_one_or_none()
