"""The SLA sweep (cases/sla/sweep.py): each action fires once, at its moment, not before.

time-machine moves the clock; instants are counted by hand on the 2026 China calendar.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Any

import pytest
import time_machine
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import User
from accounts.roles import Role
from cases import services
from cases.emails import render_notification
from cases.models import Case, CaseEvent, Notification, SlaClock
from cases.sla.sweep import SweepResult, sla_sweep
from cases.states import CaseState, EventType, Priority, Slot
from tests.helpers import at, fresh, make_user, submit_at


def sweep_at(when: datetime) -> SweepResult:
    with time_machine.travel(when, tick=False):
        return sla_sweep()


def events(case: Case, event_type: str) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case, event_type=event_type))


def waiting_case(applicant: User, reviewer: User) -> Case:
    """Real-name case asked for a new ID front on Tue 03-10 12:00."""
    case = submit_at(applicant, at(3, 10, 10))
    with time_machine.travel(at(3, 10, 11), tick=False):
        services.case_claim(case=case, actor=reviewer)
    with time_machine.travel(at(3, 10, 12), tick=False):
        services.case_request_materials(
            case=case,
            actor=reviewer,
            reason_codes=["DOC_UNREADABLE"],
            message="The photo is blurred.",
            slots=[Slot.ID_FRONT],
        )
    return fresh(case)


def nothing(result: SweepResult) -> bool:
    return not any(result.as_dict().values())


def test_at_risk_fires_once_at_75_percent_and_tells_the_supervisors_of_an_unassigned_case(
    db: None, applicant: User, supervisor: User, other_supervisor: User, reviewer: User
) -> None:
    case = submit_at(applicant, at(3, 10, 10))
    # Tue 10:00 + 6h45m = 16:45.
    assert nothing(sweep_at(at(3, 10, 16, 44, 59)))
    assert not events(case, EventType.SLA_AT_RISK)
    assert sweep_at(at(3, 10, 16, 45)).at_risk == 1
    assert nothing(sweep_at(at(3, 10, 16, 46)))
    (event,) = events(case, EventType.SLA_AT_RISK)
    assert event.actor_label == "sla-sweep"
    case = fresh(case)
    assert case.sla_at_risk_since == at(3, 10, 16, 45)
    assert case.sla_at_risk_at is None
    recipients = set(Notification.objects.filter(event=event).values_list("recipient", flat=True))
    assert recipients == {supervisor.pk, other_supervisor.pk}


def test_at_risk_reminds_the_assignee_when_there_is_one(
    db: None, applicant: User, reviewer: User, supervisor: User
) -> None:
    case = submit_at(applicant, at(3, 10, 10))
    with time_machine.travel(at(3, 10, 16), tick=False):
        services.case_claim(case=case, actor=reviewer)
    sweep_at(at(3, 10, 16, 45))
    (notification,) = Notification.objects.filter(event__event_type=EventType.SLA_AT_RISK)
    assert notification.recipient == reviewer
    subject, body = render_notification(notification)
    assert case.reference is not None
    assert case.reference in subject and case.reference in body


def test_breach_is_recorded_once_escalates_and_tells_the_supervisors(
    db: None, applicant: User, supervisor: User
) -> None:
    case = submit_at(applicant, at(3, 10, 10))
    sweep_at(at(3, 10, 17))  # at risk first
    assert sweep_at(at(3, 11, 9, 59, 59)).breached == 0
    assert sweep_at(at(3, 11, 10)).breached == 1
    assert nothing(sweep_at(at(3, 11, 10, 1)))
    assert nothing(sweep_at(at(3, 12, 10)))
    (event,) = events(case, EventType.SLA_BREACHED)
    assert (event.data["priority_from"], event.data["priority_to"]) == (
        Priority.NORMAL,
        Priority.HIGH,
    )
    case = fresh(case)
    assert case.priority == Priority.HIGH
    assert case.sla_breached_at == at(3, 11, 10)
    assert SlaClock.objects.get(case=case).breached_at == at(3, 11, 10)
    (notification,) = Notification.objects.filter(event=event)
    assert notification.recipient == supervisor
    subject, _body = render_notification(notification)
    with translation.override(notification.language):
        expected = gettext("[kycreview] Review deadline missed: %(ref)s")
    assert subject == expected % {"ref": case.reference}


def test_a_case_already_past_due_is_breached_not_warned(
    db: None, applicant: User, supervisor: User
) -> None:
    case = submit_at(applicant, at(3, 10, 10))
    result = sweep_at(at(3, 20, 10))
    assert (result.breached, result.at_risk) == (1, 0)
    assert len(events(case, EventType.SLA_BREACHED)) == 1
    assert not events(case, EventType.SLA_AT_RISK)


def test_applicant_reminders_at_3_and_7_days_then_auto_close_after_10(
    db: None, applicant: User, reviewer: User
) -> None:
    case = waiting_case(applicant, reviewer)
    assert nothing(sweep_at(at(3, 13, 11, 59, 59)))
    # +3 business days from Tue 03-10 12:00 → Fri 03-13 12:00.
    assert sweep_at(at(3, 13, 12)).reminded == 1
    assert nothing(sweep_at(at(3, 13, 12, 1)))
    # +7 → Thu 03-19 12:00 (11, 12, 13, 16, 17, 18, 19).
    assert nothing(sweep_at(at(3, 19, 11, 59)))
    assert sweep_at(at(3, 19, 12)).reminded == 1
    assert nothing(sweep_at(at(3, 23, 18)))
    assert len(events(case, EventType.APPLICANT_REMINDED)) == 2
    # +10 → Tue 03-24 12:00.
    assert nothing(sweep_at(at(3, 24, 11, 59, 59)))
    assert sweep_at(at(3, 24, 12)).auto_closed == 1
    assert nothing(sweep_at(at(3, 24, 12, 1)))
    case = fresh(case)
    assert case.state == CaseState.CLOSED
    (closed,) = events(case, EventType.CLOSED)
    assert closed.reason_codes == ["APPLICANT_NO_RESPONSE"]
    assert closed.actor_label == "sla-sweep"
    assert case.open_material_request() is None
    assert case.auto_close_at is None and case.applicant_reminder_at is None


def test_a_long_outage_closes_without_sending_stale_reminders(
    db: None, applicant: User, reviewer: User
) -> None:
    case = waiting_case(applicant, reviewer)
    result = sweep_at(at(4, 1, 9))
    assert (result.auto_closed, result.reminded) == (1, 0)
    assert fresh(case).state == CaseState.CLOSED


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_reminder_e_mails_name_the_items_in_the_applicants_language(
    db: None, reviewer: User, language: Any
) -> None:
    person = make_user(f"{language}@example.com", Role.APPLICANT, preferred_language=language)
    case = waiting_case(person, reviewer)
    sweep_at(at(3, 13, 12))
    (notification,) = Notification.objects.filter(
        event__case=case, event__event_type=EventType.APPLICANT_REMINDED
    )
    assert notification.recipient == person and notification.language == language
    subject, body = render_notification(notification)
    with translation.override(language):
        assert str(Slot.ID_FRONT.label) in body
        assert gettext("reminder: we still need materials") in subject
        assert gettext("Please upload them on your case page and resubmit.") in body
    assert "2026-03-24 12:00" in body  # the auto-close deadline, local time


def test_resubmitting_stops_the_reminders(db: None, applicant: User, reviewer: User) -> None:
    from tests.factories import upload

    case = waiting_case(applicant, reviewer)
    with time_machine.travel(at(3, 11, 9), tick=False):
        upload(case, Slot.ID_FRONT, applicant, colour="#334455")
        services.case_resubmit(case=case, actor=applicant)
    result = sweep_at(at(3, 25, 9))
    assert result.reminded == 0 and result.auto_closed == 0
    assert fresh(case).state == CaseState.SUBMITTED


def test_a_stale_claim_goes_back_to_the_queue_after_30_minutes(
    db: None, applicant: User, reviewer: User
) -> None:
    case = submit_at(applicant, at(3, 10, 10))
    with time_machine.travel(at(3, 10, 10, 5), tick=False):
        services.case_claim(case=case, actor=reviewer)
    assert nothing(sweep_at(at(3, 10, 10, 34, 59)))
    # Reviewing a document is activity: the 30 minutes start again at 10:20.
    with time_machine.travel(at(3, 10, 10, 20), tick=False):
        document = fresh(case).current_documents()[0]
        services.document_set_verdict(document=document, actor=reviewer, verdict="accepted")
    assert nothing(sweep_at(at(3, 10, 10, 49, 59)))
    assert sweep_at(at(3, 10, 10, 50)).released == 1
    assert nothing(sweep_at(at(3, 10, 10, 51)))
    case = fresh(case)
    assert case.state == CaseState.SUBMITTED and case.assignee is None
    (event,) = events(case, EventType.RELEASED)
    assert event.actor_label == "sla-sweep"


def test_a_claim_waiting_for_a_second_signature_is_not_stale(
    db: None, applicant: User, reviewer: User
) -> None:
    case = submit_at(applicant, at(3, 10, 10))
    with time_machine.travel(at(3, 10, 10, 5), tick=False):
        services.case_claim(case=case, actor=reviewer)
        services.case_reject(
            case=case, actor=reviewer, reason_codes=["DOC_FORGED"], message="Forged."
        )
    assert fresh(case).pending_proposal() is not None
    assert sweep_at(at(3, 10, 12)).released == 0
    assert fresh(case).state == CaseState.REVIEWING


@pytest.mark.postgres
@pytest.mark.slow
def test_two_sweeps_at_once_on_postgresql_act_once(transactional_db: None, settings: Any) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks and concurrent claims are PostgreSQL's")
    applicant = make_user("parallel@example.com", Role.APPLICANT)
    reviewer = make_user("rev-parallel@example.com", Role.REVIEWER)
    make_user("sup-parallel@example.com", Role.SUPERVISOR)
    due = [submit_at(applicant, at(3, 10, 10)) for _ in range(15)]
    waiting = [waiting_case(applicant, reviewer) for _ in range(5)]
    barrier = threading.Barrier(2)
    results: list[SweepResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(sweep_at(at(3, 24, 12)))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert sum(r.breached for r in results) == 15
    assert sum(r.auto_closed for r in results) == 5
    assert sum(r.failed for r in results) == 0
    for case in due:
        assert len(events(case, EventType.SLA_BREACHED)) == 1
        assert fresh(case).priority == Priority.HIGH
    for case in waiting:
        assert len(events(case, EventType.CLOSED)) == 1
    # One more sweep finds nothing left to do.
    assert nothing(sweep_at(at(3, 24, 12, 5)))


def test_no_task_waits_on_the_broker_for_more_than_a_minute(settings: Any) -> None:
    """Timers are rows: no countdown or ETA, and retries back off to at most a minute."""
    from pathlib import Path

    from kycreview.celery import app

    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if name.startswith("cases.")}
    assert {"cases.sla_sweep", "cases.send_notification"} <= set(ours)
    for task in ours.values():
        if getattr(task, "autoretry_for", ()):
            assert task.retry_backoff_max <= 60, task.name
    for path in Path(settings.BASE_DIR).glob("[!.]*/**/*.py"):
        if ".venv" in path.parts or "tests" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        assert "countdown=" not in source and "eta=" not in source, path
    sweep = settings.CELERY_BEAT_SCHEDULE["sla-sweep"]
    assert sweep["task"] == "cases.sla_sweep" and sweep["schedule"] <= 60


def test_a_case_breached_before_a_pause_is_not_warned_after_it(
    db: None, applicant: User, reviewer: User
) -> None:
    case = submit_at(applicant, at(3, 2, 10))
    assert sweep_at(at(3, 3, 12)).breached == 1  # past due before any at-risk sweep ran
    with time_machine.travel(at(3, 3, 12, 5), tick=False):
        services.case_claim(case=case, actor=reviewer)
        services.case_request_materials(
            case=case,
            actor=reviewer,
            reason_codes=["DOC_UNREADABLE"],
            message="Blurred.",
            slots=[Slot.ID_FRONT],
        )
    from tests.factories import upload

    with time_machine.travel(at(3, 3, 14), tick=False):
        upload(case, Slot.ID_FRONT, applicant, colour="#123456")
        services.case_resubmit(case=case, actor=applicant)
    case = fresh(case)
    assert case.sla_at_risk_at is None
    assert nothing(sweep_at(at(3, 3, 14, 1)))
    assert not events(case, EventType.SLA_AT_RISK)
    from cases.sla.selectors import case_eta

    with time_machine.travel(at(3, 3, 14, 1), tick=False), translation.override("en"):
        assert "taking longer than it should" in case_eta(case).describe()


def test_a_longer_target_lifts_a_breach_and_the_ledger_decides_again(
    db: None, applicant: User, supervisor: User
) -> None:
    from cases.sla.clock import case_sla_retarget

    case = submit_at(applicant, at(3, 2, 10))
    assert sweep_at(at(3, 3, 11)).breached == 1
    with time_machine.travel(at(3, 3, 11, 30), tick=False):
        case_sla_retarget(case=case, actor=supervisor, target_days=3, reason="Holiday backlog")
    case = fresh(case)
    # 10h30 ran (Mon 8h, Tue 2h30); 3 days = 27h; 16h30 left from Tue 11:30 → Thu 10:00.
    assert case.sla_breached_at is None and case.sla_due_at == at(3, 5, 10)
    (event,) = events(case, EventType.SLA_RETARGETED)
    assert event.data["breach_lifted"] is True
    assert SlaClock.objects.get(case=case).breached_at is None
    # Breached again only against the new target, once.
    assert sweep_at(at(3, 5, 9, 59)).breached == 0
    assert sweep_at(at(3, 5, 10)).breached == 1
    assert len(events(case, EventType.SLA_BREACHED)) == 2
