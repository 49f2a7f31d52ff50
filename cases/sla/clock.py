"""The review clock ledger (DESIGN §5): start, pause, resume, stop and re-target, and the
reviewer-activity timer of a claim.

Called inside the case services' transactions, with the case row locked; they change the case's
SLA columns in memory (the caller saves the case) and write the clock rows. Business time comes
from `cases.sla.business_time` over the installation's calendar.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import rules
from cases.actors import Actor, actor_label
from cases.audit import record_case_event
from cases.errors import InvalidInput, InvalidState
from cases.guards import case_lock, refuse
from cases.models import Case, CaseEvent, SlaClock, SlaSegment
from cases.outbox import outbox_dispatch
from cases.sla.business_time import ZERO, BusinessCalendar, add_business_days, add_business_time
from cases.sla.business_time import business_time_between as between
from cases.sla.calendar import business_calendar
from cases.sla.selectors import (
    elapsed,
    open_clock,
    open_segment,
    policy_for,
    reminder_offsets,
)
from cases.states import CaseState, ClockStatus, EventType, SegmentKind, Transition


def _end_segment(
    segment: SlaSegment, *, now: datetime, by: str, reason: str, calendar: BusinessCalendar
) -> None:
    segment.ended_at, segment.ended_by, segment.end_reason = now, by, reason
    segment.business_time = between(calendar, segment.started_at, now)
    segment.save(update_fields=["ended_at", "ended_by", "end_reason", "business_time"])


def _schedule_running(
    case: Case, clock: SlaClock, *, now: datetime, calendar: BusinessCalendar
) -> None:
    """Cache the due and at-risk instants of a running clock on the case."""
    done = elapsed(clock, now=now, calendar=calendar)
    case.sla_due_at = add_business_time(calendar, now, max(clock.target - done, ZERO))
    if case.sla_at_risk_since is None and case.sla_breached_at is None:
        case.sla_at_risk_at = add_business_time(
            calendar, now, max(clock.at_risk_after - done, ZERO)
        )
    else:
        case.sla_at_risk_at = None


def _clear_timers(case: Case) -> None:
    case.sla_due_at = case.sla_at_risk_at = None
    case.applicant_reminder_at = case.auto_close_at = None


def clock_start(case: Case, *, now: datetime, by: str, reason: str) -> SlaClock:
    """A new clock with the current policy; an open one (there should be none) is stopped."""
    calendar = business_calendar()
    previous = open_clock(case)
    if previous is not None:
        clock_stop(case, now=now, by=by, reason=reason)
    values = policy_for(case)
    target = calendar.day_length * values.target_days
    clock = SlaClock.objects.create(
        case=case,
        policy=values.policy,
        target=target,
        at_risk_after=target * values.at_risk_percent / 100,
        started_at=now,
    )
    SlaSegment.objects.create(
        clock=clock, kind=SegmentKind.RUNNING, started_at=now, started_by=by, start_reason=reason
    )
    case.sla_breached_at = case.sla_at_risk_since = None
    _clear_timers(case)
    _schedule_running(case, clock, now=now, calendar=calendar)
    return clock


def clock_pause(case: Case, *, now: datetime, by: str, reason: str) -> None:
    """Stop counting while the applicant is asked for materials; start their response window."""
    clock = open_clock(case)
    if clock is None:
        return
    calendar = business_calendar()
    segment = open_segment(clock)
    if segment is not None and segment.kind == SegmentKind.RUNNING:
        _end_segment(segment, now=now, by=by, reason=reason, calendar=calendar)
        SlaSegment.objects.create(
            clock=clock, kind=SegmentKind.PAUSED, started_at=now, started_by=by, start_reason=reason
        )
    clock.status = ClockStatus.PAUSED
    clock.save(update_fields=["status"])
    values = policy_for(case)
    _clear_timers(case)
    offsets = reminder_offsets(values)
    case.applicant_reminders_sent = 0
    case.applicant_reminder_at = add_business_days(calendar, now, offsets[0]) if offsets else None
    case.auto_close_at = add_business_days(calendar, now, values.response_window_days)


def clock_resume(case: Case, *, now: datetime, by: str, reason: str) -> None:
    """Count again from `now`, with the business time that was left when the clock paused."""
    clock = open_clock(case)
    if clock is None:
        clock_start(case, now=now, by=by, reason=reason)
        return
    calendar = business_calendar()
    segment = open_segment(clock)
    if segment is not None and segment.kind == SegmentKind.PAUSED:
        _end_segment(segment, now=now, by=by, reason=reason, calendar=calendar)
        SlaSegment.objects.create(
            clock=clock,
            kind=SegmentKind.RUNNING,
            started_at=now,
            started_by=by,
            start_reason=reason,
        )
    clock.status = ClockStatus.RUNNING
    clock.save(update_fields=["status"])
    _clear_timers(case)
    _schedule_running(case, clock, now=now, calendar=calendar)


def clock_stop(case: Case, *, now: datetime, by: str, reason: str) -> None:
    """The decision (or freeze, or close) ends the clock: met or breached, for good."""
    clock = open_clock(case)
    if clock is not None:
        calendar = business_calendar()
        segment = open_segment(clock)
        if segment is not None:
            _end_segment(segment, now=now, by=by, reason=reason, calendar=calendar)
        late = elapsed(clock, now=now, calendar=calendar) > clock.target
        clock.status = ClockStatus.BREACHED if late or case.sla_breached_at else ClockStatus.MET
        clock.stopped_at = now
        clock.breached_at = clock.breached_at or case.sla_breached_at
        clock.save(update_fields=["status", "stopped_at", "breached_at"])
    _clear_timers(case)
    case.reviewer_activity_at = None


T = Transition
# What each transition does to the clock (DESIGN §3's "SLA effect" column); the reason is the
# clock segment's record of why.
_STARTS = {T.SUBMIT: "submitted", T.REAPPLY: "applied again", T.UNFREEZE: "unfrozen"}
_STOPS = {T.APPROVE, T.REJECT, T.FREEZE, T.CLOSE}
# Which transitions start the stale-claim timer (someone now works the case) or end it.
_CLAIMED = {T.CLAIM, T.ASSIGN, T.UNFREEZE}
_UNCLAIMED = {T.RELEASE, T.REQUEST_MATERIALS, T.RESUBMIT}


def clock_on_transition(case: Case, transition: Transition, *, actor: Actor, now: datetime) -> None:
    """Called by the transition runner after a transition ran and before the case is saved."""
    by = actor_label(actor)
    if transition in _STARTS:
        clock_start(case, now=now, by=by, reason=_STARTS[transition])
    elif transition == T.REQUEST_MATERIALS:
        clock_pause(case, now=now, by=by, reason="materials requested")
    elif transition == T.RESUBMIT:
        clock_resume(case, now=now, by=by, reason="resubmitted")
    elif transition in _STOPS:
        clock_stop(case, now=now, by=by, reason=str(transition))
    if transition in _CLAIMED:
        case.reviewer_activity_at = now
    elif transition in _UNCLAIMED:
        case.reviewer_activity_at = None


@transaction.atomic
def case_sla_retarget(
    *, case: Case, actor: Actor, target_days: int | str, reason: str
) -> CaseEvent:
    """A supervisor gives the running clock a new target (1–5 business days), with a reason.

    Side effects: the clock's target and the case's due and at-risk instants change; one event.
    """
    case = case_lock(case)
    if not rules.is_supervisor(actor):
        raise refuse(case, actor, _("change the review target of"))
    clock = open_clock(case)
    if clock is None:
        raise InvalidState(_("This case has no running review clock to re-target."))
    errors: dict[str, list[str]] = {}
    try:
        days = int(target_days)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= 5:
        errors["target_days"] = [_("Give a whole number of business days from 1 to 5.")]
    reason = (reason or "").strip()
    if not reason:
        errors["reason"] = [_("A reason is required.")]
    if errors:
        raise InvalidInput(_("The new target cannot be set."), field_errors=errors)
    now = timezone.now()
    calendar = business_calendar()
    old_target, old_due = clock.target, case.sla_due_at
    percent = clock.at_risk_after / clock.target if clock.target else 0.75
    clock.target = calendar.day_length * days
    clock.at_risk_after = clock.target * percent
    clock.save(update_fields=["target", "at_risk_after"])
    # The breach follows the ledger: a longer target can lift it (the breach event stays in the
    # history), a shorter one makes the case due at once and the sweep records it.
    breach_lifted = bool(
        case.sla_breached_at and elapsed(clock, now=now, calendar=calendar) < clock.target
    )
    if breach_lifted:
        case.sla_breached_at = None
        clock.breached_at = None
        clock.save(update_fields=["breached_at"])
    if clock.status == ClockStatus.RUNNING:
        _schedule_running(case, clock, now=now, calendar=calendar)
    case.save(update_fields=["sla_due_at", "sla_at_risk_at", "sla_breached_at"])
    event = record_case_event(
        case=case,
        event_type=EventType.SLA_RETARGETED,
        actor=actor,
        from_state=case.state,
        to_state=case.state,
        message=reason,
        data={
            "target_days": days,
            "old_target_hours": old_target.total_seconds() / 3600,
            "old_due": old_due.isoformat() if old_due else None,
            "due": case.sla_due_at.isoformat() if case.sla_due_at else None,
            "breach_lifted": breach_lifted,
        },
        now=now,
    )
    outbox_dispatch(event)
    return event


def case_touch(*, case: Case, actor: Actor) -> bool:
    """The assignee is working on the case (reading it, its documents, a preview): the
    stale-claim timer starts again. One conditional UPDATE; no event (reads are in the access
    log). Returns whether the claim was refreshed."""
    refreshed = Case.objects.filter(
        pk=case.pk,
        state=CaseState.REVIEWING,
        assignee_id=getattr(actor, "pk", None),
        reviewer_activity_at__isnull=False,
    ).update(reviewer_activity_at=timezone.now())
    return refreshed == 1
