"""The SLA sweep (DESIGN §5): one periodic pass that finds due work through indexed columns.

Each action claims its row inside its own transaction (locked by primary key, the timer compared
with the value the selection saw, then cleared), then acts through the services or writes its
event and hands it to the outbox. A second sweep, or a sweep in another process, finds the timer
already moved and does nothing: no reminder, breach, escalation or close happens twice. A failure
rolls back its claim, so the next sweep tries that row again; it does not stop the rest of the
sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.actors import SystemActor
from cases.audit import record_case_event
from cases.models import Case, CaseEvent, SlaClock
from cases.outbox import outbox_dispatch
from cases.services.review import case_close, case_release
from cases.sla.selectors import RUNNING_STATES, next_reminder_at
from cases.states import CaseState, EventType, Priority

log = logging.getLogger(__name__)

SWEEP = SystemActor("sla-sweep")


@dataclass
class SweepResult:
    breached: int = 0
    at_risk: int = 0
    auto_closed: int = 0
    reminded: int = 0
    released: int = 0
    failed: int = 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _due(column: str, cutoff: datetime, **extra: Any) -> list[tuple[int, datetime]]:
    """(pk, timer value) of the rows whose `column` is due; the partial index on it answers."""
    rows = (
        Case.objects.filter(**{f"{column}__lte": cutoff}, **extra)
        .order_by(column)
        .values_list("pk", column)[: settings.SLA_SWEEP_BATCH]
    )
    return list(rows)


def _each(
    rows: list[tuple[int, datetime]], act: Callable[[int, datetime], bool], result: SweepResult
) -> int:
    done = 0
    for pk, seen in rows:
        try:
            with transaction.atomic():
                done += bool(act(pk, seen))
        except Exception:
            result.failed += 1
            log.exception("SLA sweep: %s failed for case %s", act.__name__, pk)
    return done


def _claim(
    pk: int, column: str, seen: datetime, states: Any, *, unset: str = "", **changes: Any
) -> Case | None:
    """Take one due timer once: lock the row by its primary key, check in Python that the timer
    still holds the value the selection saw (and the case is still in `states`, and `unset` is
    still NULL), then apply `changes`. Returns the locked case, as changed, or None: a second
    sweep, or a change by a person in between, finds the timer moved and does nothing.

    By primary key, not `WHERE column = seen`: with stale statistics the planner may answer the
    latter from the timer's partial index, reading every case sharing the deadline (quadratic
    when many do, as cases submitted overnight do).
    """
    case = (
        Case.objects.select_for_update(of=("self",)).select_related("program").filter(pk=pk).first()
    )
    if case is None or getattr(case, column) != seen or case.state not in states:
        return None
    if unset and getattr(case, unset) is not None:
        return None
    Case.objects.filter(pk=pk).update(**changes)
    expressions = [name for name, value in changes.items() if hasattr(value, "resolve_expression")]
    for name, value in changes.items():
        if name not in expressions:
            setattr(case, name, value)
    if expressions:
        case.refresh_from_db(fields=expressions)
    return case


def _event(case: Case, event_type: str, **kwargs: Any) -> CaseEvent:
    event = record_case_event(
        case=case,
        event_type=event_type,
        actor=SWEEP,
        from_state=case.state,
        to_state=case.state,
        **kwargs,
    )
    outbox_dispatch(event)
    return event


def _breach(pk: int, seen: datetime) -> bool:
    now = timezone.now()
    case = _claim(
        pk,
        "sla_due_at",
        seen,
        RUNNING_STATES,
        unset="sla_breached_at",
        sla_breached_at=now,
        sla_at_risk_at=None,
    )
    if case is None:
        return False
    old = case.priority
    case.priority = min(old + 1, Priority.URGENT)
    case.save(update_fields=["priority"])
    SlaClock.objects.filter(case=case, stopped_at=None).update(breached_at=now)
    _event(
        case,
        EventType.SLA_BREACHED,
        data={"due": seen.isoformat(), "priority_from": old, "priority_to": case.priority},
        now=now,
    )
    return True


def _at_risk(pk: int, seen: datetime) -> bool:
    now = timezone.now()
    case = _claim(
        pk,
        "sla_at_risk_at",
        seen,
        RUNNING_STATES,
        unset="sla_breached_at",
        sla_at_risk_at=None,
        sla_at_risk_since=now,
    )
    if case is None:
        return False
    due = case.sla_due_at.isoformat() if case.sla_due_at else None
    _event(case, EventType.SLA_AT_RISK, data={"due": due}, now=now)
    return True


def _auto_close(pk: int, seen: datetime) -> bool:
    if _claim(pk, "auto_close_at", seen, {CaseState.NEEDS_MATERIALS}, auto_close_at=None) is None:
        return False
    case_close(case=Case(pk=pk), actor=SWEEP, reason_code="APPLICANT_NO_RESPONSE")
    return True


def _remind(pk: int, seen: datetime) -> bool:
    case = _claim(
        pk,
        "applicant_reminder_at",
        seen,
        {CaseState.NEEDS_MATERIALS},
        applicant_reminder_at=None,
        applicant_reminders_sent=F("applicant_reminders_sent") + 1,
    )
    if case is None:
        return False
    upcoming = next_reminder_at(case, after_sent=case.applicant_reminders_sent)
    if upcoming is not None and (case.auto_close_at is None or upcoming < case.auto_close_at):
        case.applicant_reminder_at = upcoming
        case.save(update_fields=["applicant_reminder_at"])
    request = case.open_material_request()
    _event(
        case,
        EventType.APPLICANT_REMINDED,
        reason_codes=request.reason_codes if request else [],
        message=request.message if request else "",
        data={
            "slots": request.missing_slots() if request else [],
            "reminder": case.applicant_reminders_sent,
            "auto_close_at": case.auto_close_at.isoformat() if case.auto_close_at else None,
        },
    )
    return True


def _release_stale(pk: int, seen: datetime) -> bool:
    if (
        _claim(pk, "reviewer_activity_at", seen, {CaseState.REVIEWING}, reviewer_activity_at=None)
        is None
    ):
        return False
    minutes = settings.SLA_STALE_CLAIM_MINUTES
    case_release(
        case=Case(pk=pk),
        actor=SWEEP,
        reason=_("No reviewer activity for %(minutes)d minutes; back to the queue.")
        % {"minutes": minutes},
    )
    return True


def sla_sweep(*, now: datetime | None = None) -> SweepResult:
    """One pass over every kind of due SLA work. Safe to run twice, or in two processes at once.

    Side effects: breach and at-risk flags with their events, escalation of breached cases,
    applicant reminders, auto-close and stale-claim release through the services; e-mails queued
    on commit.
    """
    now = now or timezone.now()
    result = SweepResult()
    # Breach before at-risk: a case already past due is escalated, not merely warned about.
    result.breached = _each(_due("sla_due_at", now, sla_breached_at=None), _breach, result)
    result.at_risk = _each(_due("sla_at_risk_at", now), _at_risk, result)
    # Close before reminding: after a long outage, a case past its window is closed, not nagged.
    result.auto_closed = _each(_due("auto_close_at", now), _auto_close, result)
    result.reminded = _each(_due("applicant_reminder_at", now), _remind, result)
    stale = now - timedelta(minutes=settings.SLA_STALE_CLAIM_MINUTES)
    result.released = _each(_due("reviewer_activity_at", stale), _release_stale, result)
    if any(result.as_dict().values()):
        log.info("SLA sweep at %s: %s", now.isoformat(), result.as_dict())
    return result
