"""Thin Celery tasks: keyword-only ids in, a service call, nothing else."""

from __future__ import annotations

from celery import shared_task


@shared_task(
    name="cases.send_notification",
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


@shared_task(name="cases.resend_stale_notifications")
def resend_stale_notifications() -> int:
    from cases.notifications import notifications_resend_stale

    return notifications_resend_stale()


@shared_task(name="cases.sla_sweep")
def sla_sweep() -> dict[str, int]:
    from cases.services.sweep import sla_sweep as sweep

    return sweep().as_dict()
