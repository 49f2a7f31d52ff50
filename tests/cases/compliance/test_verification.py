"""Verification against the anchors (cases/compliance/verification.py): an attacker with the
database in hand and the triggers out of the way, who even recomputes every hash with the chain
key, still cannot rewrite, truncate or delete an anchored history unseen; and the runs are
recorded, alert the people who must know, and are shown in the admin."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases import services
from cases.audit import event_hash
from cases.compliance.anchors import DirectoryAnchorStore, anchor_chains
from cases.compliance.verification import chain_verification_run, verify_against_anchors
from cases.db_triggers import drop_audit_triggers
from cases.enqueue import AUDIT_VERIFY
from cases.models import Case, CaseEvent, ChainVerification, Program
from cases.states import ProgramCode
from tests.factories import accept_all, approved_case, reviewing_case, submitted_case
from tests.helpers import queued_tasks, signed_in

EVENTS = CaseEvent._meta.db_table
CASES = Case._meta.db_table


@pytest.fixture
def store(tmp_path: Path, settings: Any) -> DirectoryAnchorStore:
    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    return DirectoryAnchorStore(settings.AUDIT_ANCHOR_DIR)


@pytest.fixture
def anchored(db: None, store: DirectoryAnchorStore, applicant: User, reviewer: User) -> list[Case]:
    """Three cases with their heads anchored; an intact fourth that moved on afterwards."""
    cases = [approved_case(applicant, reviewer), reviewing_case(applicant, reviewer)]
    cases.append(submitted_case(applicant))
    intact = submitted_case(applicant)
    assert anchor_chains(now=timezone.now() + timedelta(minutes=10), store=store) is not None
    services.case_claim(case=intact, actor=reviewer)  # moves on after the anchor: fine
    return [*cases, intact]


def sql(statement: str, params: list[Any] | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])


def events_of(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case).order_by("seq"))


def rechain(case: Case, keep: list[CaseEvent]) -> None:
    """Rewrite the case's history in place as `keep` (rows edited in memory, the others deleted
    with the e-mail and webhook rows that name them), every hash recomputed with the real chain
    key (the worst case: the attacker holds it), and the head on the case row to match."""
    kept = {event.pk for event in keep}
    dropped = [e.pk for e in CaseEvent.objects.filter(case=case) if e.pk not in kept]
    for table in ("cases_notification", "cases_webhookdelivery"):
        for pk in dropped:
            sql(f"DELETE FROM {table} WHERE event_id = %s", [pk])
    for pk in dropped:
        sql(f"DELETE FROM {EVENTS} WHERE id = %s", [pk])
    prev = "0" * 64
    for seq, event in enumerate(keep, start=1):
        event.seq, event.prev_hash = seq, prev
        event.hash = event_hash(event, case_uuid=str(case.uuid), prev_hash=prev)
        sql(
            f"UPDATE {EVENTS} SET seq = %s, message = %s, key_id = %s, prev_hash = %s, "
            "hash = %s WHERE id = %s",
            [seq, event.message, event.key_id, prev, event.hash, event.pk],
        )
        prev = event.hash
    sql(
        f"UPDATE {CASES} SET event_seq = %s, event_head = %s WHERE id = %s",
        [len(keep), prev if keep else "", case.pk],
    )


def verify_broken(*args: str) -> str:
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit_chain", *args, stdout=out)
    return out.getvalue()


def test_every_rewrite_behind_the_applications_back_is_named_against_the_anchor(
    anchored: list[Case],
) -> None:
    edited, truncated, emptied, intact = anchored
    drop_audit_triggers(connection)  # the owner's power; the test's rollback restores them
    history = events_of(edited)
    history[1].message = "nothing to see"  # a middle event edited, everything after re-chained
    rechain(edited, history)
    rechain(truncated, events_of(truncated)[:-1])  # the last event deleted, the head rewound
    rechain(emptied, [])  # every event deleted, the head reset

    report = verify_against_anchors()
    assert not report.ok
    # Without the anchor the rewritten chains are consistent: only the anchor sees them.
    assert {link.case_reference for link in report.chains.broken or []} == {
        edited.reference,
        truncated.reference,
        emptied.reference,
    }
    said = verify_broken()
    assert f"{edited.reference}: first broken link at event #{edited.event_seq}" in said
    assert "history was rewritten" in said
    assert f"{truncated.reference}" in said and "(truncated)" in said
    assert f"{emptied.reference}" in said and "every event was deleted" in said
    assert intact.reference is not None and intact.reference not in said


def test_a_case_deleted_with_its_history_is_named_by_its_uuid(
    db: None, store: DirectoryAnchorStore, applicant: User
) -> None:
    """A case that holds nothing but its history (an application just started)."""
    gone = services.case_create(
        program=Program.objects.get(code=ProgramCode.REAL_NAME),
        applicant=applicant,
        actor=applicant,
    )
    assert anchor_chains(now=timezone.now() + timedelta(minutes=10), store=store) is not None
    drop_audit_triggers(connection)
    sql(f"DELETE FROM {EVENTS} WHERE case_id = %s", [gone.pk])
    sql(f"DELETE FROM {CASES} WHERE id = %s", [gone.pk])
    report = verify_against_anchors()
    assert report.gone == [str(gone.uuid)]
    said = verify_broken()
    assert f"{gone.uuid}: the case and its whole history are gone from the database" in said


def test_against_an_older_anchor_and_an_unknown_one(anchored: list[Case], store: Any) -> None:
    edited = anchored[0]
    drop_audit_triggers(connection)
    history = events_of(edited)
    history[0].message = "changed"
    rechain(edited, history)
    assert str(edited.reference) in verify_broken("--against", "00000001.json")
    assert "There is no anchor named 00000009.json." in verify_broken("--against", "00000009.json")


def test_a_run_is_recorded_and_a_break_alerts_supervisors_and_auditors_once(
    anchored: list[Case], supervisor: User, auditor: User, reviewer: User, mailoutbox: list[Any]
) -> None:
    good = chain_verification_run(requested_by=auditor)
    assert good.ok and good.cases_checked == 4 and good.anchors_checked == 1
    assert good.anchor_name == "00000001.json" and mailoutbox == []

    drop_audit_triggers(connection)
    rechain(anchored[1], events_of(anchored[1])[:-1])
    bad = chain_verification_run()
    assert not bad.ok and bad.alerted_at is not None and bad.requested_by is None
    assert any(anchored[1].reference in problem for problem in bad.problems)
    assert sorted(m.to[0] for m in mailoutbox) == sorted([supervisor.email, auditor.email])
    assert anchored[1].reference in mailoutbox[0].body
    assert reviewer.email not in [m.to[0] for m in mailoutbox]


def test_the_admin_page_shows_the_anchor_and_the_last_run_and_verifies_on_request(
    anchored: list[Case], supervisor: User, auditor: User, reviewer: User, empty_queue: None
) -> None:
    chain_verification_run()
    url = reverse("admin:cases_chainverification_changelist")
    page = signed_in(auditor).get(url).content.decode()
    assert "Latest anchor: 00000001.json" in page and "every history is intact" in page
    assert 'id="anchor-now"' not in page  # auditors verify; supervisors also anchor
    assert 'id="anchor-now"' in signed_in(supervisor).get(url).content.decode()
    response = signed_in(auditor).post(reverse("admin:cases_verify_now"))
    assert response.status_code == 302
    assert queued_tasks() == [(AUDIT_VERIFY, {"requested_by_id": auditor.pk})]
    assert signed_in(reviewer).get(url).status_code == 403
    assert signed_in(reviewer).post(reverse("admin:cases_verify_now")).status_code == 403
    assert signed_in(auditor).post(reverse("admin:cases_anchor_now")).status_code == 403
    assert ChainVerification.objects.count() == 1


def test_a_new_chain_rewritten_with_plain_hashes_before_any_anchor_is_caught(
    db: None, applicant: User, reviewer: User
) -> None:
    """A case too new for an anchor, rewritten without the key (plain SHA-256, as events before
    the keyed chain were): its events' ids come after the first keyed event, an earlier case's."""
    submitted_case(applicant)
    case = accept_all(reviewing_case(applicant, reviewer), reviewer)
    drop_audit_triggers(connection)
    history = events_of(case)
    for event in history:
        event.key_id = ""
    history[1].message = "forged"
    rechain(case, history)
    said = verify_broken()
    assert f"{case.reference}: first broken link at event #1" in said
    assert "without a key after keyed events" in said
