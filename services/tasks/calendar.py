"""The working-time calendar SLA deadlines are counted in: reading it (through a short-lived cache that
routing and the watches share), showing it, and replacing it (with its `calendar_updated` event)."""

from __future__ import annotations

import time

from sqlalchemy.ext.asyncio import AsyncSession

from services.tasks import repository as repo
from services.tasks.models import outbox
from services.tasks.schemas import CalendarIn
from shared import clock, context
from shared.contracts import field_changes
from shared.contracts.tasks import CalendarUpdated
from shared.errors import InvalidInput
from shared.workcalendar import DEFAULT_CALENDAR, Calendar, CalendarError

_CALENDAR_CACHE_KEY = "tasks.calendar"


class CalendarCache:
    """The calendar this process read last: routing needs it for every batch, and it rarely changes. A change
    made through this process is seen at once; one made through another replica within `max_age` seconds."""

    def __init__(self, max_age: float = 5.0) -> None:
        self.max_age = max_age
        self.calendar: Calendar | None = None
        self.read_at = 0.0

    def get(self) -> Calendar | None:
        fresh = self.calendar is not None and time.monotonic() - self.read_at < self.max_age
        return self.calendar if fresh else None

    def put(self, calendar: Calendar) -> None:
        if calendar == self.calendar:  # unchanged: keep the object, with the working periods it has worked out
            calendar = self.calendar
        self.calendar, self.read_at = calendar, time.monotonic()


# One per process: the app sets its `max_age` from the settings. (Handing each caller the app's own object
# would mean threading it through the consumers and jobs that `app.py` wires; the cache is only a cache.)
calendar_cache = CalendarCache()


async def load_calendar(session: AsyncSession, *, fresh: bool = False) -> Calendar:
    """The calendar in force (read at most once per transaction, and per `max_age` in this process)."""
    cached = session.info.get(_CALENDAR_CACHE_KEY)
    if cached is not None and not fresh:
        return cached
    calendar = None if fresh else calendar_cache.get()
    if calendar is None:
        row = await repo.get_calendar_row(session)
        calendar = Calendar.from_dict(row.definition) if row is not None else DEFAULT_CALENDAR
        calendar_cache.put(calendar)
    session.info[_CALENDAR_CACHE_KEY] = calendar
    return calendar


async def calendar_view(session: AsyncSession) -> dict:
    row = await repo.get_calendar_row(session)
    calendar = Calendar.from_dict(row.definition) if row is not None else DEFAULT_CALENDAR
    return {
        **calendar.to_dict(),
        "updated_at": row.updated_at if row else None,
        "updated_by": row.updated_by if row else None,
    }


async def replace_calendar(session: AsyncSession, body: CalendarIn) -> dict:
    try:
        calendar = Calendar.from_dict(body.model_dump(mode="json"))
    except CalendarError as exc:
        raise InvalidInput.for_field(f"body.{exc.field}", exc.message) from exc
    before = (await load_calendar(session, fresh=True)).to_dict()
    after = calendar.to_dict()
    changes = field_changes(before, after)
    await repo.save_calendar_row(session, after, clock.now(), str(context.current_actor()))
    session.info[_CALENDAR_CACHE_KEY] = calendar
    calendar_cache.put(calendar)  # (if the transaction failed, the cache would be wrong for max_age at most)
    if changes:
        await outbox.add(session, CalendarUpdated(changes=changes), subject="calendar")
    return await calendar_view(session)
