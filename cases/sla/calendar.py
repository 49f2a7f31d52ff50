"""The business calendar of this installation: working hours from the settings, working days from
the `holidays` package (statutory holidays and make-up working weekends), then the override table.
"""

from __future__ import annotations

from datetime import date, datetime, time
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.core import checks
from django.db.models import Count, Max
from django.utils import timezone

from cases.sla.business_time import BusinessCalendar


def _parse_time(value: str, name: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{name} must be a time like 09:00, not {value!r}") from exc


@lru_cache(maxsize=32)
def _country_days(country: str, years: tuple[int, ...]) -> tuple[frozenset[date], frozenset[date]]:
    """(public holidays, make-up working weekend days) of `country` in `years`."""
    calendar = holidays.country_holidays(country, years=years)
    make_up = frozenset(day for day in calendar.weekend_workdays if day.year in years)
    return frozenset(calendar.keys()), make_up


def _years_around(today: date) -> tuple[int, ...]:
    # Clocks run for days, reminders for weeks: a year either side covers every deadline.
    return (today.year - 1, today.year, today.year + 1, today.year + 2)


def build_calendar(
    *,
    country: str,
    tz: str,
    opens: str,
    closes: str,
    overrides: dict[date, bool],
    today: date,
) -> BusinessCalendar:
    """A calendar from plain values (no database), for `today`'s surroundings."""
    public, make_up = _country_days(country, _years_around(today))
    days_off = set(public)
    extra = set(make_up)
    for day, working in overrides.items():
        (extra if working else days_off).add(day)
        (days_off if working else extra).discard(day)
    return BusinessCalendar(
        tz=ZoneInfo(tz),
        opens=_parse_time(opens, "SLA_WORKDAY_OPENS"),
        closes=_parse_time(closes, "SLA_WORKDAY_CLOSES"),
        days_off=frozenset(days_off),
        extra_workdays=frozenset(extra),
    )


_cache: dict[tuple[Any, ...], BusinessCalendar] = {}


def business_calendar() -> BusinessCalendar:
    """The calendar as configured now. One small query decides whether the cached one is current."""
    from cases.models import CalendarOverride

    stamp = CalendarOverride.objects.aggregate(n=Count("pk"), last=Max("updated_at"))
    today = timezone.localdate()
    key = (
        settings.SLA_COUNTRY,
        settings.TIME_ZONE,
        settings.SLA_WORKDAY_OPENS,
        settings.SLA_WORKDAY_CLOSES,
        stamp["n"],
        stamp["last"],
        today,
    )
    calendar = _cache.get(key)
    if calendar is None:
        overrides = dict(CalendarOverride.objects.values_list("day", "is_working_day"))
        calendar = build_calendar(
            country=settings.SLA_COUNTRY,
            tz=settings.TIME_ZONE,
            opens=settings.SLA_WORKDAY_OPENS,
            closes=settings.SLA_WORKDAY_CLOSES,
            overrides=overrides,
            today=today,
        )
        _cache.clear()
        _cache[key] = calendar
    return calendar


def year_is_known(country: str, year: int, override_days: set[date]) -> bool:
    """Whether the official schedule of `year` is in the calendar: the package lists substituted
    days off or make-up workdays for it (China publishes both every year), or overrides exist."""
    calendar = holidays.country_holidays(country, years=year)
    if any(day.year == year for day in calendar.weekend_workdays):
        return True
    if any("substituted" in name.lower() for name in calendar.values()):
        return True
    return any(day.year == year for day in override_days)


@checks.register(checks.Tags.compatibility, deploy=False)
def check_next_year_calendar(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """From December on, warn when next year's working days are not known yet."""
    now = datetime.now(ZoneInfo(settings.TIME_ZONE))
    if now.month < 12:
        return []
    try:
        from cases.models import CalendarOverride

        overrides = set(CalendarOverride.objects.values_list("day", flat=True))
    except Exception:  # no table yet (before migrate): judge by the package alone
        overrides = set()
    if year_is_known(settings.SLA_COUNTRY, now.year + 1, overrides):
        return []
    return [
        checks.Warning(
            f"The {settings.SLA_COUNTRY} working-day calendar for {now.year + 1} is not known yet: "
            "the installed `holidays` package has no official schedule for it.",
            hint="Upgrade the holidays package once the schedule is published, or enter the "
            "holidays and make-up workdays as calendar overrides in the admin.",
            id="cases.W001",
        )
    ]
