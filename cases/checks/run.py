"""The automatic checks' side effects (DESIGN §6): run them, store what they find, clear a signal,
and catch up with runs that were asked for (the request itself is written by cases/outbox.py).

A run stores what cases/checks/findings.py finds as Signal rows, marks the findings that no longer
hold as resolved, writes one CHECKS_UPDATED event when anything changed, and raises the priority
of a case under review when a high-severity signal appears. A high-severity open signal makes an
approval need a second signature (four_eyes_required).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import rules
from cases.actors import SYSTEM, Actor, user_or_none
from cases.audit import record_case_event
from cases.checks.findings import Finding, case_findings
from cases.checks.pictures import hash_bands, image_hash
from cases.enqueue import RUN_CHECKS, enqueue
from cases.errors import InvalidInput, InvalidState
from cases.guards import case_lock, refuse
from cases.models import Case, Document, DocumentHashBand, Signal
from cases.outbox import outbox_dispatch
from cases.states import CaseState, EventType, Priority, SignalSeverity, SignalStatus

log = logging.getLogger(__name__)

# Checks run on any case still in play; a closed case is history.
CHECKED_STATES = {
    CaseState.DRAFT,
    CaseState.SUBMITTED,
    CaseState.REVIEWING,
    CaseState.NEEDS_MATERIALS,
    CaseState.REJECTED,
}
# A high-severity signal moves a case in the review queue up to at least this priority.
HIGH_PRIORITY_STATES = {CaseState.SUBMITTED, CaseState.REVIEWING, CaseState.NEEDS_MATERIALS}
RUN_BATCH = 50
REQUEST_BATCH = 1000


@dataclass
class CheckRun:
    raised: list[Signal] = field(default_factory=list)
    resolved: list[Signal] = field(default_factory=list)


def case_run_checks(*, case_id: int, now: datetime | None = None) -> CheckRun | None:
    """Run every check on the case now. Running it twice changes nothing the second time.
    None when the case does not exist.

    The pictures are analysed before the case is locked (a run takes a while; the lock, on
    SQLite the whole database's, is held only to store the result). A request made meanwhile
    has a later time than `now` and is left for the next run.
    """
    now = now or timezone.now()
    case = Case.objects.select_related("program", "applicant").filter(pk=case_id).first()
    if case is None:
        return None
    findings = case_findings(case) if case.state in CHECKED_STATES else []
    return _store_findings(case, findings, now=now)


@transaction.atomic
def _store_findings(case: Case, found: list[Finding], *, now: datetime) -> CheckRun:
    case = case_lock(case)
    run = CheckRun()
    if case.state in CHECKED_STATES:
        findings = {(f.kind, f.subject): f for f in found}
        known = {(s.kind, s.subject): s for s in case.signals.all()}
        for key, finding in findings.items():
            signal = known.get(key)
            if signal is None:
                run.raised.append(
                    Signal.objects.create(
                        case=case,
                        document=finding.document,
                        kind=finding.kind,
                        subject=finding.subject,
                        severity=finding.severity,
                        evidence=finding.evidence,
                        raised_at=now,
                    )
                )
            elif signal.status == SignalStatus.RESOLVED:
                # Gone and back again (e.g. the flags were reset, then reported anew): open.
                signal.status = SignalStatus.OPEN
                signal.severity = finding.severity
                signal.evidence = finding.evidence
                signal.raised_at = now
                signal.resolved_at = None
                signal.save(
                    update_fields=["status", "severity", "evidence", "raised_at", "resolved_at"]
                )
                run.raised.append(signal)
            # A cleared finding stays cleared: a person looked at exactly this.
        for key, signal in known.items():
            if key not in findings and signal.status == SignalStatus.OPEN:
                signal.status = SignalStatus.RESOLVED
                signal.resolved_at = now
                signal.save(update_fields=["status", "resolved_at"])
                run.resolved.append(signal)
    # A case in the review queue with an open high-severity signal is at least high priority
    # (also when the signal was found earlier, e.g. on an upload to the draft).
    bump = (
        case.state in HIGH_PRIORITY_STATES
        and case.priority < Priority.HIGH
        and case.signals.filter(status=SignalStatus.OPEN, severity=SignalSeverity.HIGH).exists()
    )
    if run.raised or run.resolved or bump:
        data: dict[str, object] = {
            "raised": [
                {"signal": s.pk, "kind": s.kind, "severity": s.severity} for s in run.raised
            ],
            "resolved": [{"signal": s.pk, "kind": s.kind} for s in run.resolved],
        }
        if bump:
            data.update(priority_from=case.priority, priority_to=int(Priority.HIGH))
            case.priority = Priority.HIGH
            case.save(update_fields=["priority"])
        event = record_case_event(
            case=case,
            event_type=EventType.CHECKS_UPDATED,
            actor=SYSTEM,
            from_state=case.state,
            to_state=case.state,
            data=data,
            now=now,
        )
        outbox_dispatch(event)
    # Done with what was asked; a request made while this ran (a newer time) stays.
    Case.objects.filter(pk=case.pk, checks_requested_at__lte=now).update(checks_requested_at=None)
    return run


def checks_run_requested(*, now: datetime | None = None) -> int:
    """The periodic safety net: run the checks of cases whose request is older than
    CHECKS_RETRY_SECONDS (its message was lost or its worker died). Returns how many ran."""
    now = now or timezone.now()
    due = now - timedelta(seconds=settings.CHECKS_RETRY_SECONDS)
    ids = list(
        Case.objects.filter(checks_requested_at__lte=due)
        .order_by("checks_requested_at")
        .values_list("pk", flat=True)[:RUN_BATCH]
    )
    ran = 0
    for case_id in ids:
        try:
            case_run_checks(case_id=case_id)
            ran += 1
        except Exception:
            log.exception("automatic checks failed for case %s", case_id)
            # To the back of the line: a case that keeps failing never blocks the others.
            Case.objects.filter(pk=case_id, checks_requested_at__isnull=False).update(
                checks_requested_at=now
            )
    return ran


@transaction.atomic
def signal_clear(*, signal: Signal, actor: Actor, note: str) -> Signal:
    """Someone dismisses a finding after looking at it, saying why (rules.may_clear_signal: a
    high-severity one only a second person who may countersign). One event."""
    case = case_lock(signal.case)
    signal = Signal.objects.get(pk=signal.pk, case=case)  # the case's lock covers its signals
    if not rules.may_clear_signal(case, actor, high=signal.severity == SignalSeverity.HIGH):
        raise refuse(case, actor, _("clear a signal of"))
    note = (note or "").strip()
    if not note:
        raise InvalidInput(
            _("Say why this signal can be cleared."),
            field_errors={"note": [_("A note is required.")]},
        )
    if signal.status != SignalStatus.OPEN:
        raise InvalidState(_("This signal is no longer open."))
    now = timezone.now()
    signal.status = SignalStatus.CLEARED
    signal.resolved_at = now
    signal.resolved_by = user_or_none(actor)
    signal.resolution_note = note
    signal.save(update_fields=["status", "resolved_at", "resolved_by", "resolution_note"])
    event = record_case_event(
        case=case,
        event_type=EventType.SIGNAL_CLEARED,
        actor=actor,
        from_state=case.state,
        to_state=case.state,
        data={"signal": signal.pk, "kind": signal.kind, "note": note},
        now=now,
    )
    outbox_dispatch(event)
    return signal


def documents_backfill_hashes(*, batch: int = 500) -> int:
    """Give every stored picture that has none its perceptual hash and bands (pictures uploaded
    before the checks existed), so the duplicate check sees them. Returns how many got one."""
    done = 0
    last = 0
    while True:
        pictures = list(
            Document.objects.filter(
                pk__gt=last,
                perceptual_hash="",
                content_type__startswith="image/",
                purged_at=None,
            )
            .order_by("pk")
            .only("pk", "file")[:batch]
        )
        if not pictures:
            return done
        for document in pictures:
            last = document.pk
            try:
                with document.file.open("rb") as handle:
                    value = image_hash(handle.read())
            except OSError:
                log.warning("document %s: file unreadable, no perceptual hash", document.pk)
                continue
            if not value:
                continue
            with transaction.atomic():
                if Document.objects.filter(pk=document.pk, perceptual_hash="").update(
                    perceptual_hash=value
                ):
                    DocumentHashBand.objects.bulk_create(
                        DocumentHashBand(document_id=document.pk, band=band, value=band_value)
                        for band, band_value in hash_bands(value)
                    )
                    done += 1


def checks_request_many(cases: QuerySet[Case], *, run_here: bool = False) -> int:
    """Ask for the checks of many cases at once (after an upgrade, or new thresholds): one
    UPDATE marks them, then each is queued for the workers, or, with `run_here`, run in this
    process. Only cases the checks look at (CHECKED_STATES). Returns how many."""
    selected = cases.filter(state__in=CHECKED_STATES).order_by("pk")
    count = 0
    last = 0
    while True:
        # Batches by primary key: no statement locks a million rows, and new uploads' checks
        # are queued between the batches, not behind the whole backlog.
        batch = list(selected.filter(pk__gt=last).values_list("pk", flat=True)[:REQUEST_BATCH])
        if not batch:
            return count
        last = batch[-1]
        Case.objects.filter(pk__in=batch).update(checks_requested_at=timezone.now())
        for case_id in batch:
            if run_here:
                case_run_checks(case_id=case_id)
            else:
                enqueue(RUN_CHECKS, case_id=case_id)
        count += len(batch)
