"""Business-time arithmetic (DESIGN §5): pure functions over a calendar, no ORM.

A business day is the calendar's working hours on a working day. Work that starts outside the
working hours starts counting at the next opening; a deadline that falls exactly at a closing time
stays there (it is not pushed to the next morning). N business days are N times the daily working
hours, so a target of one day submitted at 14:00 is due at 14:00 the next working day.

The calendar says which days are working days; `cases.sla.calendar` builds it from the `holidays`
package and the override table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# No deadline is further away than this; a calendar without any working day is a misconfiguration.
MAX_DAYS_SEARCHED = 3 * 366
ZERO = timedelta(0)


class CalendarError(ValueError):
    """The calendar cannot answer: no working day within reach, or hours that make no sense."""


@dataclass(frozen=True)
class BusinessCalendar:
    """Working hours in one time zone, weekdays Monday–Friday, and the exceptions to them.

    `days_off` are otherwise-working weekdays that are not worked (public holidays, overrides);
    `extra_workdays` are weekend days that are worked (make-up days, 调休, and overrides). A date in
    both is a working day only if listed in `extra_workdays` — overrides are applied by the builder.
    """

    tz: ZoneInfo
    opens: time = time(9, 0)
    closes: time = time(18, 0)
    days_off: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise CalendarError(f"working hours must open before they close: {self}")

    @property
    def day_length(self) -> timedelta:
        """The working time of one business day."""
        return datetime.combine(date.min, self.closes) - datetime.combine(date.min, self.opens)

    def is_working_day(self, day: date) -> bool:
        if day in self.extra_workdays:
            return True
        return day.weekday() < 5 and day not in self.days_off

    def window(self, day: date) -> tuple[datetime, datetime]:
        """The opening and closing instants of `day` (whether or not it is a working day)."""
        return (
            datetime.combine(day, self.opens, tzinfo=self.tz),
            datetime.combine(day, self.closes, tzinfo=self.tz),
        )

    def working_windows(self, start: datetime) -> Iterable[tuple[datetime, datetime]]:
        """The working windows from `start` on, the first one cut at `start`."""
        local = _aware(start).astimezone(self.tz)
        day = local.date()
        for _ in range(MAX_DAYS_SEARCHED):
            if self.is_working_day(day):
                opens, closes = self.window(day)
                if local < closes:
                    yield max(local, opens), closes
            day += timedelta(days=1)
        raise CalendarError(f"no working day within {MAX_DAYS_SEARCHED} days of {start}")


def _aware(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError(f"business-time arithmetic needs an aware datetime, got {instant!r}")
    return instant


def add_business_time(calendar: BusinessCalendar, start: datetime, amount: timedelta) -> datetime:
    """The instant at which `amount` of business time has passed since `start`.

    Zero business time is `start` itself, even outside working hours.
    """
    if amount < ZERO:
        raise ValueError(f"cannot add a negative business time: {amount}")
    if amount == ZERO:
        return _aware(start)
    remaining = amount
    for opens, closes in calendar.working_windows(start):
        available = closes - opens
        if remaining <= available:
            return opens + remaining
        remaining -= available
    raise AssertionError("unreachable: working_windows raises when it runs out")  # pragma: no cover


def add_business_days(calendar: BusinessCalendar, start: datetime, days: float) -> datetime:
    """`start` plus `days` business days (each the calendar's daily working hours)."""
    return add_business_time(calendar, start, calendar.day_length * days)


def business_time_between(calendar: BusinessCalendar, start: datetime, end: datetime) -> timedelta:
    """The business time from `start` to `end`; zero when `end` is not after `start`."""
    total = ZERO
    if _aware(end) <= _aware(start):
        return total
    for opens, closes in calendar.working_windows(start):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return total


def next_opening(calendar: BusinessCalendar, instant: datetime) -> datetime:
    """`instant` when it falls in working hours, else the next opening."""
    for opens, _closes in calendar.working_windows(instant):
        return opens
    raise AssertionError("unreachable")  # pragma: no cover
