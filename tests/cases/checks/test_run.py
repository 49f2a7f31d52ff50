"""Running the automatic checks and what their signals change (cases/checks/run.py): the second
signature while a high one is open, who clears a signal, when the checks run, the queue column
and the review screen, and that applicants and the wallet never see a signal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from cases import services
from cases.checks.run import checks_run_requested, signal_clear
from cases.enqueue import RUN_CHECKS, enqueue
from cases.errors import InvalidInput, InvalidState, NotPermitted
from cases.models import Case, CaseEvent, Document, Program, Signal
from cases.states import (
    CaseState,
    EventType,
    Priority,
    ProgramCode,
    ProposalStatus,
    SignalKind,
    SignalStatus,
    Slot,
)
from tests.factories import (
    accept_all,
    declared_for,
    reviewing_case,
    submitted_case,
)
from tests.helpers import make_user, open_signals, photo, run_checks, signed_in, upload_photo

# The factories' uploads are tiny plain PNGs; see tests/cases/checks/conftest.py.
pytestmark = pytest.mark.usefixtures("plain_factory_pictures")


def make_senior() -> User:
    return User.objects.filter(email="senior2@example.com").first() or make_user(
        "senior2@example.com", Role.SENIOR_REVIEWER
    )


def test_an_open_high_signal_needs_a_second_signature_until_cleared(
    db: None, matching_applicant: User, reviewer: User
) -> None:
    case = accept_all(reviewing_case(matching_applicant, reviewer), reviewer)
    Case.objects.filter(pk=case.pk).update(device_risk_flags=["rooted"])
    run_checks(case)
    Case.objects.filter(pk=case.pk).update(device_risk_flags=[])
    assert services.four_eyes_required(Case.objects.get(pk=case.pk), "approve")
    services.case_approve(case=case, actor=reviewer)
    case.refresh_from_db()
    assert case.state == CaseState.REVIEWING
    proposal = case.proposals.get()
    services.case_send_back(case=case, actor=make_senior(), note="Look at the device.")
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.SENT_BACK
    (signal,) = Signal.objects.filter(case=case, status=SignalStatus.OPEN)
    # The maker cannot clear it (that would skip the second signature); a second person can.
    with pytest.raises(NotPermitted):
        signal_clear(signal=signal, actor=reviewer, note="It is fine, trust me.")
    signal_clear(signal=signal, actor=make_senior(), note="Device replaced; checked by call.")
    services.case_approve(case=Case.objects.get(pk=case.pk), actor=reviewer)
    assert Case.objects.get(pk=case.pk).state == CaseState.APPROVED


def test_clearing_a_signal_needs_a_note_and_the_right_person(
    db: None,
    applicant: User,
    reviewer: User,
    other_reviewer: User,
    senior: User,
    supervisor: User,
    auditor: User,
) -> None:
    case = reviewing_case(applicant, reviewer, device_risk_flags=["rooted"])
    run_checks(case)
    high = Signal.objects.get(case=case, kind=SignalKind.DEVICE_RISK)  # high
    medium = Signal.objects.get(case=case, kind=SignalKind.PROFILE_MISMATCH)  # medium
    events = CaseEvent.objects.filter(case=case).count()
    with pytest.raises(InvalidInput):
        signal_clear(signal=medium, actor=reviewer, note="  ")
    for someone in (other_reviewer, auditor, applicant, senior):
        with pytest.raises(NotPermitted):
            signal_clear(signal=medium, actor=someone, note="Fine.")
    for someone in (reviewer, other_reviewer, auditor, applicant):
        with pytest.raises(NotPermitted):
            signal_clear(signal=high, actor=someone, note="Fine.")
    assert Signal.objects.filter(case=case, status=SignalStatus.OPEN).count() == 2
    assert CaseEvent.objects.filter(case=case).count() == events
    # The assignee clears the medium one; a second person who may countersign the high one.
    signal_clear(signal=medium, actor=reviewer, note="Married name; ID shows it.")
    signal_clear(signal=high, actor=supervisor, note="Known test device.")
    high.refresh_from_db()
    assert (high.status, high.resolved_by, high.resolution_note) == (
        SignalStatus.CLEARED,
        supervisor,
        "Known test device.",
    )
    event = CaseEvent.objects.filter(case=case).latest("seq")
    assert event.event_type == EventType.SIGNAL_CLEARED
    assert event.data == {"signal": high.pk, "kind": "device_risk", "note": "Known test device."}
    assert CaseEvent.objects.filter(case=case).count() == events + 2
    with pytest.raises(InvalidState):
        signal_clear(signal=high, actor=supervisor, note="Again.")
    # A cleared finding stays cleared when the checks run again.
    assert run_checks(case).raised == []
    assert Signal.objects.get(pk=high.pk).status == SignalStatus.CLEARED


def test_a_finding_that_comes_back_is_open_again(db: None, matching_applicant: User) -> None:
    case = submitted_case(matching_applicant, device_risk_flags=["rooted"])
    run_checks(case)
    (signal,) = Signal.objects.filter(case=case)
    Case.objects.filter(pk=case.pk).update(device_risk_flags=[])
    assert run_checks(case).resolved == [signal]
    Case.objects.filter(pk=case.pk).update(device_risk_flags=["rooted"])
    again = run_checks(case)
    signal.refresh_from_db()
    assert again.raised == [signal] and signal.status == SignalStatus.OPEN
    assert signal.resolved_at is None
    assert services.four_eyes_required(Case.objects.get(pk=case.pk), "approve")


def test_an_approval_looks_at_what_the_pending_checks_will_find(
    db: None, matching_applicant: User, reviewer: User
) -> None:
    """The checks run after commit (or a minute later if the message is lost): an approval in
    between must not slip past the second signature a high signal would require."""
    case = accept_all(reviewing_case(matching_applicant, reviewer), reviewer)
    assert case.checks_requested_at  # asked for on submission; no worker has run them here
    case.id_number = "110105194912310021"  # a record that fails its checksum: a high finding
    case.save(update_fields=["id_number"])
    events = CaseEvent.objects.filter(case=case).count()
    services.case_approve(case=case, actor=reviewer)
    case.refresh_from_db()
    assert case.state == CaseState.REVIEWING
    assert case.proposals.get().status == ProposalStatus.PENDING
    # The approval only looked: one event (the proposal); storing is the worker's run.
    assert CaseEvent.objects.filter(case=case).count() == events + 1
    assert not Signal.objects.filter(case=case).exists()
    run_checks(case)
    assert SignalKind.ID_NUMBER in open_signals(case)
    # Without the finding, the same approval needs no second signature.
    clean = accept_all(reviewing_case(matching_applicant, reviewer), reviewer)
    services.case_approve(case=clean, actor=reviewer)
    assert Case.objects.get(pk=clean.pk).state == CaseState.APPROVED


def test_a_case_whose_checks_keep_failing_does_not_block_the_others(
    db: None, matching_applicant: User, monkeypatch: Any
) -> None:
    from cases.checks import run as check_service

    broken = submitted_case(matching_applicant)
    fine = submitted_case(matching_applicant, device_risk_flags=["rooted"])
    Case.objects.filter(pk=broken.pk).update(
        checks_requested_at=timezone.now() - timedelta(minutes=10)
    )
    Case.objects.filter(pk=fine.pk).update(
        checks_requested_at=timezone.now() - timedelta(minutes=5)
    )
    real = check_service.case_findings

    def findings(case: Case, **kwargs: Any) -> Any:
        if case.pk == broken.pk:
            raise RuntimeError("a storage backend that fails")
        return real(case, **kwargs)

    monkeypatch.setattr(check_service, "case_findings", findings)
    monkeypatch.setattr(check_service, "RUN_BATCH", 1)
    now = timezone.now()
    assert check_service.checks_run_requested(now=now) == 0  # the oldest fails...
    assert Case.objects.get(pk=broken.pk).checks_requested_at == now  # ...and goes to the back
    assert check_service.checks_run_requested(now=now + timedelta(minutes=2)) == 1
    assert SignalKind.DEVICE_RISK in open_signals(fine)
    assert Case.objects.get(pk=fine.pk).checks_requested_at is None


def test_submission_and_uploads_request_a_run_and_the_periodic_task_catches_up(
    db: None, matching_applicant: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:
        case = submitted_case(matching_applicant, device_risk_flags=["rooted"])
    assert case.checks_requested_at is not None
    assert any(
        getattr(c, "func", None) is enqueue
        and c.args == (RUN_CHECKS,)
        and c.keywords == {"case_id": case.pk}
        for c in callbacks
    )
    # Nothing ran yet (the message was "lost"): too early for the safety net...
    assert checks_run_requested() == 0
    # ...a minute later it runs them, once.
    later = timezone.now() + timedelta(minutes=2)
    assert checks_run_requested(now=later) == 1
    assert Case.objects.get(pk=case.pk).checks_requested_at is None
    assert SignalKind.DEVICE_RISK in open_signals(case)
    assert checks_run_requested(now=later) == 0


def test_the_queue_counts_open_signals_and_the_review_screen_shows_the_evidence(
    db: None, applicant: User, reviewer: User, supervisor: User, auditor: User
) -> None:
    flagged = submitted_case(applicant, device_risk_flags=["rooted"])
    run_checks(flagged)  # device risk (high) and the profile's other name (medium)
    quiet = submitted_case(make_user("quiet@example.com", Role.APPLICANT, full_name="张三"))
    queue = signed_in(reviewer).get(reverse("admin:cases_unassignedcase_changelist"))
    rows = {c.pk: c for c in queue.context["cl"].result_list}
    assert sum(rows[flagged.pk].open_signals.values()) == 2
    assert rows[quiet.pk].open_signals == {}
    page = queue.content.decode()
    assert "open signals" in page.lower() and 'class="kyc-signal-high"' in page

    client = signed_in(reviewer)
    services.case_claim(case=flagged, actor=reviewer)
    screen = client.get(reverse("admin:cases_review", args=[flagged.uuid])).content.decode()
    assert "Risky device reported by the wallet" in screen and "rooted" in screen
    assert "Alice Applicant" in screen  # the evidence: what the wallet account says
    assert "cleared by a second person who may countersign" in screen
    signal = Signal.objects.get(case=flagged, kind=SignalKind.DEVICE_RISK)
    assert f"clear-signal-{signal.pk}" not in screen  # high: not for the assignee
    medium = Signal.objects.get(case=flagged, kind=SignalKind.PROFILE_MISMATCH)
    assert f"clear-signal-{medium.pk}" in screen
    clear = reverse("admin:cases_clear_signal", args=[flagged.uuid, medium.pk])
    refused = client.post(clear, {"note": ""})
    assert refused.status_code == 400
    assert "Say why this signal can be cleared." in refused.content.decode()
    assert Signal.objects.get(pk=medium.pk).status == SignalStatus.OPEN
    assert client.post(clear, {"note": "Married name."}).status_code == 302
    assert Signal.objects.get(pk=medium.pk).status == SignalStatus.CLEARED
    high = reverse("admin:cases_clear_signal", args=[flagged.uuid, signal.pk])
    assert client.post(high, {"note": "Mine."}).status_code == 403
    boss = signed_in(supervisor)
    assert boss.post(high, {"note": "Checked with the wallet."}).status_code == 302
    assert Signal.objects.get(pk=signal.pk).status == SignalStatus.CLEARED
    # Auditors read the evidence and get no button.
    audit = signed_in(auditor).get(reverse("admin:cases_review", args=[flagged.uuid]))
    assert "Checked with the wallet." in audit.content.decode()
    assert "clear-signal-" not in audit.content.decode()
    assert "clear-signal-" not in audit.content.decode()


def test_applicants_never_see_signals(db: None, applicant: User) -> None:
    from django.conf import settings
    from django.test import Client

    case = submitted_case(applicant, device_risk_flags=["rooted"])
    run_checks(case)
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(applicant)
    page = client.get(reverse("portal:case", args=[case.uuid])).content.decode()
    assert "rooted" not in page and "Risky device" not in page and "checks" not in page.lower()
    export = client.get(reverse("data_download")).content.decode()
    assert "rooted" not in export and "device_risk" not in export


def test_the_wallet_api_never_shows_signals(db: None) -> None:
    from tests.helpers import Api, application, make_key

    wallet = Api(make_key()[1])
    body = wallet.post(reverse("api-cases"), application()).json()
    case = Case.objects.get(uuid=body["id"])
    Case.objects.filter(pk=case.pk).update(device_risk_flags=["rooted"])
    run_checks(case)
    assert Signal.objects.filter(case=case).exists()
    for url in (
        reverse("api-case", args=[body["id"]]),
        reverse("api-case-history", args=[body["id"]]),
    ):
        text = wallet.get(url).content.decode()
        assert "device_risk" not in text and "checks_updated" not in text and "signal" not in text


def test_a_high_signal_found_on_the_draft_lifts_the_priority_on_submission(
    db: None, matching_applicant: User
) -> None:
    case = services.case_create(
        program=Program.objects.get(code=ProgramCode.REAL_NAME),
        applicant=matching_applicant,
        actor=matching_applicant,
        declared={**declared_for(ProgramCode.REAL_NAME), "device_risk_flags": ["rooted"]},
    )
    run_checks(case)  # the run an upload to the draft asks for
    assert Case.objects.get(pk=case.pk).priority == Priority.NORMAL  # a draft is in no queue
    for slot in (Slot.ID_FRONT, Slot.ID_BACK):
        services.document_upload(
            case=case,
            actor=matching_applicant,
            slot=slot,
            content=photo(9),
            content_type="image/jpeg",
        )
    services.case_submit(case=case, actor=matching_applicant)
    result = run_checks(case)
    assert result.raised == []
    assert Case.objects.get(pk=case.pk).priority == Priority.HIGH
    event = CaseEvent.objects.filter(case=case, event_type=EventType.CHECKS_UPDATED).latest("seq")
    assert (event.data["priority_from"], event.data["priority_to"]) == (1, 2)


def test_request_checks_command_backfills_hashes_and_checks_cases_in_play(
    db: None, matching_applicant: User, reviewer: User
) -> None:
    """After an upgrade: older pictures get their hash and bands, open cases their checks;
    decided cases are left alone."""
    from io import StringIO

    from django.core.management import call_command

    from cases.models import DocumentHashBand

    open_case = services.case_create(
        program=Program.objects.get(code=ProgramCode.REAL_NAME),
        applicant=matching_applicant,
        actor=matching_applicant,
        declared={**declared_for(ProgramCode.REAL_NAME), "device_risk_flags": ["rooted"]},
    )
    picture = upload_photo(open_case, Slot.ID_FRONT, photo(30))
    upload_photo(open_case, Slot.ID_BACK, photo(31))
    services.case_submit(case=open_case, actor=matching_applicant)
    # As a pre-upgrade database holds them: no hash, no bands, no request, no signals.
    DocumentHashBand.objects.filter(document__case=open_case).delete()
    Document.objects.filter(case=open_case).update(perceptual_hash="")
    Case.objects.filter(pk=open_case.pk).update(checks_requested_at=None)
    decided = accept_all(reviewing_case(matching_applicant, reviewer), reviewer)
    services.case_approve(case=decided, actor=reviewer)
    Case.objects.filter(pk=decided.pk).update(checks_requested_at=None)

    out = StringIO()
    call_command("request_checks", "--run-here", stdout=out)
    assert "Pictures given a perceptual hash: 2" in out.getvalue()
    assert "Cases checked: 1" in out.getvalue()
    picture.refresh_from_db()
    assert (
        picture.perceptual_hash and DocumentHashBand.objects.filter(document=picture).count() == 16
    )
    assert SignalKind.DEVICE_RISK in open_signals(open_case)
    assert Case.objects.get(pk=open_case.pk).checks_requested_at is None
    assert not Signal.objects.filter(case=decided).exists()
    assert Case.objects.get(pk=decided.pk).checks_requested_at is None
    # Queued instead (no --run-here): marked for the workers and the safety net.
    out = StringIO()
    call_command("request_checks", open_case.reference, stdout=out)
    assert "Cases whose checks were queued: 1" in out.getvalue()
    assert Case.objects.get(pk=open_case.pk).checks_requested_at is not None
