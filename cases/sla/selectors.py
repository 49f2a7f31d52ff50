"""SLA reads (DESIGN §5): a case's policy, its review clock, the business time elapsed and left,
the next applicant reminder, and the ETA the applicant reads. Nothing here writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import get_text_list
from django.utils.translation import gettext as _

from cases.models import Case, SlaClock, SlaPolicy, SlaSegment
from cases.models.sla import (
    DEFAULT_AT_RISK_PERCENT,
    DEFAULT_REMINDER_OFFSETS,
    DEFAULT_RESPONSE_WINDOW_DAYS,
)
from cases.sla.business_time import ZERO, BusinessCalendar, add_business_days
from cases.sla.business_time import business_time_between as between
from cases.sla.calendar import business_calendar
from cases.states import CaseState, ClockStatus, SegmentKind, Slot

# The states in which the review clock runs.
RUNNING_STATES = (CaseState.SUBMITTED, CaseState.REVIEWING)


@dataclass(frozen=True)
class PolicyValues:
    policy: SlaPolicy | None
    target_days: int
    at_risk_percent: int
    response_window_days: int
    reminder_offsets_days: tuple[int, ...]


def policy_for(case: Case) -> PolicyValues:
    """The policy of the case's program and priority; the program's own target when none is set."""
    policy = SlaPolicy.objects.filter(program_id=case.program_id, priority=case.priority).first()
    if policy is None:
        return PolicyValues(
            None,
            case.program.review_target_days,
            DEFAULT_AT_RISK_PERCENT,
            DEFAULT_RESPONSE_WINDOW_DAYS,
            tuple(DEFAULT_REMINDER_OFFSETS),
        )
    return PolicyValues(
        policy,
        policy.target_days,
        policy.at_risk_percent,
        policy.response_window_days,
        tuple(policy.reminder_offsets_days or ()),
    )


def reminder_offsets(values: PolicyValues) -> list[int]:
    """The policy's reminders that fall inside its response window, in business days."""
    return [n for n in values.reminder_offsets_days if n < values.response_window_days]


def open_clock(case: Case) -> SlaClock | None:
    return SlaClock.objects.filter(case=case, stopped_at=None).first()


def open_segment(clock: SlaClock) -> SlaSegment | None:
    return clock.segments.filter(ended_at=None).first()


def elapsed(clock: SlaClock, *, now: datetime, calendar: BusinessCalendar) -> timedelta:
    """Business time the clock has run: closed running segments plus the open one up to `now`."""
    total = ZERO
    for segment in clock.segments.filter(kind=SegmentKind.RUNNING):
        if segment.ended_at is None:
            total += between(calendar, segment.started_at, now)
        else:
            total += segment.business_time
    return total


def remaining(clock: SlaClock, *, now: datetime, calendar: BusinessCalendar) -> timedelta:
    """Business time left before the target (negative once breached)."""
    return clock.target - elapsed(clock, now=now, calendar=calendar)


def next_reminder_at(case: Case, *, after_sent: int) -> datetime | None:
    """The instant of the reminder after `after_sent` reminders, counted from the pause."""
    offsets = reminder_offsets(policy_for(case))
    if after_sent >= len(offsets):
        return None
    clock = open_clock(case)
    segment = open_segment(clock) if clock else None
    if segment is None or segment.kind != SegmentKind.PAUSED:
        return None
    return add_business_days(business_calendar(), segment.started_at, offsets[after_sent])


def business_time_left(
    case: Case, *, calendar: BusinessCalendar, now: datetime
) -> timedelta | None:
    """Business time until the case is due (negative when overdue); None without a running clock."""
    if case.sla_due_at is None or case.state not in RUNNING_STATES:
        return None
    if case.sla_due_at >= now:
        return between(calendar, now, case.sla_due_at)
    return -between(calendar, case.sla_due_at, now)


@dataclass(frozen=True)
class Eta:
    """When the applicant can expect an answer, or what the clock waits for.

    `expected_at` is set while the clock runs; `waiting_for` (slot codes) while it is paused;
    neither once the case is decided or not yet submitted.
    """

    state: str
    expected_at: datetime | None = None
    paused: bool = False
    waiting_for: list[str] = field(default_factory=list)
    respond_by: datetime | None = None
    remaining: timedelta | None = None
    breached: bool = False

    def describe(self) -> str:
        """One sentence for the applicant, in the active language."""
        if self.paused:
            labels = [str(Slot(s).label) for s in self.waiting_for if s in Slot.values]
            items = get_text_list(labels, _("and"))
            if items:
                return _("The review clock is paused until you upload: %(items)s.") % {
                    "items": items
                }
            return _("The review clock is paused until you resubmit your application.")
        if self.expected_at is not None and (self.breached or self.expected_at <= timezone.now()):
            return _("This is taking longer than it should; your application has been escalated.")
        if self.expected_at is not None:
            when = date_format(timezone.localtime(self.expected_at), "DATETIME_FORMAT")
            return _("Expected answer by %(when)s.") % {"when": when}
        return ""


def case_eta(case: Case, *, now: datetime | None = None) -> Eta:
    """The expected completion instant of `case`, or the items the paused clock waits for."""
    now = now or timezone.now()
    if case.state == CaseState.NEEDS_MATERIALS:
        request = case.open_material_request()
        return Eta(
            state=case.state,
            paused=True,
            waiting_for=request.missing_slots() if request else [],
            respond_by=case.auto_close_at,
        )
    if case.state not in RUNNING_STATES or case.sla_due_at is None:
        return Eta(state=case.state)
    clock = open_clock(case)
    left = (
        remaining(clock, now=now, calendar=business_calendar())
        if clock and clock.status == ClockStatus.RUNNING
        else None
    )
    return Eta(
        state=case.state,
        expected_at=case.sla_due_at,
        remaining=left,
        breached=case.sla_breached_at is not None,
    )
