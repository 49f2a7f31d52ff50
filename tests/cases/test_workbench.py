"""The reviewer workbench in the admin (cases/admin/workbench.py) through the Django test client:
who sees which queue and case, who may press what, and what each press leaves behind."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from cases.models import AccessKind, AccessLog, Case, CaseEvent, DecisionProposal
from cases.states import CaseState, EventType, ProposalStatus, Slot
from tests.conftest import make_user, signed_in
from tests.factories import VALID_ID_NUMBER, accept_all, reviewing_case, submitted_case

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


@pytest.fixture
def world(db: None, applicant: User, reviewer: User) -> dict[str, Any]:
    """A case under review by `reviewer`, and an unassigned submitted one."""
    return {
        "assigned": reviewing_case(applicant, reviewer),
        "unassigned": submitted_case(applicant),
    }


def client_for(request: Any, who: str) -> Client:
    if who == "anonymous":
        return Client(headers={"Accept-Language": "en"})
    user = request.getfixturevalue(who)
    if not user.is_staff:
        client = Client(headers={"Accept-Language": "en"})
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        client.force_login(user)
        return client
    return signed_in(user)


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


# (who, which case) → expected status of the review screen, a document and the ID reveal.
SCREEN = {
    ("anonymous", "assigned"): 302,
    ("applicant", "assigned"): 302,
    ("reviewer", "assigned"): 200,
    ("other_reviewer", "assigned"): 404,
    ("senior", "assigned"): 404,
    ("supervisor", "assigned"): 200,
    ("auditor", "assigned"): 200,
    ("anonymous", "unassigned"): 302,
    ("applicant", "unassigned"): 302,
    ("reviewer", "unassigned"): 200,
    ("other_reviewer", "unassigned"): 200,
    ("senior", "unassigned"): 200,
    ("supervisor", "unassigned"): 200,
    ("auditor", "unassigned"): 200,
}


@pytest.mark.parametrize(("who", "which"), list(SCREEN))
def test_case_screen_document_and_id_number_matrix(
    request: pytest.FixtureRequest, world: Any, who: Any, which: Any
) -> None:
    case: Case = world[which]
    client = client_for(request, who)
    expected = SCREEN[(who, which)]
    document = case.current_documents()[0]
    before = AccessLog.objects.count()
    screen = client.get(reverse("admin:cases_review", args=[case.uuid]))
    file = client.get(reverse("admin:cases_document", args=[case.uuid, document.pk]))
    reveal = client.post(reverse("admin:cases_reveal_id", args=[case.uuid]))
    assert (screen.status_code, file.status_code, reveal.status_code) == (expected,) * 3
    if expected == 200:
        user = request.getfixturevalue(who)
        kinds = list(
            AccessLog.objects.filter(user=user, case=case)
            .order_by("pk")
            .values_list("kind", flat=True)
        )
        assert kinds == [
            AccessKind.VIEW_CASE,
            AccessKind.VIEW_DOCUMENT,
            AccessKind.REVEAL_ID_NUMBER,
        ]
        assert file["X-Content-Type-Options"] == "nosniff"
        assert file["Content-Disposition"].startswith("attachment")
        assert VALID_ID_NUMBER in reveal.content.decode()
        assert VALID_ID_NUMBER not in screen.content.decode()  # masked until revealed
    else:
        assert AccessLog.objects.count() == before


# Who may press which button on the assigned case (reviewing, assigned to `reviewer`).
ACTS = {
    "reviewer": {"release": 302, "request_materials": 302},
    "other_reviewer": {"release": 404, "request_materials": 404},
    "senior": {"release": 404, "request_materials": 404},
    "supervisor": {"release": 302, "request_materials": 403},
    "auditor": {"release": 403, "request_materials": 403},
    "applicant": {"release": 302, "request_materials": 302},
    "anonymous": {"release": 302, "request_materials": 302},
}
FORMS: dict[str, dict[str, Any]] = {
    "release": {"action": "release", "release-reason": "Going on leave."},
    "request_materials": {
        "action": "request_materials",
        "request_materials-reason_codes": ["DOC_UNREADABLE"],
        "request_materials-slots": [Slot.ID_FRONT],
        "request_materials-message": "The photo is blurred.",
    },
}


@pytest.mark.parametrize("who", list(ACTS))
@pytest.mark.parametrize("action", ["release", "request_materials"])
def test_action_permission_matrix(
    request: pytest.FixtureRequest, world: Any, who: Any, action: Any
) -> None:
    case: Case = world["assigned"]
    events = CaseEvent.objects.filter(case=case).count()
    response = client_for(request, who).post(
        reverse("admin:cases_act", args=[case.uuid]), FORMS[action]
    )
    expected = ACTS[who][action]
    assert response.status_code == expected
    done = expected == 302 and who in ("reviewer", "supervisor")
    assert CaseEvent.objects.filter(case=case).count() == events + int(done)
    if not done:
        assert Case.objects.get(pk=case.pk).state == CaseState.REVIEWING


# Who may clear an automatic check's high-severity signal on the assigned case: a second person
# who may countersign, never the assignee (that would skip the second signature it requires).
CLEAR_SIGNAL = {
    "reviewer": 403,
    "other_reviewer": 404,
    "senior": 404,
    "supervisor": 302,
    "auditor": 403,
    "applicant": 302,  # to the admin's sign-in
    "anonymous": 302,
}


@pytest.mark.parametrize("who", list(CLEAR_SIGNAL))
def test_clear_signal_permission_matrix(
    request: pytest.FixtureRequest, world: Any, who: Any
) -> None:
    from cases.checks.run import case_run_checks
    from cases.models import Signal
    from cases.states import SignalStatus

    case: Case = world["assigned"]
    Case.objects.filter(pk=case.pk).update(device_risk_flags=["rooted"])
    case_run_checks(case_id=case.pk)
    signal = Signal.objects.get(case=case, kind="device_risk")
    events = CaseEvent.objects.filter(case=case).count()
    response = client_for(request, who).post(
        reverse("admin:cases_clear_signal", args=[case.uuid, signal.pk]), {"note": "Seen."}
    )
    assert response.status_code == CLEAR_SIGNAL[who]
    done = who == "supervisor"
    assert CaseEvent.objects.filter(case=case).count() == events + int(done)
    signal.refresh_from_db()
    assert signal.status == (SignalStatus.CLEARED if done else SignalStatus.OPEN)


def test_claim_next_button_gives_the_reviewer_the_next_case(
    db: None, applicant: User, reviewer: User, auditor: User
) -> None:
    case = submitted_case(applicant)
    response = signed_in(reviewer).post(reverse("admin:cases_claim_next"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:cases_review", args=[case.uuid])
    assert Case.objects.get(pk=case.pk).assignee == reviewer
    empty = signed_in(reviewer).post(reverse("admin:cases_claim_next"))
    assert empty["Location"] == reverse("admin:cases_unassignedcase_changelist")
    assert signed_in(auditor).post(reverse("admin:cases_claim_next")).status_code == 403
    assert signed_in(reviewer).get(reverse("admin:cases_claim_next")).status_code == 405


@pytest.mark.parametrize(
    ("action", "data", "field"),
    [
        ("request_materials", {"request_materials-message": "x"}, "reason_codes"),
        ("reject", {"reject-message": "x"}, "reason_codes"),
        ("freeze", {"freeze-note": "x"}, "reason_code"),
        ("release", {}, "reason"),
    ],
)
def test_each_decision_form_refuses_a_missing_reason_and_changes_nothing(
    db: None, applicant: User, reviewer: User, action: Any, data: Any, field: Any
) -> None:
    case = reviewing_case(applicant, reviewer)
    events = CaseEvent.objects.count()
    response = signed_in(reviewer).post(
        reverse("admin:cases_act", args=[case.uuid]), {"action": action, **data}
    )
    assert response.status_code == 400
    form = next(f for f in response.context["forms"] if f.action == action)
    assert field in form.errors
    assert "Please correct the errors" in response.content.decode()
    assert CaseEvent.objects.count() == events
    assert Case.objects.get(pk=case.pk).state == CaseState.REVIEWING


def test_decision_buttons_follow_the_transitions_this_person_may_take(
    db: None, applicant: User, reviewer: User, auditor: User, supervisor: User
) -> None:
    case = reviewing_case(applicant, reviewer)

    def offered(user: User) -> list[str]:
        response = signed_in(user).get(reverse("admin:cases_review", args=[case.uuid]))
        return [form.action for form in response.context["forms"]]

    assert set(offered(reviewer)) == {"release", "request_materials", "reject", "freeze"}
    accept_all(case, reviewer)
    assert "approve" in offered(reviewer)
    assert offered(auditor) == []
    assert set(offered(supervisor)) >= {"assign", "retarget", "release", "freeze"}
    assert "approve" not in offered(supervisor)


def test_the_preview_shows_the_applicants_e_mail_in_their_language(
    db: None, reviewer: User
) -> None:
    english = make_user("eve@example.com", Role.APPLICANT, preferred_language="en")
    case = reviewing_case(english, reviewer)
    response = signed_in(reviewer).post(
        reverse("admin:cases_act", args=[case.uuid]),
        {**FORMS["request_materials"], "preview": "1"},
    )
    assert response.status_code == 200
    subject, body = response.context["preview"]
    assert "The photo is blurred." in body and "ID card, front" in body
    assert case.reference in subject
    assert not CaseEvent.objects.filter(case=case, event_type=EventType.MATERIALS_REQUESTED)


def test_four_eyes_through_the_workbench(
    db: None, applicant: User, reviewer: User, senior: User, other_reviewer: User
) -> None:
    case = reviewing_case(applicant, reviewer)
    act = reverse("admin:cases_act", args=[case.uuid])
    maker = signed_in(reviewer)
    reject = {"action": "reject", "reject-reason_codes": ["DOC_FORGED"], "reject-note": "Clone."}
    assert maker.post(act, reject).status_code == 302
    proposal = DecisionProposal.objects.get(case=case, status=ProposalStatus.PENDING)
    assert Case.objects.get(pk=case.pk).state == CaseState.REVIEWING
    # The maker is offered no signature, and cannot give one.
    screen = maker.get(reverse("admin:cases_review", args=[case.uuid]))
    assert "countersign" not in [f.action for f in screen.context["forms"]]
    assert maker.post(act, {"action": "countersign"}).status_code == 403
    # A reviewer who is not senior cannot even open it; a senior sees it in the queue.
    assert signed_in(other_reviewer).post(act, {"action": "countersign"}).status_code == 404
    queue = signed_in(senior).get(reverse("admin:cases_foureyescase_changelist"))
    assert case.reference in queue.content.decode()
    # Sent back with a note: still the maker's, proposal closed.
    checker = signed_in(senior)
    assert checker.post(act, {"action": "send_back"}).status_code == 400
    back = checker.post(act, {"action": "send_back", "send_back-note": "Check the hologram."})
    assert back.status_code == 302
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SENT_BACK
    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.REVIEWING and case.assignee == reviewer
    # Proposed again and countersigned: only now the case is rejected, both signatures events.
    assert maker.post(act, reject).status_code == 302
    signed = checker.post(act, {"action": "countersign", "countersign-note": "Agreed."})
    assert signed.status_code == 302
    assert Case.objects.get(pk=case.pk).state == CaseState.REJECTED
    types = list(
        CaseEvent.objects.filter(case=case).order_by("seq").values_list("event_type", flat=True)
    )
    assert types[-3:] == [
        EventType.DECISION_SENT_BACK,
        EventType.DECISION_PROPOSED,
        EventType.REJECTED,
    ]


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


def test_document_verdicts_from_the_review_screen(
    db: None, applicant: User, reviewer: User
) -> None:
    case = reviewing_case(applicant, reviewer)
    front = next(d for d in case.current_documents() if d.slot == Slot.ID_FRONT)
    act = reverse("admin:cases_act", args=[case.uuid])
    client = signed_in(reviewer)
    refused = client.post(
        act,
        {
            "action": "verdict",
            "verdict-document": front.pk,
            "verdict-verdict": "reupload_requested",
        },
    )
    assert refused.status_code == 400
    assert "Say why a new upload is needed." in refused.content.decode()
    front.refresh_from_db()
    assert front.verdict == "pending"
    ok = client.post(
        act,
        {
            "action": "verdict",
            "verdict-document": front.pk,
            "verdict-verdict": "reupload_requested",
            "verdict-reason_code": "DOC_UNREADABLE",
        },
    )
    assert ok.status_code == 302
    front.refresh_from_db()
    assert (front.verdict, front.verdict_reason_id) == ("reupload_requested", "DOC_UNREADABLE")
    event = CaseEvent.objects.filter(case=case, event_type=EventType.DOCUMENT_VERDICT).get()
    assert event.actor_user == reviewer and event.file_sha256 == front.sha256


def test_internal_notes_never_reach_the_applicant(
    db: None, applicant: User, reviewer: User
) -> None:
    case = reviewing_case(applicant, reviewer)
    response = signed_in(reviewer).post(
        reverse("admin:cases_act", args=[case.uuid]),
        {
            "action": "reject",
            "reject-reason_codes": ["DOC_EXPIRED"],
            "reject-message": "Your ID card expired last month.",
            "reject-note": "Colleague says the applicant called twice, rude.",
        },
    )
    assert response.status_code == 302
    event = CaseEvent.objects.get(case=case, event_type=EventType.REJECTED)
    assert event.data["note"].startswith("Colleague")
    from cases.notifications import render_notification

    (notification,) = event.notifications.all()
    subject, body = render_notification(notification)
    assert "expired last month" in body
    assert "Colleague" not in body and "rude" not in subject + body


def test_reading_the_case_keeps_the_claim_alive(db: None, applicant: User, reviewer: User) -> None:
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from cases.sla.sweep import sla_sweep

    start = timezone.now()
    with time_machine.travel(start, tick=False):
        case = reviewing_case(applicant, reviewer)
    client = signed_in(reviewer)
    with time_machine.travel(start + timedelta(minutes=25), tick=False):
        assert client.get(reverse("admin:cases_review", args=[case.uuid])).status_code == 200
    with time_machine.travel(start + timedelta(minutes=40), tick=False):
        assert sla_sweep().released == 0
    with time_machine.travel(start + timedelta(minutes=56), tick=False):
        assert sla_sweep().released == 1
    assert Case.objects.get(pk=case.pk).state == CaseState.SUBMITTED


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
