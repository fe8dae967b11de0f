"""One way to page, sort and return lists, for every list endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from shared.errors import InvalidInput

T = TypeVar("T")
Row = TypeVar("Row", bound=tuple[Any, ...])
# A column or a mapped attribute (`Model.name`) to order by.
Sortable = ColumnElement[Any] | QueryableAttribute[Any]

# Beyond any real list, and well inside PostgreSQL's bigint: a larger offset is refused with a 422 naming
# `query.offset`, instead of failing in the database.
MAX_OFFSET = 1_000_000_000
# The largest PostgreSQL bigint: a position read from a client's cursor beyond it is refused with a 422 naming
# the cursor, instead of failing in the database.
MAX_BIGINT = 2**63 - 1


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


class PageParams(BaseModel):
    limit: int
    offset: int
    sort: str | None


# The dependencies requests resolve are `async def`: FastAPI runs a plain `def` dependency in a worker thread, a
# thread hop for every list call (py-spy, an identity list under load: 2 % of the service's CPU in anyio's to_thread).
async def page_params(
    limit: int = Query(50, ge=1, le=200, description="Items per page (1-200)."),
    offset: int = Query(0, ge=0, le=MAX_OFFSET, description="Items to skip."),
    sort: str | None = Query(None, description="Field to sort by; prefix with `-` for descending."),
) -> PageParams:
    return PageParams(limit=limit, offset=offset, sort=sort)


def apply_sort(
    stmt: Select[Row], sort: str | None, allowed: Mapping[str, Sortable], default: str, tiebreak: Sortable
) -> Select[Row]:
    """Order by `sort` (`name` or `-name`), refusing fields not in `allowed` with a 422 naming them."""
    sort = sort or default
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    if name not in allowed:
        raise InvalidInput.for_field(
            "query.sort", f"cannot sort by {name!r}; choose one of {', '.join(sorted(allowed))}"
        )
    column = allowed[name]
    return stmt.order_by(column.desc() if descending else column.asc(), tiebreak)


async def total_of(session: AsyncSession, stmt: Select[Any]) -> int:
    """How many rows `stmt` selects: a list's `total`, counted before it is sorted and paged."""
    return int((await session.execute(select(func.count()).select_from(stmt.subquery()))).scalar_one())


def known_total(*, found: int, limit: int, offset: int) -> int | None:
    """A list's total as its page tells it (`found` rows at `offset`, at most `limit`), or None when it cannot:
    a page short of `limit` is the list's last, unless it is empty past the start (the list may end before)."""
    return offset + found if found < limit and (found or not offset) else None


async def page_total(session: AsyncSession, stmt: Select[Any], *, found: int, limit: int, offset: int) -> int:
    """A list's `total`, once its page (`found` rows at `offset`, at most `limit`) has been read from `stmt`
    (unsorted, unpaged).

    A page short of `limit` is the list's last: unless it is empty past the start (the list may end before
    `offset`), the total is `offset + found`, and no count is run. Otherwise `stmt` is counted (`total_of`). Most
    lists people open (a deal's tasks, a client's contracts, the departments) fit one page, and their count was
    a second statement for each (py-spy, an identity list under load: a third of the service's database time).
    A GET runs without a transaction (`shared.db`), so the page and a count were never one snapshot anyway."""
    known = known_total(found=found, limit=limit, offset=offset)
    return known if known is not None else await total_of(session, stmt)
