"""What an auditor reads about one case (DESIGN §7, §8): its complete timeline, and the case as it
was at any instant, rebuilt from its events, never from the current row. Reads only.

The timeline merges, in time order: every event (actor, states, reasons, the internal note and
the exact e-mail the applicant received, the webhook the wallet got), document versions with
their hashes, signals and who cleared them, the review clock's segments, the four-eyes
signatures, and who read the case's personal data (the access log).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from cases.emails import render_notification
from cases.models import (
    AccessLog,
    Case,
    CaseEvent,
    DecisionProposal,
    Document,
    Notification,
    ReasonCode,
    Signal,
    SlaClock,
    SlaSegment,
    WebhookDelivery,
)
from cases.sla.business_time import ZERO
from cases.sla.business_time import business_time_between as between
from cases.sla.calendar import business_calendar
from cases.states import CaseState, EventType, HoldStatus, Slot


@dataclass(frozen=True)
class Entry:
    """One line of the timeline: when, what kind, who, what, and its details."""

    at: datetime
    kind: str  # event, document, signal, clock, four_eyes, access
    title: str
    actor: str = ""
    details: tuple[str, ...] = ()
    seq: int | None = None
    mail: tuple[tuple[str, str, str], ...] = ()  # (recipient, subject, body) as sent


def _label(choices: Any, value: str) -> str:
    return str(choices(value).label) if value in choices.values else value


def reason_lines(codes: Iterable[str], catalogue: dict[str, ReasonCode]) -> list[str]:
    """Each reason code with the text the applicant reads for it."""
    return [
        f"{code}: {catalogue[code].applicant_message()}" if code in catalogue else code
        for code in codes
    ]


def _event_entries(case: Case, catalogue: dict[str, ReasonCode]) -> list[Entry]:
    mails: dict[int, list[Notification]] = {}
    for note in Notification.objects.filter(event__case=case).select_related("recipient", "event"):
        mails.setdefault(note.event_id, []).append(note)
    hooks: dict[int, list[WebhookDelivery]] = {}
    for hook in WebhookDelivery.objects.filter(case=case).select_related("subscription"):
        hooks.setdefault(hook.event_id, []).append(hook)
    entries = []
    for event in case.events.order_by("seq"):
        details = []
        if event.from_state != event.to_state:
            details.append(
                _("State: %(from)s → %(to)s")
                % {
                    "from": _label(CaseState, event.from_state) if event.from_state else "—",
                    "to": _label(CaseState, event.to_state),
                }
            )
        details += [
            _("Reason: %(reason)s") % {"reason": r}
            for r in reason_lines(event.reason_codes, catalogue)
        ]
        if event.message:
            details.append(_("Message: %(text)s") % {"text": event.message})
        if event.data.get("note"):
            details.append(_("Internal note: %(text)s") % {"text": event.data["note"]})
        if event.file_sha256:
            details.append(_("File SHA-256: %(hash)s") % {"hash": event.file_sha256})
        for purged in event.data.get("documents", []):
            details.append(
                _("Purged: %(slot)s v%(version)s, SHA-256 %(hash)s")
                % {
                    "slot": _label(Slot, purged["slot"]),
                    "version": purged["version"],
                    "hash": purged["sha256"],
                }
            )
        for hook in hooks.get(event.pk, []):
            details.append(
                _("Webhook to %(url)s: %(status)s")
                % {"url": hook.subscription.url, "status": hook.get_status_display()}
            )
        entries.append(
            Entry(
                at=event.created_at,
                kind="event",
                title=_label(EventType, event.event_type),
                actor=event.actor_label,
                details=tuple(details),
                seq=event.seq,
                mail=tuple(
                    (note.recipient.email, *render_notification(note))
                    for note in mails.get(event.pk, [])
                ),
            )
        )
    return entries


def _document_entries(case: Case) -> list[Entry]:
    entries = []
    for doc in Document.objects.filter(case=case).select_related("verdict_reason", "verdict_by"):
        entries.append(
            Entry(
                at=doc.uploaded_at,
                kind="document",
                title=_("%(slot)s, version %(version)s")
                % {"slot": _label(Slot, doc.slot), "version": doc.version},
                actor=doc.uploaded_by_label,
                details=(
                    _("SHA-256: %(hash)s") % {"hash": doc.sha256},
                    _("%(type)s, %(size)s bytes") % {"type": doc.content_type, "size": doc.size},
                ),
            )
        )
        if doc.verdict_at:
            reason = doc.verdict_reason.code if doc.verdict_reason else ""
            entries.append(
                Entry(
                    at=doc.verdict_at,
                    kind="document",
                    title=_("%(slot)s, version %(version)s: %(verdict)s")
                    % {
                        "slot": _label(Slot, doc.slot),
                        "version": doc.version,
                        "verdict": doc.get_verdict_display(),
                    },
                    actor=doc.verdict_by.email if doc.verdict_by else "",
                    details=(reason,) if reason else (),
                )
            )
    return entries


def _signal_entries(case: Case) -> list[Entry]:
    entries = []
    for signal in Signal.objects.filter(case=case).select_related("resolved_by"):
        entries.append(
            Entry(
                at=signal.raised_at,
                kind="signal",
                title=_("Signal raised: %(kind)s (%(severity)s)")
                % {"kind": signal.get_kind_display(), "severity": signal.get_severity_display()},
                details=(signal.describe(),),
            )
        )
        if signal.resolved_at:
            entries.append(
                Entry(
                    at=signal.resolved_at,
                    kind="signal",
                    title=_("Signal %(status)s: %(kind)s")
                    % {"status": signal.get_status_display(), "kind": signal.get_kind_display()},
                    actor=signal.resolved_by.email if signal.resolved_by else "",
                    details=(signal.resolution_note,) if signal.resolution_note else (),
                )
            )
    return entries


def _clock_entries(case: Case) -> list[Entry]:
    entries = []
    for segment in SlaSegment.objects.filter(clock__case=case).select_related("clock"):
        entries.append(
            Entry(
                at=segment.started_at,
                kind="clock",
                title=_("Review clock %(kind)s: %(why)s")
                % {"kind": segment.get_kind_display(), "why": segment.start_reason},
                actor=segment.started_by,
                details=(
                    _("Target %(hours)s business hours")
                    % {"hours": segment.clock.target.total_seconds() / 3600},
                ),
            )
        )
    for clock in SlaClock.objects.filter(case=case, stopped_at__isnull=False):
        assert clock.stopped_at is not None
        entries.append(
            Entry(
                at=clock.stopped_at,
                kind="clock",
                title=_("Review clock stopped: %(status)s")
                % {"status": clock.get_status_display()},
            )
        )
    return entries


def _four_eyes_entries(case: Case) -> list[Entry]:
    entries = []
    for proposal in DecisionProposal.objects.filter(case=case).select_related(
        "proposed_by", "checked_by"
    ):
        if proposal.checked_at:
            entries.append(
                Entry(
                    at=proposal.checked_at,
                    kind="four_eyes",
                    title=_("Second signature on %(decision)s: %(status)s")
                    % {
                        "decision": proposal.get_decision_display(),
                        "status": proposal.get_status_display(),
                    },
                    actor=proposal.checked_by.email if proposal.checked_by else "",
                    details=(
                        _("Proposed by %(maker)s") % {"maker": proposal.proposed_by.email},
                        *((proposal.check_note,) if proposal.check_note else ()),
                    ),
                )
            )
    return entries


def _access_entries(case: Case) -> list[Entry]:
    return [
        Entry(
            at=row.at,
            kind="access",
            title=row.get_kind_display(),
            actor=row.user.email,
            details=tuple(x for x in (row.detail, str(row.ip or "")) if x),
        )
        for row in AccessLog.objects.filter(case=case).select_related("user")
    ]


KIND_ORDER = {"event": 0, "document": 1, "four_eyes": 2, "signal": 3, "clock": 4, "access": 5}


def case_timeline(case: Case) -> list[Entry]:
    """Everything that happened to `case` and everyone who read it, oldest first."""
    catalogue = ReasonCode.objects.in_bulk()
    entries = [
        *_event_entries(case, catalogue),
        *_document_entries(case),
        *_signal_entries(case),
        *_clock_entries(case),
        *_four_eyes_entries(case),
        *_access_entries(case),
    ]
    return sorted(entries, key=lambda e: (e.at, KIND_ORDER[e.kind], e.seq or 0))


def cases_handled_by(user_id: int) -> QuerySet[Any]:
    """The ids of the cases a member of staff acted on (one query on the events' actor index)."""
    return CaseEvent.objects.filter(actor_user_id=user_id).values("case_id")


# --- as of an instant ----------------------------------------------------------------------


@dataclass
class AsOf:
    """The case at `at`, as its events say it was."""

    at: datetime
    state: str = ""
    assignee_id: int | None = None
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)  # slot → version, verdict
    open_request: dict[str, Any] | None = None  # slots, reasons, message, since
    remaining: timedelta | None = None  # business time left on the running clock
    paused: bool = False
    legal_hold: str = ""  # the hold's status (HoldStatus), or "" when none
    events: int = 0

    @property
    def state_label(self) -> str:
        return _label(CaseState, self.state) if self.state else ""

    @property
    def legal_hold_label(self) -> str:
        return _label(HoldStatus, self.legal_hold) if self.legal_hold else ""


# Events after which nobody holds the case.
_UNASSIGNS = {
    EventType.RELEASED,
    EventType.MATERIALS_REQUESTED,
    EventType.APPROVED,
    EventType.REJECTED,
    EventType.FROZEN,
    EventType.CLOSED,
}
# Events that settle what was asked of the applicant.
_SETTLES = {EventType.RESUBMITTED, EventType.REAPPLIED, EventType.UNFROZEN, EventType.CLOSED}
_HOLD_EVENTS = {
    EventType.LEGAL_HOLD_PROPOSED: HoldStatus.PROPOSED,
    EventType.LEGAL_HOLD_PLACED: HoldStatus.ACTIVE,
    EventType.LEGAL_HOLD_LIFT_PROPOSED: HoldStatus.LIFT_PROPOSED,
    EventType.LEGAL_HOLD_LIFTED: "",
    EventType.LEGAL_HOLD_DECLINED: "",
}


def _hold_after(kind: str, data: dict[str, Any]) -> str:
    """The legal hold after one of its events (a declined lifting leaves the hold in force)."""
    if kind == EventType.LEGAL_HOLD_DECLINED and data.get("declined") == HoldStatus.LIFT_PROPOSED:
        return HoldStatus.ACTIVE
    return _HOLD_EVENTS[EventType(kind)]


def _replay(view: AsOf, event: CaseEvent, catalogue: dict[str, ReasonCode]) -> None:
    kind, data = event.event_type, event.data
    if event.to_state:
        view.state = event.to_state
    if kind == EventType.CLAIMED:
        view.assignee_id = event.actor_user_id
    elif kind in (EventType.ASSIGNED, EventType.UNFROZEN):
        view.assignee_id = data.get("assignee")
    elif kind in _UNASSIGNS:
        view.assignee_id = None
    if kind == EventType.DOCUMENT_UPLOADED:
        view.documents[data["slot"]] = {
            "version": data["version"],
            "verdict": "pending",
            "sha256": event.file_sha256,
        }
    elif kind == EventType.DOCUMENT_VERDICT:
        current = view.documents.get(data["slot"])
        if current and current["version"] == data["version"]:
            current["verdict"] = data["verdict"]
    elif kind == EventType.DOCUMENTS_PURGED:
        for purged in data["documents"]:
            current = view.documents.get(purged["slot"])
            if current and current["version"] == purged["version"]:
                current["purged"] = True
    if kind in _HOLD_EVENTS:
        view.legal_hold = _hold_after(kind, data)
    if kind in _SETTLES:
        view.open_request = None
    if kind == EventType.MATERIALS_REQUESTED or (
        kind == EventType.REJECTED
        and data.get("slots")
        and all(catalogue[c].is_retryable for c in event.reason_codes if c in catalogue)
    ):
        view.open_request = {
            "slots": list(data.get("slots", [])),
            "reasons": list(event.reason_codes),
            "message": event.message,
            "since": event.created_at,
        }
    elif kind == EventType.REJECTED:
        view.open_request = None


def _clock_as_of(case: Case, at: datetime) -> tuple[timedelta | None, bool]:
    """Business time left at `at` on the clock running then, and whether it was paused."""
    clock = (
        SlaClock.objects.filter(case=case, started_at__lte=at)
        .order_by("-started_at", "-pk")
        .first()
    )
    if clock is None or (clock.stopped_at is not None and clock.stopped_at <= at):
        return None, False
    calendar = business_calendar()
    used, paused = ZERO, False
    for segment in clock.segments.filter(started_at__lte=at).order_by("started_at", "pk"):
        end = min(segment.ended_at or at, at)
        if segment.kind == "running":
            used += between(calendar, segment.started_at, end)
        paused = segment.kind == "paused" and (segment.ended_at is None or segment.ended_at > at)
    target = clock.target
    # A later re-target changed the clock's row: before it, the old target held.
    retargeted = (
        CaseEvent.objects.filter(case=case, event_type=EventType.SLA_RETARGETED, created_at__gt=at)
        .order_by("seq")
        .first()
    )
    if retargeted is not None and retargeted.created_at >= clock.started_at:
        target = timedelta(hours=retargeted.data["old_target_hours"])
    return target - used, paused


def case_as_of(case: Case, at: datetime) -> AsOf:
    """The case at `at`: state, assignee, current documents and their verdicts, what was asked of
    the applicant, and the review time left, from the events written up to then (and the
    clock's segments, the ledger the review time is kept in)."""
    catalogue = ReasonCode.objects.in_bulk()
    view = AsOf(at=at)
    for event in case.events.filter(created_at__lte=at).order_by("seq"):
        _replay(view, event, catalogue)
        view.events += 1
    view.remaining, view.paused = _clock_as_of(case, at)
    return view
