"""The one dispatcher of what follows an event (cases/outbox.py): across a whole life of two cases,
one of them the wallet's, every event leads to exactly what its groups in cases/states.py say:
e-mail rows, webhook rows, a request to run the checks, and nothing else."""

from __future__ import annotations

from typing import Any

import time_machine

from accounts.models import User
from cases import services
from cases.actors import IntegrationActor
from cases.enqueue import DELIVER_WEBHOOK, RUN_CHECKS, SEND_NOTIFICATION, enqueue
from cases.integrations.applicants import integration_applicant
from cases.models import (
    Case,
    CaseEvent,
    Integration,
    Notification,
    Program,
    WebhookDelivery,
    WebhookSubscription,
)
from cases.sla.sweep import sla_sweep
from cases.states import (
    APPLICANT_EVENTS,
    CHECKED_EVENTS,
    STAFF_EVENTS,
    WEBHOOK_EVENTS,
    EventType,
    ProgramCode,
    Slot,
)
from tests.factories import accept_all, ask_again, declared_for, upload
from tests.helpers import at, submit_at


def wallet_case(reviewer: User, supervisor: User, senior: User) -> Case:
    """A case the wallet creates and submits, sent back for a photo, resubmitted, frozen by the
    wallet's risk engine and unfrozen under four eyes."""
    wallet = IntegrationActor("wallet")
    case = services.case_create(
        program=Program.objects.get(code=ProgramCode.REAL_NAME),
        applicant=integration_applicant(
            integration=Integration.objects.get(name="wallet"), external_id="u-1"
        ),
        actor=wallet,
        declared=declared_for(ProgramCode.REAL_NAME),
    )
    for slot in (Slot.ID_FRONT, Slot.ID_BACK):
        upload(case, slot, wallet)
    services.case_submit(case=case, actor=wallet)
    ask_again(case, reviewer)
    upload(case, Slot.ID_FRONT, wallet, colour="#884422")
    services.case_resubmit(case=case, actor=wallet)
    services.case_freeze(case=case, actor=wallet, reason_code="SUSPICIOUS_BEHAVIOUR")
    services.case_unfreeze(case=case, actor=supervisor, reason_code="OWNER_VERIFIED", note="Ok.")
    services.case_countersign(case=case, actor=senior)
    return case


def applicants_case(applicant: User, reviewer: User) -> Case:
    """A portal case left idle: at risk, released, past its deadline; then approved."""
    case = submit_at(applicant, at(3, 10, 10))
    with time_machine.travel(at(3, 10, 10, 5), tick=False):
        services.case_claim(case=case, actor=reviewer)
    for when in (at(3, 10, 17), at(3, 12, 10)):
        with time_machine.travel(when, tick=False):
            sla_sweep()
    services.case_claim(case=case, actor=reviewer)
    accept_all(case, reviewer)
    services.case_approve(case=case, actor=reviewer)
    return case


def test_every_event_leads_to_what_its_groups_say_and_nothing_else(
    db: None,
    applicant: User,
    reviewer: User,
    supervisor: User,
    senior: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    wallet = Integration.objects.create(name="wallet")
    WebhookSubscription.objects.create(integration=wallet, url="https://wallet.example/hooks")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        cases = [wallet_case(reviewer, supervisor, senior), applicants_case(applicant, reviewer)]

    events = list(CaseEvent.objects.filter(case__in=cases).select_related("case__applicant"))
    kinds = {e.event_type for e in events}
    assert {EventType.SLA_AT_RISK, EventType.SLA_BREACHED, EventType.RELEASED} <= kinds
    for event in events:
        mailed = Notification.objects.filter(event=event).exists()
        hears = event.event_type in STAFF_EVENTS or (
            event.event_type in APPLICANT_EVENTS
            and not event.case.applicant.email.endswith(".invalid")
        )
        assert mailed == hears, event
        hooked = WebhookDelivery.objects.filter(event=event).exists()
        changed = event.from_state != event.to_state and event.event_type in WEBHOOK_EVENTS
        assert hooked == (bool(event.case.integration) and changed), event

    published = [(c.args[0], c.keywords) for c in callbacks if getattr(c, "func", None) is enqueue]
    checked = [e for e in events if e.event_type in CHECKED_EVENTS]
    assert sorted(kw["case_id"] for task, kw in published if task == RUN_CHECKS) == sorted(
        e.case_id for e in checked
    )
    assert len([1 for task, _ in published if task == SEND_NOTIFICATION]) == (
        Notification.objects.filter(event__in=events).count()
    )
    assert len([1 for task, _ in published if task == DELIVER_WEBHOOK]) == (
        WebhookDelivery.objects.filter(event__in=events).count()
    )
