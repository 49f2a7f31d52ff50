"""Publishing a Celery task by name, never blocking on a dead broker: the row that asked for the
work is the guarantee, and a periodic sweep picks up whatever was not published.

Tasks are named here, once (cases/tasks.py registers them under these names), and published by
name, so that writing code never imports the task modules (which import the services).
"""

from __future__ import annotations

import functools
import logging

from django.db import transaction

log = logging.getLogger(__name__)

SEND_NOTIFICATION = "cases.send_notification"
RESEND_STALE_NOTIFICATIONS = "cases.resend_stale_notifications"
SLA_SWEEP = "cases.sla_sweep"
DELIVER_WEBHOOK = "cases.deliver_webhook"
WEBHOOKS_DELIVER_DUE = "cases.webhooks_deliver_due"
RUN_CHECKS = "cases.run_checks"
RUN_REQUESTED_CHECKS = "cases.run_requested_checks"
AUDIT_ANCHOR = "cases.audit_anchor"
AUDIT_VERIFY = "cases.audit_verify"
RETENTION_PURGE = "cases.retention_purge"
BUILD_EVIDENCE = "cases.build_evidence"
EVIDENCE_SWEEP = "cases.evidence_sweep"
REPORT_REFRESH = "cases.report_refresh"


def enqueue(task: str, **ids: int) -> None:
    """Publish `task` with keyword ids now. A broker that does not answer is logged, not raised:
    no publish retries, so a request never hangs on it."""
    from kycreview.celery import app

    try:
        app.send_task(task, kwargs=ids, retry=False)
    except Exception as exc:
        log.warning("%s %s not enqueued (%s); the periodic sweep will do it", task, ids, exc)


def enqueue_on_commit(task: str, **ids: int) -> None:
    """Publish `task` once the caller's transaction commits (nothing, if it rolls back)."""
    transaction.on_commit(functools.partial(enqueue, task, **ids))
