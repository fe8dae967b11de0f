"""The one source of "now" for every service, so tests can move time.

Code asks `clock.now()`; tests (and the test-only clock endpoint of later services) replace the
clock with `set_clock(FrozenClock(...))` or shift it with `OffsetClock`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Protocol

from pydantic import AfterValidator, AwareDatetime


def _in_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("lies outside the years 1 to 9999 once in UTC") from None


# A point in time given in a request (a query parameter or a body field): it must name its timezone, and
# it is handed on in UTC. (An offset that moves 0001-01-01 before year 1 would otherwise fail in the
# database driver: a 500.)
Instant = Annotated[AwareDatetime, AfterValidator(_in_utc)]


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """Stands still until moved."""

    def __init__(self, at: datetime):
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, delta: timedelta) -> None:
        self._at += delta


class OffsetClock:
    """Runs with the system clock, shifted by an offset that can be moved."""

    def __init__(self, offset: timedelta = timedelta(0)):
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


_clock: Clock = SystemClock()


def now() -> datetime:
    return _clock.now()


def get_clock() -> Clock:
    return _clock


def set_clock(clock: Clock) -> None:
    global _clock
    _clock = clock
