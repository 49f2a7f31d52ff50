"""Business-time arithmetic (DESIGN §5) over the real China calendar of 2026.

Working hours 09:00–18:00 Asia/Shanghai, so one business day is 9 hours. Every expected instant
below is counted by hand from the official 2026 schedule (not by the code under test); the comment
next to it shows the count. The 2026 schedule used:

- New Year: Thu 01-01 … Sat 01-03 off; Sun 01-04 worked.
- Spring Festival: Sun 02-15 … Mon 02-23 off; Sat 02-14 and Sat 02-28 worked.
- Labour Day: Fri 05-01 … Tue 05-05 off; Sat 05-09 worked.
- Mid-Autumn: Fri 09-25 off (to Sun 09-27).
- National Day: Thu 10-01 … Wed 10-07 off; Sun 09-20 and Sat 10-10 worked.

No database: the calendar is built from plain values.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cases.sla.business_time import (
    BusinessCalendar,
    CalendarError,
    add_business_days,
    add_business_time,
    business_time_between,
    next_opening,
)
from cases.sla.calendar import build_calendar
from tests.helpers import SH, at

DAY = timedelta(hours=9)


def china(overrides: dict[date, bool] | None = None) -> BusinessCalendar:
    return build_calendar(
        country="CN",
        tz="Asia/Shanghai",
        opens="09:00",
        closes="18:00",
        overrides=overrides or {},
        today=date(2026, 6, 1),
    )


CN = china()


def plus_days(start: datetime, days: float, calendar: BusinessCalendar = CN) -> datetime:
    return add_business_days(calendar, start, days)


# --- 1. Spring Festival ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        pytest.param(
            at(2, 13, 15),
            1,
            at(2, 14, 15),  # Fri 15:00: 3h Fri, 6h Sat 02-14 (make-up day) → Sat 15:00
            id="fri-15h-plus-1-lands-on-the-make-up-saturday",
        ),
        pytest.param(
            at(2, 14, 10),
            1,
            at(2, 24, 10),  # Sat 02-14 10:00: 8h Sat, 02-15…02-23 off, 1h Tue 02-24
            id="make-up-saturday-plus-1-jumps-the-break",
        ),
        pytest.param(
            at(2, 12, 16),
            3,
            at(2, 24, 16),  # 27h: 2h Thu, 9h Fri 02-13, 9h Sat 02-14, 7h Tue 02-24
            id="thu-16h-plus-3",
        ),
        pytest.param(
            at(2, 18, 11),
            1,
            at(2, 24, 18),  # Wed 02-18 is off: counts from Tue 02-24 09:00, 9h → 18:00
            id="submitted-during-the-break",
        ),
        pytest.param(
            at(2, 27, 17),
            1,
            at(2, 28, 17),  # Fri 02-27 17:00: 1h Fri, 8h Sat 02-28 (make-up day)
            id="fri-plus-1-lands-on-the-second-make-up-saturday",
        ),
    ],
)
def test_deadlines_across_the_spring_festival(start: datetime, days: int, due: datetime) -> None:
    assert plus_days(start, days) == due


def test_business_time_across_the_spring_festival_counts_only_the_make_up_saturday() -> None:
    # Fri 02-13 09:00 → Tue 02-24 09:00: 9h Fri + 9h Sat 02-14; 02-15…02-23 off; Tue not begun.
    assert business_time_between(CN, at(2, 13, 9), at(2, 24, 9)) == timedelta(hours=18)


def test_next_opening_during_the_spring_festival_is_the_first_day_back() -> None:
    # Sun 02-15 … Mon 02-23 are all off: the next opening is Tue 02-24 09:00.
    assert next_opening(CN, at(2, 15, 10)) == at(2, 24, 9)


# --- 2. National Day (and Mid-Autumn) -------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        pytest.param(
            at(9, 30, 14),
            1,
            at(10, 8, 14),  # Wed 14:00: 4h Wed, 10-01…10-07 off, 5h Thu 10-08
            id="wed-before-the-break",
        ),
        pytest.param(
            at(9, 18, 17),
            1,
            at(9, 20, 17),  # Fri 17:00: 1h Fri, Sat 09-19 off, 8h Sun 09-20 (make-up day)
            id="fri-before-the-make-up-sunday",
        ),
        pytest.param(
            at(10, 9, 17),
            1,
            at(10, 10, 17),  # Fri 17:00: 1h Fri, 8h Sat 10-10 (make-up day)
            id="fri-before-the-make-up-saturday",
        ),
        pytest.param(
            at(9, 24, 17),
            1,
            at(9, 28, 17),  # Thu 17:00: 1h Thu, Fri 09-25 Mid-Autumn off, 8h Mon 09-28
            id="mid-autumn-friday",
        ),
        pytest.param(
            at(10, 3, 12),
            1,
            at(10, 8, 18),  # Sat 10-03 inside the break: from Thu 10-08 09:00, 9h → 18:00
            id="submitted-during-the-break",
        ),
    ],
)
def test_deadlines_across_national_day(start: datetime, days: int, due: datetime) -> None:
    assert plus_days(start, days) == due


def test_business_time_across_national_day() -> None:
    # Wed 09-30 09:00 → Fri 10-09 09:00: 9h Wed + 9h Thu 10-08; 10-01…10-07 off; Fri not begun.
    assert business_time_between(CN, at(9, 30, 9), at(10, 9, 9)) == timedelta(hours=18)


# --- 3. Friday evenings and make-up Sundays -------------------------------------------------


def test_friday_evening_submission_counts_from_monday_morning() -> None:
    # Fri 03-06 20:00 is after hours, Sat/Sun off: Mon 03-09 09:00 + 9h → Mon 18:00.
    assert plus_days(at(3, 6, 20), 1) == at(3, 9, 18)


def test_saturday_submission_counts_from_monday_morning() -> None:
    # Sat 03-07 is an ordinary weekend day: Mon 03-09 09:00 + 9h → Mon 18:00.
    assert plus_days(at(3, 7, 10), 1) == at(3, 9, 18)


def test_submission_on_the_national_day_make_up_sunday_counts_that_sunday() -> None:
    # Sun 09-20 10:00 (worked): 8h Sun, 1h Mon 09-21 → Mon 10:00.
    assert plus_days(at(9, 20, 10), 1) == at(9, 21, 10)


def test_submission_on_the_new_year_make_up_sunday_morning() -> None:
    # Sun 01-04 08:30 (worked) counts from 09:00: 9h → Sun 01-04 18:00.
    assert plus_days(at(1, 4, 8, 30), 1) == at(1, 4, 18)


def test_new_years_eve_deadline_lands_on_the_make_up_sunday() -> None:
    # Wed 2025-12-31 16:00: 2h Wed, Thu 01-01…Sat 01-03 off, 7h Sun 01-04 → Sun 16:00.
    assert plus_days(at(12, 31, 16, year=2025), 1) == at(1, 4, 16)


# --- 4. The edges of the working day (an ordinary Tuesday, 2026-03-10) ----------------------


@pytest.mark.parametrize(
    ("start", "amount", "due"),
    [
        pytest.param(at(3, 10, 8, 59), DAY, at(3, 10, 18), id="08:59-counts-from-09:00"),
        pytest.param(at(3, 10, 9), DAY, at(3, 10, 18), id="09:00-plus-1-day-stays-at-18:00"),
        pytest.param(
            at(3, 10, 17, 59),
            DAY,
            at(3, 11, 17, 59),  # 1 min Tue, 8h59m Wed → Wed 17:59
            id="17:59-plus-1-day",
        ),
        pytest.param(at(3, 10, 18), DAY, at(3, 11, 18), id="18:00-counts-from-next-morning"),
        pytest.param(at(3, 10, 18, 1), DAY, at(3, 11, 18), id="18:01-counts-from-next-morning"),
        pytest.param(
            at(3, 10, 17),
            timedelta(hours=1),
            at(3, 10, 18),  # exactly at closing: stays at Tue 18:00, not Wed 09:00
            id="lands-exactly-at-closing",
        ),
        pytest.param(
            at(3, 10, 17),
            timedelta(hours=1, seconds=1),
            at(3, 11, 9, 0, 1),  # 1h Tue, then 1s Wed
            id="one-second-past-closing-goes-to-next-morning",
        ),
    ],
)
def test_edges_of_the_working_day(start: datetime, amount: timedelta, due: datetime) -> None:
    assert add_business_time(CN, start, amount) == due


@pytest.mark.parametrize(
    ("instant", "opening"),
    [
        pytest.param(at(3, 10, 8, 59), at(3, 10, 9), id="08:59"),
        pytest.param(at(3, 10, 9), at(3, 10, 9), id="09:00"),
        pytest.param(at(3, 10, 12, 34), at(3, 10, 12, 34), id="in-hours"),
        pytest.param(at(3, 10, 17, 59, 59), at(3, 10, 17, 59, 59), id="17:59:59"),
        pytest.param(at(3, 10, 18), at(3, 11, 9), id="18:00"),
        pytest.param(at(3, 10, 18, 1), at(3, 11, 9), id="18:01"),
        pytest.param(at(3, 13, 18, 1), at(3, 16, 9), id="friday-18:01-to-monday"),
    ],
)
def test_next_opening(instant: datetime, opening: datetime) -> None:
    assert next_opening(CN, instant) == opening


# --- 5. Overrides -------------------------------------------------------------------------


def test_a_wednesday_overridden_off_moves_the_deadline_to_thursday() -> None:
    start = at(6, 9, 14)  # Tue
    # Plain calendar: 4h Tue, 5h Wed 06-10 → Wed 14:00.
    assert plus_days(start, 1) == at(6, 10, 14)
    # Wed 06-10 off: 4h Tue, 5h Thu 06-11 → Thu 14:00.
    assert plus_days(start, 1, china({date(2026, 6, 10): False})) == at(6, 11, 14)


def test_a_saturday_overridden_to_working_pulls_the_deadline_in() -> None:
    start = at(6, 12, 14)  # Fri
    # Plain calendar: 4h Fri, weekend off, 5h Mon 06-15 → Mon 14:00.
    assert plus_days(start, 1) == at(6, 15, 14)
    # Sat 06-13 worked: 4h Fri, 5h Sat → Sat 14:00.
    assert plus_days(start, 1, china({date(2026, 6, 13): True})) == at(6, 13, 14)


def test_a_make_up_day_overridden_off_is_skipped() -> None:
    # Sat 02-14 off by override: 3h Fri 02-13, 02-14…02-23 off, 6h Tue 02-24 → Tue 15:00.
    calendar = china({date(2026, 2, 14): False})
    assert plus_days(at(2, 13, 15), 1, calendar) == at(2, 24, 15)
    # Sat 02-14 10:00 now counts from Tue 02-24 09:00 → Tue 18:00.
    assert plus_days(at(2, 14, 10), 1, calendar) == at(2, 24, 18)


def test_a_public_holiday_overridden_to_working_is_counted() -> None:
    # Fri 10-02 worked by override: 4h Wed 09-30, Thu 10-01 off, 5h Fri 10-02 → Fri 14:00.
    calendar = china({date(2026, 10, 2): True})
    assert plus_days(at(9, 30, 14), 1, calendar) == at(10, 2, 14)


# --- 6. Business days and fractions -------------------------------------------------------


def test_one_business_day_is_nine_hours() -> None:
    assert CN.day_length == timedelta(hours=9)


@pytest.mark.parametrize(
    ("days", "due"),
    [
        pytest.param(1, at(3, 10, 10), id="1-tue"),  # Mon 03-09 10:00 → Tue 10:00
        pytest.param(2, at(3, 11, 10), id="2-wed"),
        pytest.param(3, at(3, 12, 10), id="3-thu"),
        pytest.param(4, at(3, 13, 10), id="4-fri"),
        pytest.param(5, at(3, 16, 10), id="5-next-mon"),  # weekend 03-14/15 skipped
    ],
)
def test_business_days_one_to_five_in_an_ordinary_week(days: int, due: datetime) -> None:
    assert plus_days(at(3, 9, 10), days) == due


def test_five_business_days_across_labour_day() -> None:
    # Thu 04-30 10:00; 05-01…05-05 off; working days after it: Wed 05-06, Thu 05-07, Fri 05-08,
    # Sat 05-09 (make-up), Mon 05-11 → the fifth is Mon 05-11 10:00.
    assert plus_days(at(4, 30, 10), 5) == at(5, 11, 10)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        pytest.param(at(3, 9, 9), 0.75, at(3, 9, 15, 45), id="75pc-from-opening"),
        pytest.param(
            at(3, 9, 14),
            0.75,
            at(3, 10, 11, 45),  # 6h45m: 4h Mon, 2h45m Tue → Tue 11:45
            id="75pc-over-the-night",
        ),
        pytest.param(at(3, 9, 9), 0.5, at(3, 9, 13, 30), id="half-a-day"),
        pytest.param(
            at(3, 13, 16),
            1.5,
            at(3, 17, 11, 30),  # 13h30m: 2h Fri, 9h Mon, 2h30m Tue → Tue 11:30
            id="one-and-a-half-over-a-weekend",
        ),
    ],
)
def test_fractional_business_days(start: datetime, days: float, due: datetime) -> None:
    assert plus_days(start, days) == due


def test_seventy_five_percent_of_a_day_is_six_hours_forty_five() -> None:
    assert CN.day_length * 0.75 == timedelta(hours=6, minutes=45)


# --- 7. business_time_between -------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "elapsed"),
    [
        pytest.param(at(3, 10, 10), at(3, 10, 10), timedelta(0), id="zero-span"),
        pytest.param(at(3, 10, 15), at(3, 10, 10), timedelta(0), id="negative-span"),
        pytest.param(
            at(3, 10, 10),
            at(3, 10, 15, 30),
            timedelta(hours=5, minutes=30),
            id="within-one-day",
        ),
        pytest.param(at(3, 10, 7), at(3, 10, 20), timedelta(hours=9), id="around-one-day"),
        pytest.param(at(3, 10, 19), at(3, 11, 8), timedelta(0), id="overnight-is-nothing"),
        pytest.param(
            at(3, 13, 16),
            at(3, 16, 11),
            timedelta(hours=4),  # 2h Fri + 2h Mon
            id="over-a-weekend",
        ),
        pytest.param(at(3, 14, 10), at(3, 15, 17), timedelta(0), id="inside-a-weekend"),
        pytest.param(
            at(3, 9, 9),
            at(3, 16, 9),
            timedelta(hours=45),  # Mon…Fri, 5 × 9h
            id="one-week",
        ),
    ],
)
def test_business_time_between(start: datetime, end: datetime, elapsed: timedelta) -> None:
    assert business_time_between(CN, start, end) == elapsed


@pytest.mark.parametrize(
    ("start", "amount"),
    [
        pytest.param(at(2, 13, 15), DAY, id="spring-festival"),
        pytest.param(at(9, 30, 14), 3 * DAY, id="national-day"),
        pytest.param(at(3, 10, 9), DAY, id="lands-at-closing"),
        pytest.param(at(3, 10, 12, 34, 56), timedelta(seconds=1), id="one-second"),
    ],
)
def test_round_trip_examples(start: datetime, amount: timedelta) -> None:
    assert business_time_between(CN, start, add_business_time(CN, start, amount)) == amount


# Instants of 2026 to the second (Shanghai wall clock), amounts from 0 to 5 business days.
YEAR_START = at(1, 1, 0)
SECONDS_IN_2026 = 365 * 24 * 3600
instants_2026 = st.integers(0, SECONDS_IN_2026 - 1).map(lambda s: YEAR_START + timedelta(seconds=s))
amounts = st.integers(0, 5 * 9 * 3600).map(lambda s: timedelta(seconds=s))


def in_working_hours(instant: datetime) -> datetime:
    """The same day (or the next working day) at the same time of day clamped into 09:00–18:00.

    Moves the drawn instant into working hours without asking the code under test where it is:
    the clock time is folded into the 9-hour window, the date moved past weekends and the
    2026 holidays listed in the module docstring.
    """
    local = instant.astimezone(SH)
    seconds = (local.hour * 3600 + local.minute * 60 + local.second) % (9 * 3600)
    day = local.date()
    while not _works_in_2026(day):
        day += timedelta(days=1)
    return datetime.combine(day, time(9), tzinfo=SH) + timedelta(seconds=seconds)


def _dates(first: date, last: date) -> set[date]:
    return {first + timedelta(days=n) for n in range((last - first).days + 1)}


# The official schedule, by hand (see the module docstring).
DAYS_OFF_2026 = (
    _dates(date(2026, 1, 1), date(2026, 1, 3))
    | _dates(date(2026, 2, 15), date(2026, 2, 23))
    | _dates(date(2026, 4, 4), date(2026, 4, 6))
    | _dates(date(2026, 5, 1), date(2026, 5, 5))
    | _dates(date(2026, 6, 19), date(2026, 6, 21))
    | _dates(date(2026, 9, 25), date(2026, 9, 27))
    | _dates(date(2026, 10, 1), date(2026, 10, 7))
)
MAKE_UP_DAYS_2026 = {
    date(2026, 1, 4),
    date(2026, 2, 14),
    date(2026, 2, 28),
    date(2026, 5, 9),
    date(2026, 9, 20),
    date(2026, 10, 10),
}


def _works_in_2026(day: date) -> bool:
    if day in MAKE_UP_DAYS_2026:
        return True
    return day.weekday() < 5 and day not in DAYS_OFF_2026


def test_the_hand_written_schedule_agrees_with_the_calendar() -> None:
    """The schedule the property tests use to pick working-hours starts matches the package."""
    for day in _dates(date(2026, 1, 1), date(2026, 12, 31)):
        assert CN.is_working_day(day) == _works_in_2026(day), day


@settings(max_examples=300, deadline=None)
@given(start=instants_2026.map(in_working_hours), amount=amounts)
def test_round_trip_from_working_hours(start: datetime, amount: timedelta) -> None:
    assert business_time_between(CN, start, add_business_time(CN, start, amount)) == amount


@settings(max_examples=300, deadline=None)
@given(start=instants_2026, amount=amounts)
def test_round_trip_from_any_instant(start: datetime, amount: timedelta) -> None:
    assert business_time_between(CN, start, add_business_time(CN, start, amount)) == amount


@settings(max_examples=300, deadline=None)
@given(start=instants_2026, first=amounts.filter(bool), second=amounts)
def test_adding_twice_is_adding_the_sum(
    start: datetime, first: timedelta, second: timedelta
) -> None:
    once = add_business_time(CN, start, first + second)
    assert add_business_time(CN, add_business_time(CN, start, first), second) == once


@settings(max_examples=300, deadline=None)
@given(start=instants_2026, amount=amounts.filter(bool))
def test_a_deadline_is_always_inside_working_hours(start: datetime, amount: timedelta) -> None:
    due = add_business_time(CN, start, amount).astimezone(SH)
    assert _works_in_2026(due.date()) or due.year == 2027
    assert time(9) < due.time() <= time(18)


# --- 8. Errors ----------------------------------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 3, 10, 10)
    with pytest.raises(ValueError, match="aware"):
        add_business_time(CN, naive, DAY)
    with pytest.raises(ValueError, match="aware"):
        add_business_time(CN, naive, timedelta(0))
    with pytest.raises(ValueError, match="aware"):
        add_business_days(CN, naive, 1)
    with pytest.raises(ValueError, match="aware"):
        next_opening(CN, naive)
    with pytest.raises(ValueError, match="aware"):
        business_time_between(CN, naive, at(3, 11, 10))
    with pytest.raises(ValueError, match="aware"):
        business_time_between(CN, at(3, 9, 10), naive)


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        add_business_time(CN, at(3, 10, 10), timedelta(seconds=-1))
    with pytest.raises(ValueError, match="negative"):
        add_business_days(CN, at(3, 10, 10), -1)


@pytest.mark.parametrize(("opens", "closes"), [("18:00", "09:00"), ("09:00", "09:00")])
def test_hours_that_do_not_open_before_they_close_are_refused(opens: str, closes: str) -> None:
    with pytest.raises(CalendarError):
        build_calendar(
            country="CN",
            tz="Asia/Shanghai",
            opens=opens,
            closes=closes,
            overrides={},
            today=date(2026, 6, 1),
        )


def test_malformed_hours_are_refused_with_the_setting_named() -> None:
    with pytest.raises(ValueError, match="SLA_WORKDAY_OPENS"):
        build_calendar(
            country="CN",
            tz="Asia/Shanghai",
            opens="9am",
            closes="18:00",
            overrides={},
            today=date(2026, 6, 1),
        )


def test_a_calendar_without_working_days_raises_calendar_error() -> None:
    every_weekday = frozenset(
        day for day in _dates(date(2026, 1, 1), date(2030, 12, 31)) if day.weekday() < 5
    )
    closed = BusinessCalendar(tz=SH, days_off=every_weekday)
    with pytest.raises(CalendarError):
        add_business_time(closed, at(3, 10, 10), DAY)


@pytest.mark.parametrize(
    "start",
    [
        pytest.param(at(3, 14, 3), id="saturday-night"),
        pytest.param(at(3, 10, 20), id="after-hours"),
        pytest.param(at(2, 17, 11), id="spring-festival"),
        pytest.param(datetime(2026, 3, 10, 12, tzinfo=UTC), id="utc-evening"),
    ],
)
def test_adding_nothing_returns_the_start_even_outside_hours(start: datetime) -> None:
    assert add_business_time(CN, start, timedelta(0)) == start
    assert add_business_days(CN, start, 0) == start


# --- 9. Other time zones ------------------------------------------------------------------


def test_utc_input_is_read_on_the_shanghai_clock() -> None:
    start = datetime(2026, 2, 13, 7, tzinfo=UTC)  # = Fri 02-13 15:00 Shanghai
    # 3h Fri, 6h Sat 02-14 (make-up day) → Sat 15:00 Shanghai.
    assert plus_days(start, 1) == at(2, 14, 15)
    # = 2026-02-14 07:00 UTC.
    assert plus_days(start, 1) == datetime(2026, 2, 14, 7, tzinfo=UTC)


def test_utc_friday_evening_is_already_saturday_in_shanghai() -> None:
    # 2026-03-06 23:30 UTC (Fri) = Sat 03-07 07:30 Shanghai: the next opening is Mon 03-09.
    assert next_opening(CN, datetime(2026, 3, 6, 23, 30, tzinfo=UTC)) == at(3, 9, 9)
    # 2026-03-08 23:00 UTC (Sun) = Mon 03-09 07:00 Shanghai: the opening is that Monday.
    assert next_opening(CN, datetime(2026, 3, 8, 23, tzinfo=UTC)) == at(3, 9, 9)


def test_utc_instant_exactly_at_shanghai_closing() -> None:
    # 2026-02-13 10:00 UTC = Fri 18:00 Shanghai: 1h counts from Sat 02-14 09:00 → 10:00.
    assert add_business_time(CN, datetime(2026, 2, 13, 10, tzinfo=UTC), timedelta(hours=1)) == at(
        2, 14, 10
    )


def test_business_time_between_mixed_time_zones() -> None:
    # Fri 02-13 15:00 Shanghai (07:00 UTC) → Sat 02-14 12:00 Shanghai: 3h Fri + 3h Sat.
    start = datetime(2026, 2, 13, 7, tzinfo=UTC)
    assert business_time_between(CN, start, at(2, 14, 12)) == timedelta(hours=6)
