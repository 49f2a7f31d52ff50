"""The reviewers' queues in the admin (cases/admin/queues.py) through the Django test client:
who sees which queue, in which order, how far it counts, and what supervisors do from a queue."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from cases.models import AccessKind, AccessLog, Case, CaseEvent, DecisionProposal
from cases.states import EventType, ProposalStatus, Slot
from tests.factories import VALID_ID_NUMBER, reviewing_case, submitted_case
from tests.helpers import client_for, make_user, signed_in

QUEUES = [
    "mycase",
    "unassignedcase",
    "atriskcase",
    "breachedcase",
    "waitingcase",
    "foureyescase",
    "frozencase",
    "case",
]


ROLE_QUEUES = {
    "reviewer": {"mycase", "unassignedcase", "atriskcase", "breachedcase", "waitingcase"},
    "senior": {
        "mycase",
        "unassignedcase",
        "atriskcase",
        "breachedcase",
        "waitingcase",
        "foureyescase",
    },
    "supervisor": set(QUEUES),
    "auditor": set(QUEUES),
}


PEOPLE = ["anonymous", "applicant", "reviewer", "other_reviewer", "senior", "supervisor", "auditor"]


def role_of(who: str) -> str:
    return "reviewer" if who == "other_reviewer" else who


@pytest.mark.parametrize("who", PEOPLE)
@pytest.mark.parametrize("queue", QUEUES)
def test_queue_permission_matrix(
    request: pytest.FixtureRequest, world: Any, who: Any, queue: Any
) -> None:
    response = client_for(request, who).get(reverse(f"admin:cases_{queue}_changelist"))
    if who in ("anonymous", "applicant"):
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    elif queue in ROLE_QUEUES[role_of(who)]:
        assert response.status_code == 200
    else:
        assert response.status_code == 403


def test_search_by_exact_id_number_finds_the_case_and_is_logged(
    db: None, applicant: User, supervisor: User
) -> None:
    case = submitted_case(applicant)
    submitted_case(make_user("bob@example.com", Role.APPLICANT), id_number="110101199003074477")
    response = signed_in(supervisor).get(
        reverse("admin:cases_case_changelist"), {"q": VALID_ID_NUMBER}
    )
    assert response.status_code == 200
    found = list(response.context["cl"].result_list)
    assert found == [case]
    (entry,) = AccessLog.objects.filter(kind=AccessKind.SEARCH_ID_NUMBER)
    assert entry.user == supervisor and VALID_ID_NUMBER not in entry.detail


def test_supervisors_bulk_reassign_from_a_queue(
    db: None, applicant: User, supervisor: User, reviewer: User
) -> None:
    cases = [submitted_case(applicant) for _ in range(3)]
    response = signed_in(supervisor).post(
        reverse("admin:cases_unassignedcase_changelist"),
        {
            "action": "reassign_selected",
            "_selected_action": [c.pk for c in cases],
            "reviewer": reviewer.pk,
        },
    )
    assert response.status_code == 302
    assert set(
        Case.objects.filter(pk__in=[c.pk for c in cases]).values_list("assignee", flat=True)
    ) == {reviewer.pk}
    assert CaseEvent.objects.filter(event_type=EventType.ASSIGNED).count() == 3


def test_the_change_url_stays_inside_the_queue_and_never_fails(
    db: None, applicant: User, reviewer: User, other_reviewer: User
) -> None:
    case = reviewing_case(applicant, reviewer)
    mine = reverse("admin:cases_mycase_change", args=[case.pk])
    assert signed_in(reviewer).get(mine)["Location"] == reverse(
        "admin:cases_review", args=[case.uuid]
    )
    assert signed_in(other_reviewer).get(mine).status_code == 404
    assert signed_in(reviewer).get("/admin/cases/mycase/abc/change/").status_code == 404


def test_queues_list_in_their_own_order_and_the_sidebar_lists_staff_only(
    db: None, applicant: User, reviewer: User, supervisor: User
) -> None:
    from cases.models import Case as CaseModel
    from cases.states import Priority

    urgent = submitted_case(applicant)  # older, but urgent: first in the claim order
    CaseModel.objects.filter(pk=urgent.pk).update(priority=Priority.URGENT)
    first = submitted_case(applicant)  # newest: first in Case.Meta.ordering
    response = signed_in(supervisor).get(reverse("admin:cases_unassignedcase_changelist"))
    listed = list(response.context["cl"].result_list)
    assert listed == [CaseModel.objects.get(pk=urgent.pk), CaseModel.objects.get(pk=first.pk)]
    assert applicant.email not in response.content.decode().split('id="changelist-filter"')[-1]


def _waiting_case(applicant: User, reviewer: User, close_in_days: int) -> Case:
    from datetime import timedelta

    from django.utils import timezone

    from cases import services

    case = reviewing_case(applicant, reviewer)
    services.case_request_materials(
        case=case,
        actor=reviewer,
        reason_codes=["DOC_UNREADABLE"],
        message="Blurry.",
        slots=[Slot.ID_FRONT],
    )
    Case.objects.filter(pk=case.pk).update(
        auto_close_at=timezone.now() + timedelta(days=close_in_days)
    )
    return Case.objects.get(pk=case.pk)


def test_waiting_queue_is_the_reviewers_own_requests_soonest_auto_close_first(
    db: None, applicant: User, reviewer: User, other_reviewer: User, supervisor: User
) -> None:
    later = _waiting_case(applicant, reviewer, close_in_days=9)
    sooner = _waiting_case(applicant, reviewer, close_in_days=2)
    theirs = _waiting_case(applicant, other_reviewer, close_in_days=1)
    url = reverse("admin:cases_waitingcase_changelist")
    mine = list(signed_in(reviewer).get(url).context["cl"].result_list)
    assert mine == [sooner, later]
    everyone = list(signed_in(supervisor).get(url).context["cl"].result_list)
    assert everyone == [theirs, sooner, later]


def test_four_eyes_queue_lists_the_oldest_request_first_each_case_once(
    db: None, applicant: User, reviewer: User, other_reviewer: User, senior: User
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from cases import services

    first, second = reviewing_case(applicant, reviewer), reviewing_case(applicant, other_reviewer)
    for case, maker in ((second, other_reviewer), (first, reviewer)):
        services.case_reject(case=case, actor=maker, reason_codes=["DOC_FORGED"], note="Clone.")
    # The older request (by time, not by id or update) comes first; a sent-back one is gone.
    DecisionProposal.objects.filter(case=first).update(
        proposed_at=timezone.now() - timedelta(hours=2)
    )
    Case.objects.filter(pk=first.pk).update(updated_at=timezone.now())
    sent_back = reviewing_case(applicant, reviewer)
    services.case_reject(case=sent_back, actor=reviewer, reason_codes=["DOC_FORGED"])
    services.case_send_back(case=sent_back, actor=senior, note="Look again.")
    response = signed_in(senior).get(reverse("admin:cases_foureyescase_changelist"))
    listed = [c.pk for c in response.context["cl"].result_list]
    pending = set(
        DecisionProposal.objects.filter(status=ProposalStatus.PENDING).values_list(
            "case", flat=True
        )
    )
    assert listed[:2] == [first.pk, second.pk]
    assert len(listed) == len(set(listed)) == len(pending)


def test_queue_order_cannot_be_overridden_from_the_url(
    db: None, applicant: User, supervisor: User
) -> None:
    from cases.states import Priority

    urgent = submitted_case(applicant)
    Case.objects.filter(pk=urgent.pk).update(priority=Priority.URGENT)
    newest = submitted_case(applicant)
    client = signed_in(supervisor)
    url = reverse("admin:cases_unassignedcase_changelist")
    for order in ("", "5", "-5", "-1.5", "x"):
        response = client.get(url, {"o": order} if order else {})
        assert response.status_code == 200
        assert [c.pk for c in response.context["cl"].result_list] == [urgent.pk, newest.pk]
    # No column header offers a sort.
    assert "sortable" not in response.content.decode().split("<thead>")[1].split("</thead>")[0]


def test_a_long_queue_says_more_than_the_cap_and_offers_no_select_all(
    db: None, applicant: User, supervisor: User, reviewer: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cases.admin.queues import CappedCountPaginator, UnassignedCaseAdmin

    monkeypatch.setattr(CappedCountPaginator, "cap", 2)
    monkeypatch.setattr(UnassignedCaseAdmin, "list_per_page", 1)
    cases = [submitted_case(applicant) for _ in range(3)]
    client = signed_in(supervisor)
    url = reverse("admin:cases_unassignedcase_changelist")
    page = client.get(url).content.decode()
    assert "more than 2 cases" in page
    assert "Select all" in page.split("<thead>")[1]  # the page's own rows only
    assert 'class="question' not in page
    # Bulk reassignment of more than the cap is refused, and nothing changes.
    response = client.post(
        url,
        {
            "action": "reassign_selected",
            "_selected_action": [c.pk for c in cases],
            "select_across": "1",
            "reviewer": reviewer.pk,
        },
        follow=True,
    )
    assert "Reassign at most 2 cases at a time" in response.content.decode()
    assert not Case.objects.filter(assignee__isnull=False).exists()
    # Under the cap the exact count is shown.
    monkeypatch.setattr(CappedCountPaginator, "cap", 3)
    assert "3 cases" in client.get(url).content.decode()
