"""The one dispatcher of what follows a case event: e-mail rows, webhook deliveries and the
request to run the automatic checks, written in the event's transaction and sent after commit.

Which event leads to what is decided by the event groups of cases/states.py (APPLICANT_EVENTS,
STAFF_EVENTS, WEBHOOK_EVENTS, CHECKED_EVENTS). Each row is the guarantee: a message lost on the
way to the broker is picked up by the periodic sweeps (unsent e-mails, due webhooks, requested
checks).
"""

from __future__ import annotations

from django.utils import timezone

from cases.enqueue import DELIVER_WEBHOOK, RUN_CHECKS, SEND_NOTIFICATION, enqueue_on_commit
from cases.integrations.webhooks import webhook_deliveries_create
from cases.models import Case, CaseEvent
from cases.notifications import notifications_create
from cases.states import CHECKED_EVENTS


def outbox_dispatch(event: CaseEvent) -> None:
    """Inside the event's transaction: write what follows `event` and queue it for after commit.

    Side effects: Notification rows (the applicant, or staff for SLA events), WebhookDelivery rows
    (the integration that created the case, for changes of state), `checks_requested_at` on the
    case (after a submission or an upload); on commit, one task per row and per check request.
    """
    for notification in notifications_create(event):
        enqueue_on_commit(SEND_NOTIFICATION, notification_id=notification.pk)
    for delivery in webhook_deliveries_create(event):
        enqueue_on_commit(DELIVER_WEBHOOK, delivery_id=delivery.pk)
    if event.event_type in CHECKED_EVENTS:
        checks_request(event.case)


def checks_request(case: Case) -> None:
    """Ask for a run of the automatic checks once the caller's transaction commits (the caller
    holds the case's lock). The row's `checks_requested_at` survives a lost message: the periodic
    task runs what is still requested a minute later."""
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(checks_requested_at=now)
    case.checks_requested_at = now
    enqueue_on_commit(RUN_CHECKS, case_id=case.pk)
