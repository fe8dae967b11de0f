"""Every query of the clients service."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.clients.access import visible_where
from services.clients.models import Client, ClientContract, people
from shared.auth import Principal
from shared.pagination import PageParams, apply_sort, page_total

CLIENT_SORTS = {
    "name": Client.name,
    "created_at": Client.created_at,
    "updated_at": Client.updated_at,
    "status": Client.status,
    "kind": Client.kind,
    "country": Client.country,
}

# Serialises moves in the tree: the cycle check and the move happen under it, so two concurrent
# moves (A under B, B under A) cannot both pass the check.
HIERARCHY_LOCK = 0x636C69656E74_7472  # "client" "tr"


async def get_client(session: AsyncSession, client_id: uuid.UUID, *, for_update: bool = False) -> Client | None:
    stmt = select(Client).where(Client.id == client_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_by_tax_id(session: AsyncSession, country: str | None, tax_id: str) -> Client | None:
    country_match = Client.country.is_(None) if country is None else Client.country == country
    return (await session.execute(select(Client).where(country_match, Client.tax_id == tax_id))).scalars().first()


async def department_exists(session: AsyncSession, department_id: uuid.UUID) -> bool:
    departments = people.departments
    return await session.scalar(select(literal(True)).where(departments.c.id == department_id)) is not None


@dataclass
class ClientFilters:
    q: str | None = None
    status: str | None = None
    kind: str | None = None
    department_id: uuid.UUID | None = None
    parent_id: uuid.UUID | None = None
    root_only: bool = False
    include_archived: bool = False


_PHONE_LIKE = re.compile(r"[\d\s+().\-/]+")


def _search_condition(q: str):
    """Name: fuzzy (pg_trgm similarity or word similarity, both served by the GIN index) or a plain
    substring; email, phone (by digits) and tax id: substring."""
    like = f"%{_escape_like(q)}%"
    conditions = [
        Client.name.op("%")(q),
        literal(q).op("<%")(Client.name),
        Client.name.ilike(like),
        func.lower(Client.email).like(like.lower()),
    ]
    digits = re.sub(r"\D", "", q)
    # A phone only when the query reads like one: an email's or a name's stray digits ("coop-a50cfa10@…") are not
    # a phone number, and matched every client whose phone held them.
    if len(digits) >= 3 and _PHONE_LIKE.fullmatch(q.strip()):
        conditions.append(Client.phone_digits.like(f"%{digits}%"))
    compact = re.sub(r"[\s.\-/]", "", q).upper()
    if compact:
        conditions.append(Client.tax_id.like(f"%{_escape_like(compact)}%"))
    return or_(*conditions)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def list_clients(
    session: AsyncSession, page: PageParams, filters: ClientFilters, *, caller: Principal, similarity_threshold: float
) -> tuple[list[Client], int]:
    stmt: Select = select(Client).where(visible_where(caller))
    if not filters.include_archived:
        stmt = stmt.where(Client.archived.is_(False))
    if filters.status:
        stmt = stmt.where(Client.status == filters.status)
    if filters.kind:
        stmt = stmt.where(Client.kind == filters.kind)
    if filters.department_id:
        stmt = stmt.where(Client.department_id == filters.department_id)
    if filters.parent_id:
        stmt = stmt.where(Client.parent_id == filters.parent_id)
    if filters.root_only:
        stmt = stmt.where(Client.parent_id.is_(None))
    if filters.q:
        # For the connection, not only the transaction: a list (a GET) runs without one (`shared.db`), where a
        # transaction-local setting would be gone by the next statement. Every search sets it before it matches.
        await session.execute(
            text("SELECT set_config('pg_trgm.similarity_threshold', :t, false)"), {"t": str(similarity_threshold)}
        )
        stmt = stmt.where(_search_condition(filters.q))
    if filters.q and not page.sort:
        # Best match first: the closer of whole-name and best-word similarity.
        relevance = func.greatest(func.similarity(Client.name, filters.q), func.word_similarity(filters.q, Client.name))
        ordered = stmt.order_by(relevance.desc(), Client.name, Client.id)
    else:
        ordered = apply_sort(stmt, page.sort, CLIENT_SORTS, "name", Client.id)
    rows = list((await session.execute(ordered.limit(page.limit).offset(page.offset))).scalars())
    return rows, await page_total(session, stmt, found=len(rows), limit=page.limit, offset=page.offset)


# The tree ------------------------------------------------------------------------------------------
async def has_live_children(session: AsyncSession, client_id: uuid.UUID) -> bool:
    return (
        await session.scalar(
            select(literal(True)).where(Client.parent_id == client_id, Client.archived.is_(False)).limit(1)
        )
        is not None
    )


async def lock_hierarchy(session: AsyncSession) -> None:
    await session.execute(select(func.pg_advisory_xact_lock(HIERARCHY_LOCK)))


async def is_ancestor_or_self(session: AsyncSession, candidate: uuid.UUID, of: uuid.UUID) -> bool:
    """Whether `candidate` is `of` or one of its ancestors (walking parent links up from `of`)."""
    found = await session.scalar(
        text("""
        WITH RECURSIVE up(id, parent_id) AS (
            SELECT id, parent_id FROM clients WHERE id = :of
            UNION
            SELECT c.id, c.parent_id FROM clients c JOIN up ON c.id = up.parent_id
        )
        SELECT true FROM up WHERE id = :candidate LIMIT 1
    """),
        {"of": of, "candidate": candidate},
    )
    return bool(found)


async def ancestors(session: AsyncSession, client_id: uuid.UUID) -> list[tuple[Client, int]]:
    """The parent, its parent, ... up to the root, nearest first, with their distance."""
    up = (
        text("""
        WITH RECURSIVE up(id, parent_id, depth) AS (
            SELECT id, parent_id, 0 FROM clients WHERE id = :id
            UNION ALL
            SELECT c.id, c.parent_id, up.depth + 1 FROM clients c JOIN up ON c.id = up.parent_id
            WHERE up.depth < 1000
        )
        SELECT id, depth FROM up WHERE depth > 0
    """)
        .bindparams(id=client_id)
        .columns(id=Client.id.type, depth=Client.active_contracts.type)
        .subquery("up")
    )
    rows = await session.execute(select(Client, up.c.depth).join(up, up.c.id == Client.id).order_by(up.c.depth))
    return [(c, d) for c, d in rows.all()]


def _subtree_cte(client_id: uuid.UUID):
    return (
        text("""
        WITH RECURSIVE down(id, depth) AS (
            SELECT id, 0 FROM clients WHERE id = :id
            UNION ALL
            SELECT c.id, down.depth + 1 FROM clients c JOIN down ON c.parent_id = down.id
            WHERE down.depth < 1000
        )
        SELECT id, depth FROM down
    """)
        .bindparams(id=client_id)
        .columns(id=Client.id.type, depth=Client.active_contracts.type)
        .subquery("down")
    )


async def subtree(session: AsyncSession, client_id: uuid.UUID) -> list[tuple[Client, int]]:
    """The client and everything below it, breadth first, with each node's depth."""
    down = _subtree_cte(client_id)
    rows = await session.execute(
        select(Client, down.c.depth).join(down, down.c.id == Client.id).order_by(down.c.depth, Client.name, Client.id)
    )
    return [(c, d) for c, d in rows.all()]


async def subtree_rollup(
    session: AsyncSession, client_id: uuid.UUID, caller: Principal
) -> tuple[int, list[tuple[str, int, Decimal]]]:
    """The clients of the subtree the caller may see (those the subtree lists them), and per currency the number
    and premium total of those clients' active contracts: a subsidiary out of the caller's scope counts for
    nothing."""
    down = _subtree_cte(client_id)
    visible = select(Client.id).join(down, down.c.id == Client.id).where(visible_where(caller)).subquery("visible")
    clients = await session.scalar(select(func.count()).select_from(visible))
    rows = await session.execute(
        select(ClientContract.currency, func.count(), func.sum(ClientContract.premium))
        .join(visible, visible.c.id == ClientContract.client_id)
        .where(ClientContract.status == "active")
        .group_by(ClientContract.currency)
        .order_by(ClientContract.currency)
    )
    return clients or 0, [(cur, n, total) for cur, n, total in rows.all()]


# The contract projection ----------------------------------------------------------------------------
async def get_projected_contract(session: AsyncSession, contract_id: uuid.UUID) -> ClientContract | None:
    return (
        await session.execute(select(ClientContract).where(ClientContract.contract_id == contract_id).with_for_update())
    ).scalar_one_or_none()


async def contract_counts(session: AsyncSession, client_id: uuid.UUID) -> tuple[int, bool]:
    """(number of active contracts, whether the client has ever held a contract)."""
    row = (
        await session.execute(
            select(
                func.count().filter(ClientContract.status == "active"),
                func.coalesce(func.bool_or(ClientContract.held), False),
            ).where(ClientContract.client_id == client_id)
        )
    ).one()
    return int(row[0]), bool(row[1])
