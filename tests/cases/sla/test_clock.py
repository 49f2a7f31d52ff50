"""The review clock ledger (cases/sla/clock.py) driven through the case services.

Expected instants are counted by hand on the 2026 China calendar (09:00–18:00, one business day
= 9 hours); the comment next to each says how.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from accounts.models import User
from cases import services
from cases.errors import InvalidInput, NotPermitted
from cases.models import Case, CaseEvent, SlaClock, SlaPolicy
from cases.sla.calendar import business_calendar
from cases.sla.clock import case_sla_retarget
from cases.sla.selectors import case_eta, elapsed, open_clock, remaining
from cases.states import ClockStatus, EventType, Priority, ProgramCode, SegmentKind, Slot
from tests.factories import accept_all, upload
from tests.helpers import at, fresh, submit_at

H = timedelta(hours=1)


def left(case: Case, now: datetime) -> timedelta:
    clock = open_clock(case)
    assert clock is not None
    return remaining(clock, now=now, calendar=business_calendar())


def claim_at(case: Case, reviewer: User, when: datetime) -> Case:
    with time_machine.travel(when, tick=False):
        services.case_claim(case=case, actor=reviewer)
    return fresh(case)


def request_at(case: Case, reviewer: User, when: datetime, slot: str = Slot.ID_FRONT) -> Case:
    with time_machine.travel(when, tick=False):
        services.case_request_materials(
            case=case,
            actor=reviewer,
            reason_codes=["DOC_UNREADABLE"],
            message="The photo is blurred.",
            slots=[slot],
        )
    return fresh(case)


def resubmit_at(case: Case, applicant: User, when: datetime, slot: str = Slot.ID_FRONT) -> Case:
    with time_machine.travel(when, tick=False):
        upload(case, slot, applicant, colour="#884422")
        services.case_resubmit(case=case, actor=applicant)
    return fresh(case)


def test_submit_starts_a_clock_with_the_programs_target(db: None, applicant: User) -> None:
    # Tue 10:00 + 1 day (9h) → Wed 10:00; at risk after 75 % = 6h45m → Tue 16:45.
    case = submit_at(applicant, at(3, 10, 10))
    assert case.sla_due_at == at(3, 11, 10)
    assert case.sla_at_risk_at == at(3, 10, 16, 45)
    (clock,) = SlaClock.objects.filter(case=case)
    assert (clock.status, clock.target, clock.at_risk_after) == (
        ClockStatus.RUNNING,
        9 * H,
        timedelta(hours=6, minutes=45),
    )
    (segment,) = clock.segments.all()
    assert (segment.kind, segment.started_at, segment.started_by) == (
        SegmentKind.RUNNING,
        at(3, 10, 10),
        applicant.email,
    )


def test_resubmit_resumes_the_clock_with_the_remaining_business_time_across_spring_festival(
    db: None, applicant: User, reviewer: User
) -> None:
    # Thu 02-12 10:00:00 submitted; due Fri 02-13 10:00.
    case = submit_at(applicant, at(2, 12, 10))
    assert case.sla_due_at == at(2, 13, 10)
    case = claim_at(case, reviewer, at(2, 12, 10, 5))
    paused_at = at(2, 12, 15, 0, 17)
    before = left(case, paused_at)
    # 5h00m17s ran (10:00:00–15:00:17): 3h59m43s are left.
    assert before == timedelta(hours=3, minutes=59, seconds=43)
    case = request_at(case, reviewer, paused_at)
    assert case.sla_due_at is None
    assert case_eta(case).paused is True
    assert case_eta(case).waiting_for == [Slot.ID_FRONT]
    assert case_eta(case).describe() == (
        "The review clock is paused until you upload: ID card, front."
    )

    # The pause spans the whole break (02-15 … 02-23, Sat 02-14 worked). Back Wed 02-25 11:30:05.
    resumed_at = at(2, 25, 11, 30, 5)
    case = resubmit_at(case, applicant, resumed_at)
    assert left(case, resumed_at) == before
    # 11:30:05 + 3h59m43s = 15:29:48 the same day.
    assert case.sla_due_at == at(2, 25, 15, 29, 48)
    assert case_eta(case).expected_at == at(2, 25, 15, 29, 48)
    with time_machine.travel(resumed_at, tick=False):
        assert case_eta(case).describe().startswith("Expected answer by ")

    clock = open_clock(case)
    assert clock is not None
    kinds = [
        (s.kind, s.started_at, s.ended_at, s.business_time)
        for s in clock.segments.order_by("started_at")
    ]
    assert kinds == [
        (SegmentKind.RUNNING, at(2, 12, 10), paused_at, timedelta(hours=5, seconds=17)),
        # Paused business time: Thu 2h59m43s + Fri 02-13 9h + Sat 02-14 9h + Tue 02-24 9h
        # + Wed 02-25 2h30m05s = 32h29m48s (recorded, never counted).
        (
            SegmentKind.PAUSED,
            paused_at,
            resumed_at,
            timedelta(hours=32, minutes=29, seconds=48),
        ),
        (SegmentKind.RUNNING, resumed_at, None, timedelta(0)),
    ]
    # The due date moved by exactly the paused business time: Fri 02-13 10:00 + 32h29m48s.
    calendar = business_calendar()
    from cases.sla.business_time import business_time_between

    assert business_time_between(calendar, at(2, 13, 10), case.sla_due_at) == timedelta(
        hours=32, minutes=29, seconds=48
    )


def test_two_pauses_keep_the_remaining_time_each_time(
    db: None, applicant: User, reviewer: User
) -> None:
    # Business, 3 days = 27h. Mon 03-02 09:00 → due Wed 03-04 18:00 (9h Mon, Tue, Wed).
    case = submit_at(applicant, at(3, 2, 9), ProgramCode.BUSINESS)
    assert case.sla_due_at == at(3, 4, 18)
    case = claim_at(case, reviewer, at(3, 2, 9, 1))
    slot = Slot.BUSINESS_LICENCE
    # Pause 1 at Mon 14:00: 5h ran, 22h left.
    case = request_at(case, reviewer, at(3, 2, 14), slot)
    case = resubmit_at(case, applicant, at(3, 4, 10), slot)
    # Wed 10:00 + 22h: Wed 8h, Thu 9h, Fri 5h → Fri 03-06 14:00.
    assert case.sla_due_at == at(3, 6, 14)
    assert left(case, at(3, 4, 10)) == 22 * H
    case = claim_at(case, reviewer, at(3, 4, 10, 30))
    # Pause 2 at Thu 03-05 12:00: since Wed 10:00 ran 8h + 3h = 11h; 11h left.
    before = left(case, at(3, 5, 12))
    assert before == 11 * H
    case = request_at(case, reviewer, at(3, 5, 12), slot)
    case = resubmit_at(case, applicant, at(3, 9, 16), slot)
    assert left(case, at(3, 9, 16)) == before
    # Mon 03-09 16:00 + 11h: Mon 2h, Tue 9h → Tue 03-10 18:00.
    assert case.sla_due_at == at(3, 10, 18)
    clock = open_clock(case)
    assert clock is not None
    assert elapsed(clock, now=at(3, 9, 16), calendar=business_calendar()) == 16 * H
    assert clock.segments.filter(kind=SegmentKind.PAUSED).count() == 2


def test_a_policy_change_during_a_pause_applies_to_new_clocks_only(
    db: None, applicant: User, reviewer: User
) -> None:
    case = submit_at(applicant, at(3, 10, 10))
    case = claim_at(case, reviewer, at(3, 10, 10))
    # 2h ran (10:00–12:00); 7h left.
    case = request_at(case, reviewer, at(3, 10, 12))
    SlaPolicy.objects.filter(program_id=ProgramCode.REAL_NAME, priority=Priority.NORMAL).update(
        target_days=3
    )
    case = resubmit_at(case, applicant, at(3, 12, 10))
    # Thu 03-12 10:00 + 7h = 17:00: the running clock kept its 1-day target.
    assert case.sla_due_at == at(3, 12, 17)
    assert left(case, at(3, 12, 10)) == 7 * H
    # A new application gets the new policy: Thu 10:00 + 27h → Tue 03-17 10:00.
    other = submit_at(applicant, at(3, 12, 10))
    assert other.sla_due_at == at(3, 17, 10)


def test_request_materials_sets_the_reminders_and_the_response_window(
    db: None, applicant: User, reviewer: User
) -> None:
    case = submit_at(applicant, at(3, 10, 10))
    case = claim_at(case, reviewer, at(3, 10, 10))
    case = request_at(case, reviewer, at(3, 10, 12))
    # +3 business days (27h) from Tue 12:00 → Fri 03-13 12:00; +10 days → Tue 03-24 12:00.
    assert case.applicant_reminder_at == at(3, 13, 12)
    assert case.auto_close_at == at(3, 24, 12)
    assert case.sla_at_risk_at is None and case.sla_due_at is None
    assert case.reviewer_activity_at is None
    assert case_eta(case).respond_by == at(3, 24, 12)


def test_a_decision_stops_the_clock_met_or_breached(
    db: None, applicant: User, reviewer: User
) -> None:
    on_time = claim_at(submit_at(applicant, at(3, 10, 10)), reviewer, at(3, 10, 10))
    accept_all(on_time, reviewer)
    with time_machine.travel(at(3, 11, 9, 59), tick=False):
        services.case_approve(case=on_time, actor=reviewer)
    late = claim_at(submit_at(applicant, at(3, 10, 10)), reviewer, at(3, 10, 10))
    accept_all(late, reviewer)
    with time_machine.travel(at(3, 11, 10, 0, 1), tick=False):
        services.case_approve(case=late, actor=reviewer)
    assert SlaClock.objects.get(case=on_time).status == ClockStatus.MET
    assert SlaClock.objects.get(case=late).status == ClockStatus.BREACHED
    for case in (on_time, late):
        case = fresh(case)
        assert case.sla_due_at is None and case.sla_at_risk_at is None
        assert open_clock(case) is None
        assert case_eta(case).expected_at is None


def test_reapply_starts_a_new_clock(db: None, applicant: User, reviewer: User) -> None:
    case = claim_at(submit_at(applicant, at(3, 10, 10)), reviewer, at(3, 10, 10))
    with time_machine.travel(at(3, 10, 11), tick=False):
        services.case_reject(
            case=case, actor=reviewer, reason_codes=["DOC_UNREADABLE"], message="Blurred."
        )
    with time_machine.travel(at(3, 12, 15), tick=False):
        upload(case, Slot.ID_FRONT, applicant, colour="#112233")
        services.case_reapply(case=case, actor=applicant)
    case = fresh(case)
    # Thu 03-12 15:00 + 9h: Thu 3h, Fri 6h → Fri 03-13 15:00.
    assert case.sla_due_at == at(3, 13, 15)
    assert list(SlaClock.objects.filter(case=case).values_list("status", flat=True)) == [
        ClockStatus.MET,
        ClockStatus.RUNNING,
    ]


def test_a_supervisor_retargets_a_running_clock_with_a_reason(
    db: None, applicant: User, reviewer: User, supervisor: User
) -> None:
    case = submit_at(applicant, at(3, 10, 10))
    with time_machine.travel(at(3, 10, 13), tick=False):
        with pytest.raises(NotPermitted):
            case_sla_retarget(case=case, actor=reviewer, target_days=3, reason="busy")
        with pytest.raises(InvalidInput) as excinfo:
            case_sla_retarget(case=case, actor=supervisor, target_days=9, reason="")
        assert set(excinfo.value.field_errors) == {"target_days", "reason"}
        assert not CaseEvent.objects.filter(case=case, event_type=EventType.SLA_RETARGETED)
        case_sla_retarget(case=case, actor=supervisor, target_days=2, reason="Licence check")
    case = fresh(case)
    # 3h ran; 2 days = 18h, 15h left from Tue 13:00: Tue 5h, Wed 9h, Thu 1h → Thu 03-12 10:00.
    assert case.sla_due_at == at(3, 12, 10)
    event = CaseEvent.objects.get(case=case, event_type=EventType.SLA_RETARGETED)
    assert event.actor_user == supervisor and event.message == "Licence check"
    assert event.data["target_days"] == 2


def test_from_december_a_check_warns_that_next_years_calendar_is_unknown(
    db: None, supervisor: User
) -> None:
    from datetime import date

    from django.core import checks

    from cases.models import CalendarOverride

    def warnings() -> list[str]:
        return [m.id for m in checks.run_checks() if m.id == "cases.W001"]

    with time_machine.travel(at(11, 30, 12), tick=False):
        assert warnings() == []  # November: too early to expect the schedule
    with time_machine.travel(at(12, 1, 10), tick=False):
        # The holidays package has no official 2027 schedule (no substituted days off).
        assert warnings() == ["cases.W001"]
        CalendarOverride.objects.create(
            day=date(2027, 2, 20), is_working_day=True, note="make-up day", updated_by=supervisor
        )
        assert warnings() == []
