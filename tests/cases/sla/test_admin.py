"""Supervisors edit SLA policies and the calendar in the admin; every change leaves a row."""

from __future__ import annotations

from datetime import date

from django.urls import reverse

from accounts.models import User
from cases.models import CalendarOverride, ConfigChange, SlaPolicy
from cases.sla.calendar import business_calendar
from cases.states import Priority, ProgramCode
from tests.helpers import signed_in


def policy() -> SlaPolicy:
    return SlaPolicy.objects.get(program_id=ProgramCode.REAL_NAME, priority=Priority.NORMAL)


def form(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "target_days": 1,
        "at_risk_percent": 75,
        "response_window_days": 10,
        "reminder_offsets_days": "[3, 7]",
    }
    data.update(changes)
    return data


def test_a_supervisor_changes_a_policy_and_the_change_is_recorded(
    db: None, supervisor: User
) -> None:
    url = reverse("admin:cases_slapolicy_change", args=[policy().pk])
    response = signed_in(supervisor).post(url, form(target_days=2, reminder_offsets_days="[2, 5]"))
    assert response.status_code == 302, response.content
    assert (policy().target_days, policy().reminder_offsets_days) == (2, [2, 5])
    (change,) = ConfigChange.objects.all()
    assert change.changed_by == supervisor and change.action == "changed"
    assert change.before is not None and change.after is not None
    assert (change.before["target_days"], change.after["target_days"]) == (1, 2)


def test_bad_policy_values_are_refused_with_a_message_and_change_nothing(
    db: None, supervisor: User
) -> None:
    url = reverse("admin:cases_slapolicy_change", args=[policy().pk])
    client = signed_in(supervisor)
    for bad in (
        form(target_days=6),
        form(reminder_offsets_days="[7, 3]"),
        form(reminder_offsets_days="[3, 12]"),
        form(reminder_offsets_days='["x"]'),
    ):
        response = client.post(url, bad)
        assert response.status_code == 200
        assert response.context["adminform"].form.errors
    assert policy().target_days == 1 and policy().reminder_offsets_days == [3, 7]
    assert not ConfigChange.objects.exists()


def test_reviewers_cannot_change_policies_and_auditors_only_read(
    db: None, reviewer: User, auditor: User
) -> None:
    url = reverse("admin:cases_slapolicy_change", args=[policy().pk])
    assert signed_in(reviewer).get(url).status_code == 403
    assert signed_in(reviewer).post(url, form(target_days=5)).status_code == 403
    reader = signed_in(auditor)
    assert reader.get(url).status_code == 200
    assert reader.post(url, form(target_days=5)).status_code == 403
    assert policy().target_days == 1


def test_a_calendar_override_takes_effect_at_once_and_is_recorded(
    db: None, supervisor: User
) -> None:
    wednesday = date(2026, 6, 10)
    assert business_calendar().is_working_day(wednesday)
    client = signed_in(supervisor)
    response = client.post(
        reverse("admin:cases_calendaroverride_add"),
        {"day": "2026-06-10", "note": "Company day off"},  # unticked: not a working day
    )
    assert response.status_code == 302, response.content
    assert not business_calendar().is_working_day(wednesday)
    override = CalendarOverride.objects.get(day=wednesday)
    assert override.updated_by == supervisor
    delete = reverse("admin:cases_calendaroverride_delete", args=[override.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 302
    assert business_calendar().is_working_day(wednesday)
    assert list(ConfigChange.objects.order_by("pk").values_list("action", flat=True)) == [
        "created",
        "deleted",
    ]
