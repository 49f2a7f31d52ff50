"""E-mails about a case, through the outbox: to the applicant on every change of their case, to
reviewers and supervisors when a review deadline is at risk or missed (how each reads:
cases/emails.py).

The Notification row is written by the outbox (cases/outbox.py) in the same transaction as the
event; the e-mail is sent by a Celery task after commit. A lost task is picked up again by the
periodic resend; a redelivered task finds the row already claimed and sends nothing.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.mail import send_mail
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from cases.emails import render_notification
from cases.enqueue import SEND_NOTIFICATION, enqueue
from cases.models import CaseEvent, Notification
from cases.states import APPLICANT_EVENTS, EventType

RESEND_AFTER = timedelta(minutes=2)


def notifications_create(event: CaseEvent) -> list[Notification]:
    """Inside the event's transaction: the e-mail rows of whoever hears about `event` (the outbox
    sends them after commit). Side effects: Notification rows."""
    notifications = []
    for recipient in _recipients(event):
        if not recipient.email or recipient.email.endswith(".invalid"):
            continue  # applicants of an integration hear from the wallet, via its webhooks
        notifications.append(
            Notification.objects.create(
                event=event, recipient=recipient, language=recipient.preferred_language
            )
        )
    return notifications


def _supervisors() -> list[User]:
    """Everyone who may assign cases: the people who rebalance work when deadlines slip."""
    holds = Q(groups__permissions__codename="assign_case") | Q(
        user_permissions__codename="assign_case"
    )
    return list(User.objects.filter(holds, is_active=True).distinct().order_by("pk"))


def _recipients(event: CaseEvent) -> list[User]:
    case = event.case
    if event.event_type in APPLICANT_EVENTS:
        return [case.applicant]
    if event.event_type == EventType.SLA_AT_RISK:
        return [case.assignee] if case.assignee else _supervisors()
    if event.event_type == EventType.SLA_BREACHED:
        people = _supervisors()
        if case.assignee and case.assignee not in people:
            people.append(case.assignee)
        return people
    return []


def notification_send(*, notification_id: int) -> bool:
    """Send one queued e-mail at most once. Returns whether this call sent it.

    Side effects: claims the row, sends the e-mail, marks the row sent.
    """
    now = timezone.now()
    claimed = Notification.objects.filter(pk=notification_id, claimed_at=None).update(
        claimed_at=now
    )
    if claimed != 1:
        return False
    notification = Notification.objects.select_related("event__case", "recipient").get(
        pk=notification_id
    )
    subject, body = render_notification(notification)
    try:
        send_mail(subject, body, None, [notification.recipient.email])
    except Exception:
        # Unclaim so the periodic resend tries again; nothing was delivered.
        Notification.objects.filter(pk=notification_id).update(claimed_at=None)
        raise
    Notification.objects.filter(pk=notification_id).update(sent_at=timezone.now())
    return True


def notifications_resend_stale() -> int:
    """Re-enqueue queued e-mails whose task never ran (broker down, worker lost)."""
    cutoff = timezone.now() - RESEND_AFTER
    ids = list(
        Notification.objects.filter(claimed_at=None, created_at__lt=cutoff).values_list(
            "pk", flat=True
        )[:500]
    )
    for notification_id in ids:
        enqueue(SEND_NOTIFICATION, notification_id=notification_id)
    return len(ids)
