"""The auditors' reading of a case (cases/compliance/timeline.py and the admin's case histories):
a case that went through every state, its timeline in order with actor and the applicant's text,
and the case "as of" several instants, compared with what it was at each of them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.urls import reverse

from accounts.models import User
from cases.compliance.timeline import case_as_of, case_timeline
from cases.models import AccessKind, AccessLog, Case, CaseEvent
from cases.states import CaseState
from tests.factories import VALID_ID_NUMBER
from tests.helpers import at, signed_in

Snapshot = dict[str, Any]


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
