"""The applicant's e-mail outbox (cases/notifications.py): sent at most once, only for the events
the applicant hears about, never tipping off a fraud suspect, and resent when a task was lost.

No worker here: the tests call `notification_send` directly, as the task would, or read the
messages the services put on the real broker. tests/cases/test_tasks.py runs a real worker.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.utils import timezone, translation
from django.utils.translation import gettext

from accounts.models import User
from accounts.roles import Role
from cases import services
from cases.models import CaseEvent, Notification, ReasonCode
from cases.notifications import notification_send, notifications_resend_stale
from cases.states import CaseState, EventType
from tests.factories import accept_all, reviewing_case, submitted_case
from tests.helpers import make_user, queued_tasks

FREEZE_NOTE = "Hologram shows clone-stamp traces; compare with case KYC-2026-000001."


@pytest.fixture
def english_applicant(db: None) -> Any:
    return make_user(
        "emma@example.com", Role.APPLICANT, full_name="Emma English", preferred_language="en"
    )


def notification_for(case: Any, event_type: str) -> Notification:
    return Notification.objects.get(event__case=case, event__event_type=event_type)


def send(notification: Notification) -> mail.EmailMessage:
    before = len(mail.outbox)
    assert notification_send(notification_id=notification.pk) is True
    assert len(mail.outbox) == before + 1
    return mail.outbox[-1]


# --- at most once ---------------------------------------------------------------------------


def test_a_notification_is_sent_once_and_a_redelivery_sends_nothing(
    applicant: User, mailoutbox: list[Any]
) -> None:
    case = submitted_case(applicant)
    notification = notification_for(case, EventType.SUBMITTED)
    assert (notification.recipient, notification.language) == (applicant, "zh-hans")
    assert notification.claimed_at is None and notification.sent_at is None

    message = send(notification)

    assert message.to == [applicant.email]
    assert case.reference is not None and case.reference in str(message.subject)
    notification.refresh_from_db()
    assert notification.claimed_at is not None and notification.sent_at is not None
    # The task delivered a second time (acks_late, a lost ack): the row is already claimed.
    assert notification_send(notification_id=notification.pk) is False
    assert len(mailoutbox) == 1


def test_sending_a_notification_that_does_not_exist_is_a_quiet_no_op(
    db: None, mailoutbox: list[Any]
) -> None:
    assert notification_send(notification_id=987654321) is False
    assert mailoutbox == []


def test_a_failed_send_releases_the_row_for_the_resend(
    applicant: User, settings: Any, mailoutbox: list[Any]
) -> None:
    case = submitted_case(applicant)
    notification = notification_for(case, EventType.SUBMITTED)
    settings.EMAIL_BACKEND = "tests.helpers.RefusingBackend"

    with pytest.raises(ConnectionRefusedError):
        notification_send(notification_id=notification.pk)

    notification.refresh_from_db()
    assert notification.claimed_at is None and notification.sent_at is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notification_send(notification_id=notification.pk) is True
    assert len(mailoutbox) == 1


def test_the_notification_is_enqueued_only_after_commit(
    applicant: User, django_capture_on_commit_callbacks: Any, empty_queue: None
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        case = submitted_case(applicant)
    notification = notification_for(case, EventType.SUBMITTED)
    # Nothing reaches the broker while the transaction is open ...
    assert queued_tasks() == []
    assert callbacks

    for callback in callbacks:
        callback()

    # ... and after commit exactly one task names the row (by id, never the object).
    sends = [task for task in queued_tasks() if task[0] == "cases.send_notification"]
    assert sends == [("cases.send_notification", {"notification_id": notification.pk})]


# --- which events the applicant hears about ---------------------------------------------------


def test_internal_review_steps_create_no_notification(
    applicant: User,
    reviewer: User,
    other_reviewer: User,
    supervisor: User,
    senior: User,
    mailoutbox: list[Any],
) -> None:
    case = reviewing_case(applicant, reviewer)  # submitted (heard) → claimed (internal)
    case = accept_all(case, reviewer)  # document verdicts
    services.case_release(case=case, actor=reviewer, reason="Going off shift.")
    services.case_assign(case=case, actor=supervisor, reviewer=other_reviewer)
    services.case_reject(case=case, actor=other_reviewer, reason_codes=["DOC_FORGED"])  # proposal
    services.case_send_back(case=case, actor=senior, note="Look at the back side again.")

    internal = [
        EventType.CLAIMED,
        EventType.DOCUMENT_VERDICT,
        EventType.RELEASED,
        EventType.ASSIGNED,
        EventType.DECISION_PROPOSED,
        EventType.DECISION_SENT_BACK,
    ]
    recorded = set(CaseEvent.objects.filter(case=case).values_list("event_type", flat=True))
    assert set(internal) <= recorded  # the steps really happened
    assert not Notification.objects.filter(event__event_type__in=internal).exists()
    assert list(Notification.objects.values_list("event__event_type", flat=True)) == [
        EventType.SUBMITTED
    ]


# --- freezing: no tipping-off ------------------------------------------------------------------


def _fraud_texts(code: str) -> list[str]:
    reason = ReasonCode.objects.get(code=code)
    return [
        code,
        reason.message_en,
        reason.message_zh_hans,
        reason.guidance_en,
        reason.guidance_zh_hans,
        FREEZE_NOTE,
    ]


@pytest.mark.parametrize(
    ("freezer", "reason_code"),
    [
        ("reviewer", "DOC_FORGED"),
        ("supervisor", "DOC_FORGED"),
        ("supervisor", "SUSPICIOUS_BEHAVIOUR"),
    ],
)
def test_a_fraud_freeze_tells_the_applicant_nothing_about_the_reason(
    request: pytest.FixtureRequest,
    applicant: User,
    reviewer: User,
    freezer: Any,
    reason_code: Any,
    mailoutbox: list[Any],
) -> None:
    case = reviewing_case(applicant, reviewer)
    actor = request.getfixturevalue(freezer)
    services.case_freeze(case=case, actor=actor, reason_code=reason_code, note=FREEZE_NOTE)

    message = send(notification_for(case, EventType.FROZEN))

    with translation.override("zh-hans"):
        frozen_text = gettext(
            "Your account has been frozen to protect it. Our team will contact you about the "
            "next steps."
        )
        frozen_label = str(CaseState.ACCOUNT_FROZEN.label)
    assert frozen_text in message.body
    assert frozen_label in str(message.subject)
    text = f"{message.subject}\n{message.body}"
    for secret in _fraud_texts(reason_code):
        assert secret not in text, f"the e-mail tips the applicant off: {secret!r}"
    assert "forg" not in text.lower() and "伪造" not in text


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_a_theft_freeze_by_the_applicant_explains_the_reason_in_their_language(
    applicant: User, english_applicant: User, language: Any, mailoutbox: list[Any]
) -> None:
    person = applicant if language == "zh-hans" else english_applicant
    case = submitted_case(person)
    services.case_freeze(case=case, actor=person, reason_code="THEFT_REPORTED")

    notification = notification_for(case, EventType.FROZEN)
    assert notification.language == language
    message = send(notification)

    theft = ReasonCode.objects.get(code="THEFT_REPORTED")
    wanted, other = (
        (theft.message_zh_hans, theft.message_en)
        if language == "zh-hans"
        else (theft.message_en, theft.message_zh_hans)
    )
    assert message.to == [person.email]
    assert wanted in message.body
    assert other not in message.body


# --- the periodic resend ---------------------------------------------------------------------


def test_resend_re_enqueues_only_unclaimed_old_notifications(
    applicant: User, empty_queue: None, mailoutbox: list[Any]
) -> None:
    cases = [submitted_case(applicant) for _ in range(4)]
    lost, recent, in_flight, sent = (notification_for(c, EventType.SUBMITTED) for c in cases)
    assert notification_send(notification_id=sent.pk) is True
    long_ago = timezone.now() - timedelta(minutes=30)
    Notification.objects.filter(pk__in=[lost.pk, in_flight.pk, sent.pk]).update(created_at=long_ago)
    # Claimed by a worker that is still sending (or died mid-send): not ours to resend.
    Notification.objects.filter(pk=in_flight.pk).update(claimed_at=long_ago)
    assert queued_tasks() == []

    assert notifications_resend_stale() == 1

    assert queued_tasks() == [("cases.send_notification", {"notification_id": lost.pk})]
    # The recent one still waits for its own task; it stays unclaimed, and is not sent twice.
    recent.refresh_from_db()
    assert recent.claimed_at is None and recent.sent_at is None
    # Delivering the re-enqueued task sends the lost e-mail, once.
    message = send(lost)
    assert cases[0].reference is not None and cases[0].reference in str(message.subject)
    assert notifications_resend_stale() == 0
    assert queued_tasks() == []
    assert len(mailoutbox) == 2  # `sent` earlier, `lost` now


def test_reasons_are_listed_in_the_order_the_reviewer_gave_them(
    db: None, applicant: User, reviewer: User
) -> None:
    """As the portal lists them (both use reasons_told), not in the catalogue's order."""
    case = reviewing_case(applicant, reviewer)
    codes = ["DOC_EXPIRED", "INFO_MISMATCH"]  # the catalogue lists "information" first
    services.case_request_materials(
        case=case, actor=reviewer, reason_codes=codes, message="Two things.", slots=["id_front"]
    )
    body = send(notification_for(case, EventType.MATERIALS_REQUESTED)).body
    language = applicant.preferred_language
    first, second = (ReasonCode.objects.get(code=c).applicant_message(language) for c in codes)
    assert first in body and second in body
    assert body.index(first) < body.index(second)
