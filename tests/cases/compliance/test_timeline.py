"""The auditors' reading of a case (cases/compliance/timeline.py and the admin's case histories):
a case that went through every state, its timeline in order with actor and the applicant's text,
and the case "as of" several instants, compared with what it was at each of them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse

from accounts.models import User
from cases import services
from cases.compliance.timeline import case_as_of, case_timeline
from cases.models import AccessKind, AccessLog, Case, CaseEvent
from cases.sla.calendar import business_calendar
from cases.sla.selectors import open_clock, remaining
from cases.states import CaseState, Slot
from tests.factories import VALID_ID_NUMBER, accept_all, draft_case, upload
from tests.helpers import at, fresh, signed_in

Snapshot = dict[str, Any]


def snapshot(case: Case, when: datetime) -> Snapshot:
    """What the database says the case is now (at `when`), for the as-of comparison."""
    case = fresh(case)
    request = case.open_material_request()
    clock = open_clock(case)
    documents = {d.slot: (d.version, d.verdict) for d in case.current_documents()}
    return {
        "when": when,
        "state": case.state,
        "assignee": case.assignee_id,
        "documents": documents,
        "request": sorted(request.slots) if request else None,
        "remaining": remaining(clock, now=when, calendar=business_calendar()) if clock else None,
    }


def as_seen(case: Case, when: datetime) -> Snapshot:
    view = case_as_of(case, when)
    return {
        "when": when,
        "state": view.state,
        "assignee": view.assignee_id,
        "documents": {s: (d["version"], d["verdict"]) for s, d in view.documents.items()},
        "request": sorted(view.open_request["slots"]) if view.open_request else None,
        "remaining": view.remaining,
    }


@pytest.fixture
def lived(
    db: None,
    applicant: User,
    reviewer: User,
    senior: User,
    supervisor: User,
    other_supervisor: User,
) -> tuple[Case, list[Snapshot]]:
    """A real-name case through every state, one step per business hour of March 2026, with a
    snapshot after each step."""
    snaps: list[Snapshot] = []
    hours = iter(
        [at(3, d, h) for d in (9, 10, 11, 12, 13, 16, 17, 18) for h in (9, 10, 11, 12, 14, 15, 16)]
    )

    def step(action: Any) -> None:
        when = next(hours)
        with time_machine.travel(when, tick=False):
            action()
        later = when + timedelta(minutes=30)
        with time_machine.travel(later, tick=False):
            snaps.append(snapshot(case, later))

    with time_machine.travel(at(3, 9, 8), tick=False):
        case = draft_case(applicant)
    step(lambda: services.case_submit(case=case, actor=applicant))
    step(lambda: services.case_claim(case=case, actor=reviewer))
    step(
        lambda: services.case_request_materials(
            case=case,
            actor=reviewer,
            reason_codes=["DOC_UNREADABLE"],
            message="Blurred.",
            slots=[Slot.ID_FRONT],
        )
    )
    step(lambda: upload(case, Slot.ID_FRONT, applicant, colour="#112233"))
    step(lambda: services.case_resubmit(case=case, actor=applicant))
    step(lambda: services.case_claim(case=case, actor=reviewer))
    step(
        lambda: services.case_reject(
            case=case, actor=reviewer, reason_codes=["INFO_MISMATCH"], message="Check the name."
        )
    )
    step(
        lambda: services.case_update_declared_data(
            case=case, actor=applicant, declared={"full_name": "张三"}
        )
    )
    step(lambda: upload(case, Slot.ID_FRONT, applicant, colour="#445566"))
    step(lambda: services.case_reapply(case=case, actor=applicant))
    step(lambda: services.case_assign(case=case, actor=supervisor, reviewer=reviewer))
    step(lambda: accept_all(case, reviewer))
    step(lambda: services.case_approve(case=case, actor=reviewer))
    step(lambda: services.case_freeze(case=case, actor=supervisor, reason_code="INFO_TAMPERED"))
    step(
        lambda: services.case_unfreeze(
            case=case, actor=supervisor, reason_code="OWNER_VERIFIED", note="Owner called back."
        )
    )
    step(lambda: services.case_countersign(case=case, actor=other_supervisor, note="Agreed."))
    step(lambda: services.case_release(case=case, actor=supervisor, reason="Back to the queue."))
    step(lambda: services.case_claim(case=case, actor=reviewer))
    step(lambda: services.case_freeze(case=case, actor=supervisor, reason_code="INFO_TAMPERED"))
    step(lambda: services.case_close(case=case, actor=supervisor, reason_code="SUPERVISOR_CLOSED"))
    visited = {snap["state"] for snap in snaps} | {CaseState.DRAFT}
    assert visited == set(CaseState.values), visited
    return fresh(case), snaps


def test_the_timeline_lists_every_event_in_order_with_actor_and_text(
    lived: tuple[Case, list[Snapshot]], reviewer: User
) -> None:
    case, _ = lived
    entries = case_timeline(case)
    events = [e for e in entries if e.kind == "event"]
    assert [e.seq for e in events] == list(range(1, case.event_seq + 1))
    stored = CaseEvent.objects.filter(case=case).order_by("seq")
    assert [(e.actor, e.at) for e in events] == [(s.actor_label, s.created_at) for s in stored]
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    asked = next(e for e in events if e.title == "Materials requested")
    assert asked.actor == reviewer.email
    (recipient, _subject, body) = asked.mail[0]
    assert recipient == case.applicant.email and "Blurred." in body
    rejected = next(e for e in events if e.title == "Rejected")
    assert any("INFO_MISMATCH" in line for line in rejected.details)
    assert "Check the name." in rejected.mail[0][2]
    kinds = {e.kind for e in entries}
    assert {"document", "clock", "four_eyes"} <= kinds
    uploads = [e for e in entries if e.kind == "document" and "SHA-256" in " ".join(e.details)]
    assert len(uploads) == case.documents.count()


def test_as_of_each_instant_is_what_the_case_was_then(lived: tuple[Case, list[Snapshot]]) -> None:
    case, snaps = lived
    for snap in snaps:
        assert as_seen(case, snap["when"]) == snap, snap["when"]
    before = case_as_of(case, at(3, 9, 7))
    assert before.state == "" and before.events == 0


def test_auditors_search_and_read_histories_and_the_reads_are_logged(
    lived: tuple[Case, list[Snapshot]], auditor: User, reviewer: User, applicant: User
) -> None:
    case, snaps = lived
    client = signed_in(auditor)
    listing = reverse("admin:cases_auditcase_changelist")
    assert case.reference is not None
    for query in (
        {"q": case.reference},
        {"q": applicant.email},
        {"handled_by": str(reviewer.pk)},
        {"opened_from": "2026-03-01", "opened_to": "2026-03-31"},
    ):
        page = client.get(listing, query)
        assert page.status_code == 200 and case.reference in page.content.decode(), query
    outside = client.get(listing, {"opened_from": "2026-03-10", "opened_to": "2026-04-30"})
    assert case.reference not in outside.content.decode()
    searched = client.get(listing, {"q": VALID_ID_NUMBER})
    assert case.reference in searched.content.decode()
    assert AccessLog.objects.filter(user=auditor, kind=AccessKind.SEARCH_ID_NUMBER).exists()

    url = reverse("admin:cases_timeline", args=[case.uuid])
    moment = snaps[3]["when"]  # just after the first new upload: waiting for the resubmission
    page = client.get(url, {"as_of": moment.strftime("%Y-%m-%dT%H:%M")})
    text = page.content.decode()
    assert page.status_code == 200 and 'id="timeline"' in text
    assert f'<td id="as-of-state">{CaseState(snaps[3]["state"]).label}</td>' in text
    assert AccessLog.objects.filter(
        user=auditor, case=case, kind=AccessKind.VIEW_CASE, detail="timeline"
    ).exists()
    assert signed_in(reviewer).get(url).status_code == 403
    assert signed_in(reviewer).get(listing).status_code == 403
