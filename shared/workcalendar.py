"""Working time: when the brokerage works, and deadlines counted in working hours.

Pure functions over a `Calendar` value (no I/O, no clock). A calendar is a timezone, the working
weekdays, one daily working period (start and end, local time), a set of holidays, or simply 24/7.
Besides the dates listed, a calendar may take a country's public holidays from the `holidays` package
(`public_holidays`, an ISO 3166-1 code): every year's, computed when first asked, so the calendar rolls
forward by itself (movable feasts too: Orthodox Easter Monday, Clean Monday, Whit Monday in Greece). The
default calendar takes Greece's.

Working hours are real elapsed hours inside working periods: a local period is turned into two UTC
instants and the time between them counts. So a 00:00-24:00 day counts 23 hours on the day clocks
spring forward and 25 when they fall back, exactly like the wall clock. A local time that does not
exist (inside a spring-forward gap) is read with the offset before the jump, as Python's `fold=0`
and Java's `ZonedDateTime` do; a repeated local time (autumn) is its first occurrence.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache, cached_property
from pathlib import Path
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as holiday_tables
from holidays.registry import COUNTRIES, IMPORT_LOCK, EntityLoader

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTES_PER_DAY = 24 * 60
# Far enough for any SLA; a calendar that cannot find working time within it is refused.
_SEARCH_DAYS = 366 * 30
# Days whose working period a calendar keeps once worked out (a few years' worth; a search past that starts over).
_PERIODS_KEPT = 4096
_TIME_RE = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


class CalendarError(ValueError):
    """An invalid calendar; `field` names the offending part (`timezone`, `start`, `holidays`, ...)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def parse_clock_time(text: str, field: str) -> int:
    """`"09:30"` -> 570 minutes after midnight; `"24:00"` (the end of the day) -> 1440."""
    match = _TIME_RE.match(text or "")
    if not match:
        raise CalendarError(field, f"{text!r} is not a time of day as HH:MM (00:00 to 24:00)")
    minutes = int(match.group(1)) * 60 + int(match.group(2))
    if minutes > MINUTES_PER_DAY:
        raise CalendarError(field, f"{text!r} is after 24:00")
    return minutes


def format_clock_time(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@cache
def public_holidays_of(country: str) -> holiday_tables.HolidayBase:
    """The public holidays of `country` (ISO 3166-1 alpha-2), every year on demand; one table per process.

    The same table as `holidays.country_holidays(country)`, without what that costs: it imports the package of all
    the ~250 countries (some 280 modules, 8 MB of every process that asks) to reach one. Here the country's own
    module is loaded alone (it needs only holidays' base classes); a later import of the whole package finds it
    loaded and uses it."""
    for module, (class_name, *codes) in COUNTRIES.items():
        if codes[0] == country:
            return _country_module(module).__dict__[class_name]()  # type: ignore[no-any-return]
    raise CalendarError("public_holidays", f"{country!r} is not a country with known holidays")


def _country_module(module: str) -> ModuleType:
    name = f"holidays.countries.{module}"
    with IMPORT_LOCK:
        loaded = sys.modules.get(name)
        if loaded is not None:
            return loaded
        spec = importlib.util.spec_from_file_location(
            name, Path(holiday_tables.__file__).parent / "countries" / f"{module}.py"
        )
        if spec is None or spec.loader is None:
            raise ImportError(name)
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[name] = loaded
        try:
            spec.loader.exec_module(loaded)
        except BaseException:
            del sys.modules[name]
            raise
        return loaded


@cache
def _known_countries() -> frozenset[str]:
    # The registry's codes: `holidays.list_supported_countries` would import every country to list subdivisions.
    return frozenset(EntityLoader.get_country_codes(include_aliases=False))


def is_known_country(country: str) -> bool:
    return country in _known_countries()


@dataclass(frozen=True)
class Calendar:
    """When work happens. Defaults: Europe/Athens, Monday to Friday, 09:00-17:00, no holidays (the platform's
    `DEFAULT_CALENDAR` adds Greece's public holidays)."""

    timezone: str = "Europe/Athens"
    working_days: frozenset[int] = frozenset(range(5))  # 0 = Monday ... 6 = Sunday
    start_minute: int = 9 * 60  # minutes after local midnight
    end_minute: int = 17 * 60  # up to 1440 (24:00)
    holidays: frozenset[date] = field(default_factory=frozenset)
    always_open: bool = False  # 24/7: every hour counts, the other fields are ignored
    public_holidays: str | None = None  # a country whose public holidays are days off too (ISO 3166-1 alpha-2)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
            raise CalendarError("timezone", f"{self.timezone!r} is not a known IANA timezone") from exc
        if not all(isinstance(d, int) and 0 <= d <= 6 for d in self.working_days):
            raise CalendarError("working_days", "weekdays are 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.start_minute < MINUTES_PER_DAY:
            raise CalendarError("start", "must be between 00:00 and 23:59")
        if not 0 < self.end_minute <= MINUTES_PER_DAY:
            raise CalendarError("end", "must be between 00:01 and 24:00")
        if self.end_minute <= self.start_minute:
            raise CalendarError("end", "must be after the start of the working day")
        if not self.always_open and not self.working_days:
            raise CalendarError("working_days", "at least one working day is needed (or a 24/7 calendar)")
        object.__setattr__(self, "working_days", frozenset(self.working_days))
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        if self.public_holidays is not None and not is_known_country(self.public_holidays):
            raise CalendarError("public_holidays", f"{self.public_holidays!r} is not a country with known holidays")

    def is_holiday(self, day: date) -> bool:
        """A listed holiday, or a public holiday of the calendar's country."""
        if day in self.holidays:
            return True
        return self.public_holidays is not None and day in public_holidays_of(self.public_holidays)

    @classmethod
    def twenty_four_seven(cls, tz: str = "UTC") -> Calendar:
        return cls(timezone=tz, always_open=True)

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    # The working periods ---------------------------------------------------------------------------
    def _local_to_utc(self, day: date, minutes: int) -> datetime:
        naive = datetime(day.year, day.month, day.day) + timedelta(minutes=minutes)
        return naive.replace(tzinfo=self.zone, fold=0).astimezone(UTC)

    @cached_property
    def _periods(self) -> dict[date, tuple[datetime, datetime] | None]:
        return {}

    def period_of(self, day: date) -> tuple[datetime, datetime] | None:
        """The working period of local date `day` as UTC instants, or None on a day off.

        Kept per calendar once worked out (a calendar never changes; a changed one is a new value): every task the
        router opens asks for the same few days three times (due, at risk, stale), and working them out (the
        holiday tables, two timezone conversions) was a tenth of the router's CPU (py-spy, a routing burst)."""
        periods = self._periods
        if day in periods:
            return periods[day]
        if len(periods) >= _PERIODS_KEPT:
            periods.clear()
        period = periods[day] = self._work_out_period(day)
        return period

    def _work_out_period(self, day: date) -> tuple[datetime, datetime] | None:
        if day.weekday() not in self.working_days or self.is_holiday(day):
            return None
        start = self._local_to_utc(day, self.start_minute)
        end = self._local_to_utc(day, self.end_minute)
        # A period wholly inside a spring-forward gap has no real time in it.
        return (start, end) if end > start else None

    def periods_from(self, moment: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Working periods that end after `moment`, in order (never for a 24/7 calendar)."""
        moment = _aware(moment)
        day = moment.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(_SEARCH_DAYS):
            period = self.period_of(day)
            day += timedelta(days=1)
            if period is not None and period[1] > moment:
                yield period
        raise CalendarError("holidays", f"no working time within {_SEARCH_DAYS} days of {moment.isoformat()}")

    def is_working_time(self, moment: datetime) -> bool:
        """Whether `moment` lies inside a working period (start included, end excluded)."""
        if self.always_open:
            return True
        moment = _aware(moment)
        local_day = moment.astimezone(self.zone).date()
        for day in (local_day - timedelta(days=1), local_day, local_day + timedelta(days=1)):
            period = self.period_of(day)
            if period is not None and period[0] <= moment < period[1]:
                return True
        return False

    # Deadlines -------------------------------------------------------------------------------------
    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The earliest instant by which `hours` working hours have passed since `start` (UTC).

        Never in non-working time, except exactly at the end of a working period. With 0 hours:
        `start` itself if it is working time, else the start of the next working period.
        """
        start = _aware(start).astimezone(UTC)
        if hours < 0:
            raise ValueError("hours must not be negative")
        remaining = timedelta(hours=hours)
        if self.always_open:
            return start + remaining
        for period_start, period_end in self.periods_from(start):
            begin = max(period_start, start)
            available = period_end - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise AssertionError("unreachable: periods_from raises when it runs out")

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Working hours from `a` to `b` (negative when `b` is before `a`)."""
        a, b = _aware(a), _aware(b)
        if b < a:
            return -self.working_hours_between(b, a)
        if self.always_open:
            return (b - a).total_seconds() / 3600
        total = timedelta(0)
        for period_start, period_end in self.periods_from(a):
            if period_start >= b:
                break
            total += min(period_end, b) - max(period_start, a)
        return total.total_seconds() / 3600

    # Plain data ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "working_days": [WEEKDAYS[d] for d in sorted(self.working_days)],
            "start": format_clock_time(self.start_minute),
            "end": format_clock_time(self.end_minute),
            "holidays": [d.isoformat() for d in sorted(self.holidays)],
            "always_open": self.always_open,
            "public_holidays": self.public_holidays,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calendar:
        """The inverse of `to_dict`; raises CalendarError naming the field at fault."""
        days = []
        for i, name in enumerate(data.get("working_days", WEEKDAYS[:5])):
            if name not in WEEKDAYS:
                raise CalendarError(f"working_days.{i}", f"{name!r} is not one of {', '.join(WEEKDAYS)}")
            days.append(WEEKDAYS.index(name))
        holidays = []
        for i, value in enumerate(data.get("holidays", [])):
            try:
                holidays.append(value if isinstance(value, date) else date.fromisoformat(value))
            except (TypeError, ValueError) as exc:
                raise CalendarError(f"holidays.{i}", f"{value!r} is not a date (YYYY-MM-DD)") from exc
        return cls(
            timezone=data.get("timezone", "Europe/Athens"),
            working_days=frozenset(days),
            start_minute=parse_clock_time(data.get("start", "09:00"), "start"),
            end_minute=parse_clock_time(data.get("end", "17:00"), "end"),
            holidays=frozenset(holidays),
            always_open=bool(data.get("always_open", False)),
            public_holidays=data.get("public_holidays"),
        )


# Greece's public holidays (New Year, Epiphany, Clean Monday, 25 March, Orthodox Good Friday and Easter Monday,
# 1 May, Whit Monday, 15 August, 28 October, Christmas), every year, from the `holidays` package.
DEFAULT_CALENDAR = Calendar(public_holidays="GR")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
    return moment
