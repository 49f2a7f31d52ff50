"""A real Celery worker, on the real Redis, runs what the services schedule on commit.

Nothing is mocked: the service commits, its on-commit hook publishes `cases.send_notification`
to the broker, a worker (in a thread of this process, so Django's locmem outbox is shared)
consumes it, renders the e-mail in the applicant's language and marks the outbox row sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.utils import translation
from django.utils.translation import gettext

from accounts.models import User
from accounts.roles import Role
from cases import services
from cases.models import Notification, ReasonCode
from cases.states import EventType
from cases.tasks import send_notification
from kycreview.celery import app
from tests.factories import reviewing_case, submitted_case
from tests.helpers import make_user, wait_for

WAIT_SECONDS = 20

pytestmark = pytest.mark.slow


@pytest.fixture
def worker(committed_db: None, settings: Any) -> Iterator[Any]:
    """One solo worker thread consuming the real broker, with an empty queue to start from."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    # Messages left by other tests name rows that no longer exist: harmless, but not ours.
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30) as w:
        yield w
    app.control.purge()


@pytest.fixture
def english_applicant(committed_db: None) -> Any:
    return make_user(
        "emma@example.com", Role.APPLICANT, full_name="Emma English", preferred_language="en"
    )


def wait_until_sent(notification: Notification) -> Notification:
    def sent() -> Notification | None:
        notification.refresh_from_db()
        return notification if notification.sent_at else None

    return wait_for(sent, f"send notification {notification.pk} ({notification.event})")


def mails_to(address: str) -> list[mail.EmailMessage]:
    return [message for message in mail.outbox if address in message.to]


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_worker_sends_the_e_mails_a_service_schedules_on_commit(
    worker: Any, applicant: User, english_applicant: User, reviewer: User, language: Any
) -> None:
    person = applicant if language == "zh-hans" else english_applicant

    # 1. Submitting commits; the on-commit hook puts the task on the broker; the worker sends.
    case = submitted_case(person)
    received = Notification.objects.get(event__case=case, event__event_type=EventType.SUBMITTED)
    assert received.language == language
    wait_until_sent(received)

    (message,) = wait_for(lambda: mails_to(person.email), "deliver the 'received' e-mail")
    assert message.to == [person.email]
    assert case.reference in message.subject
    with translation.override(language):
        expected = gettext(
            "We have received your application %(ref)s. A reviewer will look at it shortly."
        ) % {"ref": case.reference}
    assert expected in message.body
    assert received.claimed_at is not None and received.sent_at is not None
    assert received.claimed_at <= received.sent_at

    # 2. The same task delivered again (a lost ack) sends nothing: the row is already claimed.
    send_notification.delay(notification_id=received.pk)

    # 3. A request for materials, explained in the applicant's own language.
    services.case_claim(case=case, actor=reviewer)
    services.case_request_materials(
        case=case,
        actor=reviewer,
        reason_codes=["INFO_MISMATCH"],
        message="Bitte / 请 / please: re-check the ID number.",
    )
    requested = Notification.objects.get(
        event__case=case, event__event_type=EventType.MATERIALS_REQUESTED
    )
    # The worker is solo and the queue FIFO: once this one is sent, the redelivery ran before it.
    wait_until_sent(requested)
    messages = wait_for(
        lambda: len(mails_to(person.email)) >= 2 and mails_to(person.email),
        "deliver the 'materials requested' e-mail",
    )
    assert len(messages) == 2, [m.subject for m in messages]
    assert len(mail.outbox) == 2
    reason = ReasonCode.objects.get(code="INFO_MISMATCH")
    ours, theirs = (
        (reason.message_zh_hans, reason.message_en)
        if language == "zh-hans"
        else (reason.message_en, reason.message_zh_hans)
    )
    body = messages[1].body
    assert case.reference in messages[1].subject
    assert ours in body
    assert theirs not in body
    assert "re-check the ID number" in body


def test_worker_sends_nothing_for_a_case_event_the_applicant_does_not_hear_about(
    worker: Any, applicant: User, reviewer: User
) -> None:
    case = reviewing_case(applicant, reviewer)  # submitted (heard), then claimed (internal)
    wait_until_sent(
        Notification.objects.get(event__case=case, event__event_type=EventType.SUBMITTED)
    )
    # The release below schedules nothing; a freeze after it does. When the freeze's e-mail is
    # out, anything the release had scheduled would be out too (one solo worker, FIFO queue).
    services.case_release(case=case, actor=reviewer, reason="Going off shift.")
    services.case_freeze(case=case, actor=applicant, reason_code="THEFT_REPORTED")
    wait_until_sent(Notification.objects.get(event__case=case, event__event_type=EventType.FROZEN))

    subjects = [m.subject for m in wait_for(lambda: mails_to(applicant.email), "send mail")]
    assert len(subjects) == 2, subjects
    assert Notification.objects.filter(event__case=case).count() == 2


def test_worker_runs_the_automatic_checks_a_submission_asks_for(
    worker: Any, applicant: User, settings: Any
) -> None:
    """Submitting commits; its on-commit hook queues `cases.run_checks`; the worker stores the
    signals, writes the event and lifts the priority. The request row is cleared."""
    from cases.models import Case, Signal
    from cases.states import Priority, SignalKind

    settings.CHECK_MIN_IMAGE_SIDE = 1  # the factories' plain pictures: only the device matters
    settings.CHECK_MIN_SHARPNESS = 0
    case = submitted_case(applicant, device_risk_flags=["rooted"])
    signal = wait_for(
        lambda: Signal.objects.filter(case=case, kind=SignalKind.DEVICE_RISK).first(),
        "run the checks",
    )
    assert signal.evidence == {"flags": ["rooted"]}
    done = wait_for(
        lambda: Case.objects.filter(pk=case.pk, checks_requested_at=None).first(),
        "clear the request",
    )
    assert done.priority == Priority.HIGH
    # One run per upload and one for the submission; whether the draft's runs found the flag
    # first depends on the worker's pace: one or two events, the last one lifting the priority.
    events = case.events.filter(event_type=EventType.CHECKS_UPDATED).order_by("seq")
    assert 1 <= events.count() <= 2
    last = events.last()
    assert last is not None and last.data["priority_to"] == Priority.HIGH


def test_worker_anchors_the_heads_and_verifies_every_chain_on_request(
    worker: Any, applicant: User, auditor: User, settings: Any, tmp_path: Any, mailoutbox: Any
) -> None:
    """What beat runs on its schedule (cases.audit_anchor, cases.audit_verify), through the
    broker: an anchor in the store, then a recorded verification against it."""
    from cases.compliance.anchors import read_anchors
    from cases.enqueue import AUDIT_ANCHOR, AUDIT_VERIFY, enqueue
    from cases.models import Case, ChainVerification

    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    case = submitted_case(applicant)
    case = wait_for(  # the checks the submission asked for add their event first
        lambda: Case.objects.filter(pk=case.pk, checks_requested_at=None).first(), "run checks"
    )
    enqueue(AUDIT_ANCHOR)
    anchors = wait_for(lambda: read_anchors(), "write an anchor")
    assert anchors[0].heads == [[str(case.uuid), case.event_seq, case.event_head]]
    enqueue(AUDIT_VERIFY, requested_by_id=auditor.pk)
    run = wait_for(lambda: ChainVerification.objects.first(), "verify the chains")
    assert run.ok and run.requested_by == auditor and run.anchor_name == anchors[0].name
    assert settings.CELERY_BEAT_SCHEDULE["audit-anchor"]["task"] == AUDIT_ANCHOR
    assert settings.CELERY_BEAT_SCHEDULE["audit-verify"]["task"] == AUDIT_VERIFY


def test_worker_purges_the_files_of_a_case_past_its_retention_period(
    worker: Any, applicant: User, reviewer: User, settings: Any
) -> None:
    """What beat runs daily (cases.retention_purge), through the broker."""
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from cases.enqueue import RETENTION_PURGE, enqueue
    from cases.models import Case, Document, Program
    from cases.states import ProgramCode
    from tests.factories import approved_case

    Program.objects.filter(code=ProgramCode.REAL_NAME).update(retention_days=30)
    with time_machine.travel(timezone.now() - timedelta(days=40), tick=False):
        case = approved_case(applicant, reviewer)
        services.case_close(case=case, actor=applicant, reason_code="CLOSURE_REQUESTED")
    enqueue(RETENTION_PURGE)
    wait_for(
        lambda: not Document.objects.filter(case=case, purged_at=None).exists(), "purge the files"
    )
    assert Case.objects.get(pk=case.pk).events.last().event_type == EventType.DOCUMENTS_PURGED
    assert settings.CELERY_BEAT_SCHEDULE["retention-purge"]["task"] == RETENTION_PURGE


def test_worker_builds_an_evidence_pack_and_reports_its_progress(
    worker: Any, applicant: User, auditor: User, settings: Any, tmp_path: Any
) -> None:
    """An evidence pack asked for from the admin is built by a worker, through the broker."""
    import zipfile

    from django.core.files.storage import default_storage

    from cases.compliance.evidence import evidence_request
    from cases.enqueue import EVIDENCE_SWEEP
    from cases.models import EvidenceExport
    from cases.states import ExportStatus

    settings.AUDIT_ANCHOR_DIR = tmp_path / "anchors"
    case = submitted_case(applicant)
    export = evidence_request(actor=auditor, case=case, include_files=True)
    ready = wait_for(
        lambda: EvidenceExport.objects.filter(pk=export.pk, status=ExportStatus.READY).first(),
        "build the evidence pack",
    )
    assert (ready.done, ready.total, ready.percent) == (1, 1, 100)
    with default_storage.open(ready.file, "rb") as handle:
        names = zipfile.ZipFile(handle).namelist()
    assert f"{case.reference}/evidence.pdf" in names
    assert len([n for n in names if "/documents/" in n]) == case.documents.count()
    assert settings.CELERY_BEAT_SCHEDULE["evidence-sweep"]["task"] == EVIDENCE_SWEEP
