"""The working-time calendar: property-based (hypothesis) and worked examples, DST included."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from shared.workcalendar import DEFAULT_CALENDAR, WEEKDAYS, Calendar, CalendarError, is_known_country

ATHENS = ZoneInfo("Europe/Athens")
UTC = UTC

# Instants from 2024 to 2030: several DST transitions in each direction.
instants = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC))
hours = st.floats(min_value=0, max_value=400, allow_nan=False, allow_infinity=False)
zones = st.sampled_from(
    [
        "Europe/Athens",
        "Europe/London",
        "America/New_York",
        "Australia/Sydney",
        "Asia/Kolkata",
        "UTC",
        "America/Sao_Paulo",
    ]
)


@st.composite
def calendars(draw) -> Calendar:
    """Calendars on whole hours (so a wall-clock check can judge them independently), with holidays."""
    start = draw(st.integers(min_value=0, max_value=23))
    end = draw(st.integers(min_value=start + 1, max_value=24))
    days = draw(st.frozensets(st.integers(min_value=0, max_value=6), min_size=1))
    holidays = draw(st.frozensets(st.dates(min_value=date(2024, 1, 1), max_value=date(2031, 3, 1)), max_size=40))
    return Calendar(
        timezone=draw(zones), working_days=days, start_minute=start * 60, end_minute=end * 60, holidays=holidays
    )


def working_by_the_wall_clock(cal: Calendar, moment: datetime) -> bool:
    """An oracle that does not use the calendar's periods: read the local wall clock."""
    local = moment.astimezone(cal.zone)
    minute = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 60e6
    return (
        local.weekday() in cal.working_days
        and local.date() not in cal.holidays
        and cal.start_minute <= minute < cal.end_minute
    )


def is_period_end(cal: Calendar, moment: datetime) -> bool:
    local_day = moment.astimezone(cal.zone).date()
    return any(
        (p := cal.period_of(d)) is not None and p[1] == moment for d in (local_day - timedelta(days=1), local_day)
    )


# Properties -----------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(cal=calendars(), start=instants, h=hours)
def test_a_deadline_never_falls_in_non_working_time(cal, start, h):
    deadline = cal.add_working_hours(start, h)
    assert deadline.tzinfo is not None
    assert working_by_the_wall_clock(cal, deadline) or is_period_end(cal, deadline), (
        f"{deadline.astimezone(cal.zone)} is outside working time"
    )
    assert cal.is_working_time(deadline) or is_period_end(cal, deadline)


@settings(max_examples=300, deadline=None)
@given(cal=calendars(), start=instants, h1=hours, h2=hours)
def test_a_deadline_grows_with_the_hours_asked(cal, start, h1, h2):
    low, high = sorted((h1, h2))
    assert cal.add_working_hours(start, low) <= cal.add_working_hours(start, high)
    if high - low >= 1 / 3600:  # at least a second more: strictly later
        assert cal.add_working_hours(start, low) < cal.add_working_hours(start, high)


@settings(max_examples=200, deadline=None)
@given(cal=calendars(), start=instants, h=st.floats(min_value=1 / 60, max_value=400))
def test_positive_hours_end_strictly_after_the_start(cal, start, h):
    assert cal.add_working_hours(start, h) > start


@settings(max_examples=300, deadline=None)
@given(cal=calendars(), start=instants, h=hours)
def test_the_working_hours_to_a_deadline_are_the_hours_asked(cal, start, h):
    deadline = cal.add_working_hours(start, h)
    assert cal.working_hours_between(start, deadline) == pytest.approx(h, abs=1e-6)
    assert cal.working_hours_between(deadline, start) == pytest.approx(-h, abs=1e-6)


@settings(max_examples=300, deadline=None)
@given(tz=zones, start=instants, h=hours)
def test_under_24_7_a_deadline_is_wall_clock_time(tz, start, h):
    cal = Calendar.twenty_four_seven(tz)
    assert cal.add_working_hours(start, h) == start + timedelta(hours=h)
    assert cal.working_hours_between(start, start + timedelta(hours=h)) == pytest.approx(h, abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(tz=zones, start=instants, h=hours)
def test_every_hour_of_every_day_is_real_elapsed_time_across_dst(tz, start, h):
    """A calendar open 00:00-24:00 every day counts real hours, even on 23- and 25-hour days."""
    cal = Calendar(timezone=tz, working_days=frozenset(range(7)), start_minute=0, end_minute=24 * 60)
    assert cal.add_working_hours(start, h) == start + timedelta(hours=h)


@settings(max_examples=200, deadline=None)
@given(cal=calendars(), a=instants, b=instants, c=instants)
def test_working_hours_add_up_over_consecutive_spans(cal, a, b, c):
    a, b, c = sorted((a, b, c))
    assume((c - a) < timedelta(days=400))
    whole = cal.working_hours_between(a, c)
    assert whole == pytest.approx(cal.working_hours_between(a, b) + cal.working_hours_between(b, c), abs=1e-6)
    assert 0 <= whole <= (c - a).total_seconds() / 3600 + 1e-9


# Worked examples ------------------------------------------------------------------------------------
def athens(*args) -> datetime:
    return datetime(*args, tzinfo=ATHENS)


def test_default_calendar_is_athens_office_hours():
    cal = Calendar()
    assert cal.to_dict() == {
        "timezone": "Europe/Athens",
        "working_days": ["mon", "tue", "wed", "thu", "fri"],
        "start": "09:00",
        "end": "17:00",
        "holidays": [],
        "always_open": False,
        "public_holidays": None,
    }


def test_friday_afternoon_rolls_over_the_weekend():
    cal = Calendar()
    # Friday 2026-01-16 16:00 + 2 h -> Monday 10:00.
    assert cal.add_working_hours(athens(2026, 1, 16, 16), 2) == athens(2026, 1, 19, 10)
    # Saturday night + 1 h -> Monday 10:00; 0 h -> the start of Monday.
    assert cal.add_working_hours(athens(2026, 1, 17, 23), 1) == athens(2026, 1, 19, 10)
    assert cal.add_working_hours(athens(2026, 1, 17, 23), 0) == athens(2026, 1, 19, 9)
    # Exactly the end of a day is allowed as a deadline.
    assert cal.add_working_hours(athens(2026, 1, 19, 9), 8) == athens(2026, 1, 19, 17)


def test_holidays_are_skipped():
    cal = Calendar(holidays=frozenset({date(2026, 1, 19), date(2026, 1, 20)}))
    assert cal.add_working_hours(athens(2026, 1, 16, 16), 2) == athens(2026, 1, 21, 10)


def test_spring_forward_weekend_in_athens():
    """Clocks jump 03:00 -> 04:00 on Sunday 2026-03-29: Friday 16:00 + 2 h is Monday 10:00 local (EEST)."""
    cal = Calendar()
    friday = athens(2026, 3, 27, 16)
    deadline = cal.add_working_hours(friday, 2)
    assert deadline == athens(2026, 3, 30, 10)
    assert deadline.utcoffset() is None or deadline.astimezone(ATHENS).utcoffset() == timedelta(hours=3)
    assert deadline == datetime(2026, 3, 30, 7, tzinfo=UTC)


def test_fall_back_sunday_has_25_hours_and_spring_sunday_23():
    every_hour = Calendar(working_days=frozenset(range(7)), start_minute=0, end_minute=24 * 60)
    assert every_hour.working_hours_between(athens(2026, 3, 29), athens(2026, 3, 30)) == 23
    assert every_hour.working_hours_between(athens(2026, 10, 25), athens(2026, 10, 26)) == 25


def test_a_night_shift_over_the_spring_gap_counts_real_hours():
    """02:00-05:00 on 2026-03-29 in Athens is 02:00 EET to 05:00 EEST: two real hours."""
    night = Calendar(working_days=frozenset({6}), start_minute=2 * 60, end_minute=5 * 60)
    sunday = night.period_of(date(2026, 3, 29))
    assert sunday == (datetime(2026, 3, 29, 0, tzinfo=UTC), datetime(2026, 3, 29, 2, tzinfo=UTC))
    assert night.add_working_hours(athens(2026, 3, 29, 1), 2.5) == athens(2026, 4, 5, 2, 30)


def test_validation_names_the_field():
    with pytest.raises(CalendarError) as err:
        Calendar(timezone="Mars/Olympus_Mons")
    assert err.value.field == "timezone"
    with pytest.raises(CalendarError) as err:
        Calendar(start_minute=17 * 60, end_minute=9 * 60)
    assert err.value.field == "end"
    with pytest.raises(CalendarError) as err:
        Calendar(working_days=frozenset())
    assert err.value.field == "working_days"
    with pytest.raises(CalendarError) as err:
        Calendar.from_dict({"start": "9am"})
    assert err.value.field == "start"
    with pytest.raises(CalendarError) as err:
        Calendar.from_dict({"holidays": ["2026-01-01", "2026-02-30"]})
    assert err.value.field == "holidays.1"
    with pytest.raises(CalendarError) as err:
        Calendar.from_dict({"working_days": ["mon", "funday"]})
    assert err.value.field == "working_days.1"
    with pytest.raises(ValueError):
        Calendar().add_working_hours(datetime(2026, 1, 1, 9), 1)  # naive
    with pytest.raises(ValueError):
        Calendar().add_working_hours(athens(2026, 1, 5, 9), -1)


def test_round_trip_through_plain_data():
    cal = Calendar(
        timezone="Europe/London",
        working_days=frozenset({0, 2, 4}),
        start_minute=8 * 60 + 30,
        end_minute=24 * 60,
        holidays=frozenset({date(2026, 12, 25)}),
    )
    assert Calendar.from_dict(cal.to_dict()) == cal
    assert cal.to_dict()["end"] == "24:00" and cal.to_dict()["working_days"] == [WEEKDAYS[0], WEEKDAYS[2], WEEKDAYS[4]]


def test_a_start_inside_the_spring_gap_is_read_with_the_offset_before_the_jump():
    """03:30 does not exist in Athens on 2026-03-29; like Java's ZonedDateTime it means 04:30 EEST."""
    cal = Calendar(working_days=frozenset({6}), start_minute=3 * 60 + 30, end_minute=6 * 60)
    assert cal.period_of(date(2026, 3, 29)) == (athens(2026, 3, 29, 4, 30), athens(2026, 3, 29, 6))
    assert cal.working_hours_between(athens(2026, 3, 29), athens(2026, 3, 30)) == 1.5


# Greece's public holidays (issue 14) ----------------------------------------------------------------
GREEK_HOLIDAYS_2027 = [
    date(2027, 1, 1),  # New Year
    date(2027, 1, 6),  # Epiphany
    date(2027, 3, 15),  # Clean Monday (Orthodox Lent begins: 48 days before Easter, 2 May)
    date(2027, 3, 25),  # Independence Day
    date(2027, 4, 30),  # Orthodox Good Friday
    date(2027, 5, 3),  # Orthodox Easter Monday
    date(2027, 6, 21),  # Whit Monday
    date(2027, 10, 28),  # Ohi Day
]


@pytest.mark.parametrize("day", GREEK_HOLIDAYS_2027, ids=str)
def test_the_default_calendar_knows_greeces_public_holidays(day):
    assert DEFAULT_CALENDAR.is_holiday(day) and DEFAULT_CALENDAR.period_of(day) is None
    assert Calendar().period_of(day) is not None  # a calendar without them works that weekday


def test_the_default_calendar_rolls_forward_movable_feasts_included():
    # Orthodox Easter 2040 is 6 May; 2051 is 7 May: their Mondays, and Clean Mondays 48 days before Easter.
    for easter in (date(2040, 5, 6), date(2051, 5, 7)):
        assert DEFAULT_CALENDAR.is_holiday(easter + timedelta(days=1))
        assert DEFAULT_CALENDAR.is_holiday(easter - timedelta(days=48))
        assert not DEFAULT_CALENDAR.is_holiday(easter + timedelta(days=2))
    assert DEFAULT_CALENDAR.is_holiday(date(2045, 8, 15)) and DEFAULT_CALENDAR.is_holiday(date(2045, 10, 28))


def test_a_deadline_skips_a_greek_holiday():
    # Friday 12 March 2027 at 16:00 (Athens) plus 2 working hours: 1 on Friday, Clean Monday off, 1 on Tuesday.
    athens = ZoneInfo("Europe/Athens")
    start = datetime(2027, 3, 12, 16, 0, tzinfo=athens)
    assert DEFAULT_CALENDAR.add_working_hours(start, 2) == datetime(2027, 3, 16, 10, 0, tzinfo=athens)
    assert Calendar().add_working_hours(start, 2) == datetime(2027, 3, 15, 10, 0, tzinfo=athens)


def test_public_holidays_travel_in_the_plain_data_and_an_unknown_country_is_refused():
    assert DEFAULT_CALENDAR.to_dict()["public_holidays"] == "GR"
    assert Calendar.from_dict(DEFAULT_CALENDAR.to_dict()) == DEFAULT_CALENDAR
    assert Calendar.from_dict({}).public_holidays is None  # a calendar stored before keeps meaning what it meant
    with pytest.raises(CalendarError) as refused:
        Calendar(public_holidays="XX")
    assert refused.value.field == "public_holidays"


def test_working_periods_are_kept_once_worked_out_and_the_store_is_bounded(monkeypatch):
    import shared.workcalendar as wc

    calendar = Calendar(timezone="Europe/Athens", public_holidays="GR")
    fresh = Calendar(timezone="Europe/Athens", public_holidays="GR")
    days = [date(2026, 3, 1) + timedelta(days=n) for n in range(400)]  # both DST changes, Orthodox Easter
    assert [calendar.period_of(d) for d in days] == [fresh._work_out_period(d) for d in days]
    assert [calendar.period_of(d) for d in days] == [fresh.period_of(d) for d in days]  # kept, the same
    assert calendar == fresh  # what is kept is no part of the calendar's value

    monkeypatch.setattr(wc, "_PERIODS_KEPT", 50)
    small = Calendar(timezone="UTC")
    for d in days:
        small.period_of(d)
    assert len(small._periods) <= 50


def test_a_calendar_read_again_unchanged_keeps_what_it_worked_out():
    from services.tasks.calendar import CalendarCache

    cache = CalendarCache()
    first = Calendar.from_dict(DEFAULT_CALENDAR.to_dict())
    cache.put(first)
    cache.put(Calendar.from_dict(DEFAULT_CALENDAR.to_dict()))
    assert cache.calendar is first
    changed = Calendar.from_dict({**DEFAULT_CALENDAR.to_dict(), "start": "08:00"})
    cache.put(changed)
    assert cache.calendar is changed


def _holidays_in_a_fresh_process(expression: str) -> str:
    probe = (
        "import sys; from shared.workcalendar import public_holidays_of; import holidays; "
        f"table = {expression}; "
        "print(sorted((d.isoformat(), n) for y in (2025, 2026, 2031) for d, n in table.__class__(years=y).items())); "
        "print(sum(1 for m in sys.modules if m.startswith('holidays.countries.')), file=sys.stderr)"
    )
    return subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)


@pytest.mark.parametrize("country", ["GR", "CY", "DE", "US", "GB"])
def test_a_countrys_table_is_the_one_holidays_gives_and_comes_alone(country):
    # holidays.country_holidays imports all ~250 countries (8 MB of a process) to reach one; a calendar loads its own.
    ours = _holidays_in_a_fresh_process(f"public_holidays_of({country!r})")
    theirs = _holidays_in_a_fresh_process(f"holidays.country_holidays({country!r})")
    assert ours.stdout == theirs.stdout and len(ours.stdout) > 100
    assert int(ours.stderr) == 1 and int(theirs.stderr) > 200
    assert is_known_country(country)
    assert not is_known_country(country.lower()) and not is_known_country("XX")
