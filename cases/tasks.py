"""Thin Celery tasks: keyword-only ids in, a service call, nothing else. Their names are defined
once in cases/enqueue.py, which publishes them."""

from __future__ import annotations

from celery import shared_task

from cases import enqueue


@shared_task(
    name=enqueue.SEND_NOTIFICATION,
    autoretry_for=(OSError,),
    # No countdown longer than a minute (DESIGN §5: timers are rows): a send that keeps failing
    # is left to the periodic resend of unsent outbox rows.
    retry_backoff=5,
    retry_backoff_max=60,
    max_retries=8,
)
def send_notification(*, notification_id: int) -> bool:
    from cases.notifications import notification_send

    return notification_send(notification_id=notification_id)


@shared_task(name=enqueue.RESEND_STALE_NOTIFICATIONS)
def resend_stale_notifications() -> int:
    from cases.notifications import notifications_resend_stale

    return notifications_resend_stale()


@shared_task(name=enqueue.SLA_SWEEP)
def sla_sweep() -> dict[str, int]:
    from cases.sla.sweep import sla_sweep as sweep

    return sweep().as_dict()


# Webhooks: one try per task; a failed try is retried by the sweep over `next_attempt_at`
# (exponential back-off up to an hour, DESIGN §5: timers are rows), never by the broker.
@shared_task(name=enqueue.DELIVER_WEBHOOK)
def deliver_webhook(*, delivery_id: int) -> bool:
    from cases.integrations.webhooks import webhook_deliver

    return webhook_deliver(delivery_pk=delivery_id)


@shared_task(name=enqueue.WEBHOOKS_DELIVER_DUE)
def webhooks_deliver_due() -> int:
    from cases.integrations.webhooks import webhooks_deliver_due as deliver_due

    return deliver_due()


# Automatic checks (DESIGN §6): one run per submission or upload, queued on commit; the periodic
# task runs any request whose message was lost.
@shared_task(name=enqueue.RUN_CHECKS)
def run_checks(*, case_id: int) -> dict[str, int]:
    from cases.checks.run import case_run_checks

    run = case_run_checks(case_id=case_id)
    return {"raised": len(run.raised), "resolved": len(run.resolved)} if run else {}


@shared_task(name=enqueue.RUN_REQUESTED_CHECKS)
def run_requested_checks() -> int:
    from cases.checks.run import checks_run_requested

    return checks_run_requested()


# The audit trail (DESIGN §7): the chain heads signed into the anchor store (hourly by default),
# and every chain verified against the anchors (nightly by default; also from the admin).
@shared_task(name=enqueue.AUDIT_ANCHOR)
def audit_anchor() -> str:
    from cases.compliance.anchors import anchor_chains

    anchor = anchor_chains()
    return anchor.name if anchor else ""


@shared_task(name=enqueue.AUDIT_VERIFY)
def audit_verify(*, requested_by_id: int | None = None) -> bool:
    from accounts.models import User
    from cases.compliance.verification import chain_verification_run

    person = User.objects.filter(pk=requested_by_id).first() if requested_by_id else None
    return chain_verification_run(requested_by=person).ok


# Retention (DESIGN §7): the files of closed cases past their program's retention period, unless
# a legal hold keeps them (daily by default).
@shared_task(name=enqueue.RETENTION_PURGE)
def retention_purge() -> dict[str, int]:
    from cases.compliance.retention import retention_purge as purge

    report = purge()
    return {"cases": report.cases, "documents": report.documents, "failed": report.files_failed}


# Evidence packs (DESIGN §7): each built by a worker once asked for; the sweep (every minute by
# default) publishes again what no worker took and deletes archives past their time.
@shared_task(name=enqueue.BUILD_EVIDENCE)
def build_evidence(*, export_id: int) -> str:
    from cases.compliance.evidence import evidence_build

    export = evidence_build(export_id)
    return export.status if export else ""


@shared_task(name=enqueue.EVIDENCE_SWEEP)
def evidence_sweep() -> dict[str, int]:
    from cases.compliance.evidence import evidence_sweep as sweep

    return sweep()


# The reports' summary table (every REPORT_REFRESH_SECONDS): this week's and last week's counters.
@shared_task(name=enqueue.REPORT_REFRESH)
def report_refresh() -> int:
    from cases.compliance.statistics import report_refresh as refresh

    return sum(refresh().values())
