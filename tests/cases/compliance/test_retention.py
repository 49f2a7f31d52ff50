"""Retention with legal hold (cases/compliance/retention.py): a closed case past its program's
period loses its files and keeps its record, hashes and history; a legal hold, proposed and
countersigned by two different supervisors, keeps them; lifting it takes two signatures too.
Followed through the storage, the rows, the chain, the portal, the admin and the timeline."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts.models import User
from cases import services
from cases.audit import verify_audit_chains
from cases.compliance.retention import (
    case_purge,
    holding,
    legal_hold_countersign,
    legal_hold_decline,
    legal_hold_propose,
    legal_hold_propose_lift,
    purge_due_at,
    retention_purge,
)
from cases.compliance.timeline import case_as_of, case_timeline
from cases.errors import FourEyesConflict, InvalidInput, InvalidState, NotPermitted
from cases.models import Case, CaseEvent, Document, LegalHold, Program
from cases.states import CaseState, EventType, HoldStatus, ProgramCode
from tests.factories import approved_case
from tests.helpers import at, fresh, signed_in, stored_files

RETENTION_DAYS = 1825  # the default: five years after closure


def closed_case(applicant: User, reviewer: User, when: datetime) -> Case:
    """An approved real-name case the applicant closed (closing the account) at `when`."""
    with time_machine.travel(when - timedelta(days=1), tick=False):
        case = approved_case(applicant, reviewer)
    with time_machine.travel(when, tick=False):
        services.case_close(case=case, actor=applicant, reason_code="CLOSURE_REQUESTED")
    case = fresh(case)
    assert case.state == CaseState.CLOSED and case.closed_at == when
    return case


def files_of(case: Case) -> set[Path]:
    names = set()
    for document in Document.objects.filter(case=case):
        names |= {Path(f.path) for f in (document.file, document.thumbnail) if f.name}
    return names


@pytest.fixture
def closed(applicant: User, reviewer: User) -> Case:
    return closed_case(applicant, reviewer, at(3, 10, 10))


def closed_at(case: Case) -> datetime:
    assert case.closed_at is not None
    return case.closed_at


def past(case: Case) -> datetime:
    return closed_at(case) + timedelta(days=RETENTION_DAYS, hours=1)


def test_a_case_past_its_period_loses_its_files_and_keeps_record_hashes_and_history(
    closed: Case, applicant: User, supervisor: User
) -> None:
    files = files_of(closed)
    assert files and files <= set(stored_files())
    documents = {d.pk: d.sha256 for d in Document.objects.filter(case=closed)}
    seq = closed.event_seq

    report = retention_purge(now=closed_at(closed) + timedelta(days=RETENTION_DAYS - 1))
    assert report.cases == 0 and files <= set(stored_files())  # a day early: kept

    report = retention_purge(now=past(closed))
    assert (report.cases, report.documents, report.purged) == (1, 2, [closed.reference])
    assert not files & set(stored_files())
    case = fresh(closed)
    # The record stays: the declared data, every document row with its hash, the history.
    assert case.full_name and case.id_number and case.state == CaseState.CLOSED
    assert {d.pk: d.sha256 for d in Document.objects.filter(case=case)} == documents
    assert all(d.purged_at == past(closed) for d in Document.objects.filter(case=case))
    assert all(not d.file.name for d in Document.objects.filter(case=case))
    event = CaseEvent.objects.get(case=case, seq=seq + 1)
    assert event.event_type == EventType.DOCUMENTS_PURGED and event.actor_type == "system"
    assert sorted(d["sha256"] for d in event.data["documents"]) == sorted(documents.values())
    assert verify_audit_chains(case=case).ok

    # Once only: a second run (or two at once) changes nothing.
    assert retention_purge(now=past(closed) + timedelta(days=1)).cases == 0
    assert case_purge(case=case, now=past(closed)) == []
    assert fresh(case).event_seq == seq + 1

    # Every level shows it: the portal and the admin answer 410 with the hash, the timeline and
    # the "as of" view name the purge.
    document = Document.objects.filter(case=case).first()
    assert document is not None
    portal = signed_in(applicant).get(reverse("portal:document", args=[case.uuid, document.pk]))
    assert portal.status_code == 410 and document.sha256 in portal.content.decode()
    export = json.loads(signed_in(applicant).get(reverse("data_download")).content)
    deleted = {d["sha256"]: d["file_deleted_at"] for d in export["cases"][0]["documents"]}
    assert deleted == {sha: past(closed).isoformat() for sha in documents.values()}
    admin = signed_in(supervisor).get(
        reverse("admin:cases_document", args=[case.uuid, document.pk])
    )
    assert admin.status_code == 410
    page = signed_in(supervisor).get(reverse("admin:cases_review", args=[case.uuid]))
    assert page.status_code == 200 and "kyc-purged" in page.content.decode()
    lines = [line for entry in case_timeline(case) for line in entry.details]
    assert any(document.sha256 in line and "v1" in line for line in lines)
    view = case_as_of(case, past(closed) + timedelta(minutes=1))
    assert all(d.get("purged") for d in view.documents.values())
    before = case_as_of(case, past(closed) - timedelta(seconds=1))
    assert before.documents and not any(d.get("purged") for d in before.documents.values())


def test_only_closed_cases_count_and_each_program_has_its_own_period(
    applicant: User, reviewer: User, senior: User
) -> None:
    still_approved = approved_case(applicant, reviewer)
    assert purge_due_at(still_approved) is None
    closed = closed_case(applicant, reviewer, at(3, 10, 10))
    real_name = Program.objects.get(code=ProgramCode.REAL_NAME)
    real_name.retention_days = 30
    real_name.save()
    assert purge_due_at(fresh(closed)) == closed_at(closed) + timedelta(days=30)
    report = retention_purge(now=closed_at(closed) + timedelta(days=31))
    assert report.purged == [closed.reference]
    assert Document.objects.filter(case=still_approved, purged_at=None).count() == 2


def test_a_legal_hold_keeps_the_files_from_its_proposal_until_its_lifting_is_countersigned(
    closed: Case, supervisor: User, other_supervisor: User
) -> None:
    files = files_of(closed)
    hold = legal_hold_propose(case=closed, actor=supervisor, reason="Police request 2026-117")
    assert holding(closed) == hold and hold.status == HoldStatus.PROPOSED
    assert retention_purge(now=past(closed)).cases == 0  # proposed: already kept

    hold = legal_hold_countersign(hold=hold, actor=other_supervisor, note="Seen the request.")
    assert (hold.status, hold.placed_by) == (HoldStatus.ACTIVE, other_supervisor)
    assert retention_purge(now=past(closed)).cases == 0

    hold = legal_hold_propose_lift(
        hold=hold, actor=other_supervisor, reason="Case closed by police"
    )
    assert hold.status == HoldStatus.LIFT_PROPOSED
    assert retention_purge(now=past(closed)).cases == 0  # still held until countersigned
    with pytest.raises(FourEyesConflict):
        legal_hold_countersign(hold=hold, actor=other_supervisor)
    hold = legal_hold_countersign(hold=hold, actor=supervisor)
    assert (hold.status, hold.lifted_by) == (HoldStatus.LIFTED, supervisor)
    assert files <= set(stored_files())

    assert retention_purge(now=past(closed)).purged == [closed.reference]
    assert not files & set(stored_files())
    kinds = list(CaseEvent.objects.filter(case=closed).values_list("event_type", flat=True))
    assert kinds[-5:] == [
        EventType.LEGAL_HOLD_PROPOSED,
        EventType.LEGAL_HOLD_PLACED,
        EventType.LEGAL_HOLD_LIFT_PROPOSED,
        EventType.LEGAL_HOLD_LIFTED,
        EventType.DOCUMENTS_PURGED,
    ]
    assert verify_audit_chains(case=closed).ok


def test_a_declined_proposal_stops_nothing_and_a_declined_lifting_keeps_the_hold(
    closed: Case, supervisor: User, other_supervisor: User
) -> None:
    hold = legal_hold_propose(case=closed, actor=supervisor, reason="Complaint pending")
    with pytest.raises(InvalidInput):
        legal_hold_decline(hold=hold, actor=other_supervisor, note=" ")
    hold = legal_hold_decline(hold=hold, actor=other_supervisor, note="No complaint on file")
    assert hold.status == HoldStatus.DECLINED and holding(closed) is None

    hold = legal_hold_propose(case=closed, actor=other_supervisor, reason="Court order 77")
    hold = legal_hold_countersign(hold=hold, actor=supervisor)
    hold = legal_hold_propose_lift(hold=hold, actor=supervisor, reason="Order expired")
    hold = legal_hold_decline(hold=hold, actor=other_supervisor, note="It was renewed")
    assert hold.status == HoldStatus.ACTIVE and not hold.lift_proposed_by
    assert retention_purge(now=past(closed)).cases == 0
    assert case_as_of(closed, past(closed)).legal_hold == HoldStatus.ACTIVE


def test_who_may_hold_and_what_each_step_needs(
    closed: Case, supervisor: User, other_supervisor: User, reviewer: User, auditor: User
) -> None:
    for person in (reviewer, auditor):
        with pytest.raises(NotPermitted):
            legal_hold_propose(case=closed, actor=person, reason="x")
    with pytest.raises(InvalidInput):
        legal_hold_propose(case=closed, actor=supervisor, reason="  ")
    hold = legal_hold_propose(case=closed, actor=supervisor, reason="Audit sample")
    with pytest.raises(InvalidState):
        legal_hold_propose(case=closed, actor=other_supervisor, reason="again")
    with pytest.raises(InvalidState):
        legal_hold_propose_lift(hold=hold, actor=other_supervisor, reason="not in force yet")
    with pytest.raises(NotPermitted):
        legal_hold_countersign(hold=hold, actor=auditor)
    with pytest.raises(FourEyesConflict):
        legal_hold_countersign(hold=hold, actor=supervisor)
    # The database itself refuses one person signing both halves.
    with pytest.raises(IntegrityError), transaction.atomic():
        LegalHold.objects.filter(pk=hold.pk).update(placed_by=supervisor)
    assert LegalHold.objects.filter(case=closed).count() == 1
    assert CaseEvent.objects.filter(case=closed, event_type__startswith="legal_hold").count() == 1


def test_a_purge_that_stopped_before_deleting_the_files_is_finished_by_the_next_run(
    closed: Case,
) -> None:
    files = files_of(closed)
    purged = case_purge(case=closed, now=past(closed))  # marked and recorded; files not deleted
    assert len(purged) == 2 and files <= set(stored_files())
    report = retention_purge(now=past(closed))
    assert report.cases == 0 and report.files_failed == 0
    assert not files & set(stored_files())
    assert CaseEvent.objects.filter(case=closed, event_type=EventType.DOCUMENTS_PURGED).count() == 1


def test_supervisors_hold_from_the_case_history_and_auditors_cannot(
    closed: Case, supervisor: User, other_supervisor: User, auditor: User
) -> None:
    url = reverse("admin:cases_legal_hold", args=[closed.uuid])
    history = reverse("admin:cases_timeline", args=[closed.uuid])
    sue, steve = signed_in(supervisor), signed_in(other_supervisor)

    page = sue.get(history)
    assert page.status_code == 200 and 'id="hold-propose"' in page.content.decode()
    refused = sue.post(url, {"action": "propose", "propose-text": ""})
    assert refused.status_code == 400 and LegalHold.objects.count() == 0
    assert (
        sue.post(url, {"action": "propose", "propose-text": "Regulator inquiry"}).status_code == 302
    )
    hold = LegalHold.objects.get()
    # The proposer sees no countersign button; the second supervisor does, and signs.
    assert 'id="hold-countersign"' not in sue.get(history).content.decode()
    assert 'id="hold-countersign"' in steve.get(history).content.decode()
    conflict = sue.post(url, {"action": "countersign", "countersign-text": ""})
    assert conflict.status_code == 400
    assert steve.post(url, {"action": "countersign", "countersign-text": ""}).status_code == 302
    assert LegalHold.objects.get(pk=hold.pk).status == HoldStatus.ACTIVE

    # An auditor reads the hold and can do nothing to it.
    audrey = signed_in(auditor)
    page = audrey.get(history)
    assert page.status_code == 200 and "Regulator inquiry" in page.content.decode()
    assert "hold-lift" not in page.content.decode()
    for action in ("propose", "countersign", "decline", "lift"):
        assert audrey.post(url, {"action": action, f"{action}-text": "x"}).status_code == 403
    assert LegalHold.objects.get(pk=hold.pk).status == HoldStatus.ACTIVE
    listing = audrey.get(reverse("admin:cases_legalhold_changelist"))
    assert listing.status_code == 200 and str(closed.reference) in listing.content.decode()
