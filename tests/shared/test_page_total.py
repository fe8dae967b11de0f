"""A list's total (`shared.pagination.page_total`): exact, and counted only when the page read cannot tell it."""

import pytest
from sqlalchemy import Integer, column, event, select, values

from shared.pagination import page_total

pytestmark = pytest.mark.service("tasks")

# Five rows, 1-5.
numbers = values(column("n", Integer), name="numbers").data([(n,) for n in range(1, 6)])


@pytest.fixture
async def counted(session, pg_engines):
    """The COUNT statements run meanwhile."""
    counts: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if "count(" in statement.lower():
            counts.append(statement)

    engine = pg_engines("tasks").sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    yield counts
    event.remove(engine, "before_cursor_execute", seen)


async def _total(session, stmt, *, limit: int, offset: int) -> int:
    rows = (await session.execute(stmt.order_by(numbers.c.n).limit(limit).offset(offset))).all()
    return await page_total(session, stmt, found=len(rows), limit=limit, offset=offset)


@pytest.mark.parametrize(
    ("limit", "offset", "where", "total", "counted_too"),
    [
        (10, 0, None, 5, False),  # one short page: the whole list
        (3, 3, None, 5, False),  # the last page, short
        (10, 0, 0, 0, False),  # nothing at all
        (5, 0, None, 5, True),  # a full page: there may be more
        (3, 9, None, 5, True),  # empty past the start: the list may end anywhere before
        (2, 0, 3, 3, True),  # filtered: counted with the filter
    ],
)
async def test_the_total_is_exact_and_counted_only_when_the_page_cannot_tell(
    session, counted, limit, offset, where, total, counted_too
):
    stmt = select(numbers) if where is None else select(numbers).where(numbers.c.n <= where)
    assert await _total(session, stmt, limit=limit, offset=offset) == total
    assert bool(counted) is counted_too
