"""End to end: Celery beat schedules the SLA sweep, a real worker runs it on the real Redis.

Beat runs embedded in a thread with a one-second interval; the worker is the same solo worker
thread as in test_tasks.py. A case whose due instant is already past is breached and escalated
within two sweep intervals, once, however many sweeps follow.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from celery.beat import EmbeddedService
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.utils import timezone

from accounts.roles import Role
from cases.models import Case, CaseEvent, Notification
from cases.states import EventType, Priority
from kycreview.celery import app
from tests.factories import submitted_case
from tests.helpers import make_user, wait_for

pytestmark = pytest.mark.slow

INTERVAL = 1.0
STARTUP_ALLOWANCE = 10.0  # beat's first tick and the worker's connection, on a slow CI machine


@contextmanager
def worker_and_beat(schedule_dir: Path) -> Iterator[float]:
    """A solo worker thread and an embedded beat with only the SLA sweep, every INTERVAL
    seconds, started once the test's data is committed; yields beat's start time."""
    saved = (app.conf.beat_schedule, app.conf.beat_schedule_filename)
    app.conf.beat_schedule = {
        "sla-sweep": {"task": "cases.sla_sweep", "schedule": INTERVAL, "options": {"expires": 5}}
    }
    app.conf.beat_schedule_filename = str(schedule_dir / "beat-schedule")
    app.control.purge()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        beat: Any = EmbeddedService(app, thread=True, max_interval=INTERVAL)
        started = time.monotonic()
        beat.start()
        try:
            yield started
        finally:
            beat.stop()
            app.conf.beat_schedule, app.conf.beat_schedule_filename = saved
    app.control.purge()


def test_beat_and_a_worker_breach_an_overdue_case_once_within_two_intervals(
    transactional_db: None, settings: Any, tmp_path: Path
) -> None:
    applicant = make_user("late@example.com", Role.APPLICANT)
    supervisor = make_user("boss@example.com", Role.SUPERVISOR, preferred_language="en")
    # Submitted a week ago: a one-day target is long past.
    with time_machine.travel(timezone.now() - timedelta(days=7), tick=False):
        case = submitted_case(applicant)
    assert case.sla_due_at is not None and case.sla_due_at < timezone.now()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []

    def breaches() -> list[CaseEvent]:
        return list(CaseEvent.objects.filter(case=case, event_type=EventType.SLA_BREACHED))

    with worker_and_beat(tmp_path) as started:
        wait_for(breaches, "breach the overdue case", timeout=2 * INTERVAL + STARTUP_ALLOWANCE)
        breached_after = time.monotonic() - started
        # Several more sweeps run; none may breach or escalate again.
        time.sleep(4 * INTERVAL)
        (event,) = breaches()
        notification = Notification.objects.get(event=event, recipient=supervisor)
        wait_for(
            lambda: Notification.objects.filter(pk=notification.pk, sent_at__isnull=False).exists(),
            "send the breach e-mail to the supervisor",
        )
    assert breached_after <= 2 * INTERVAL + STARTUP_ALLOWANCE
    case = Case.objects.get(pk=case.pk)
    assert case.priority == Priority.HIGH  # escalated one step, once
    assert event.actor_label == "sla-sweep"
    (message,) = [m for m in mail.outbox if supervisor.email in m.to]
    assert case.reference is not None and case.reference in message.subject
    assert "missed its deadline" in message.body
