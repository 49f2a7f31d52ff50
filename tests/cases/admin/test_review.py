"""The review screen in the admin (cases/admin/review.py) through the Django test client: who
opens which case, document and ID number, who may press what, and what each press leaves behind."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from accounts.models import User
from accounts.roles import Role
from cases.models import AccessKind, AccessLog, Case, CaseEvent, DecisionProposal
from cases.states import CaseState, EventType, ProposalStatus, Slot
from tests.factories import VALID_ID_NUMBER, accept_all, reviewing_case, submitted_case
from tests.helpers import client_for, make_user, signed_in

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
    assert case.reference is not None and case.reference in queue.content.decode()
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
    from cases.emails import render_notification

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
