"""What every case service shares: locking, permission and state checks, running a
transition with its event, reason validation, and the four-eyes proposal."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from cases import rules
from cases.actors import Actor, actor_label, is_user
from cases.audit import record_case_event
from cases.errors import (
    ConcurrentChange,
    FourEyesConflict,
    InvalidInput,
    InvalidState,
    NotPermitted,
    security_log,
)
from cases.models import (
    Case,
    CaseEvent,
    DecisionProposal,
    MaterialRequest,
    ReasonCode,
)
from cases.notifications import notifications_schedule_for_event
from cases.states import (
    CaseState,
    Decision,
    EventType,
    ProposalStatus,
    SignalSeverity,
    SignalStatus,
    Slot,
    Verdict,
)
from cases.webhooks import webhooks_schedule_for_event

log = logging.getLogger(__name__)


DECLARED_FIELDS = (
    "full_name",
    "id_number",
    "phone",
    "company_name",
    "credit_code",
    "contact_email",
    "credit_score",
    "device_risk_flags",
)


APPLICANT_CLOSE_REASONS = {"CLOSURE_REQUESTED"}
# A case entering the review queue gets its automatic checks run (DESIGN §6).
CHECKED_EVENTS = {EventType.SUBMITTED, EventType.RESUBMITTED, EventType.REAPPLIED}


APPLICANT_FREEZE_REASONS = {"THEFT_REPORTED"}


SYSTEM_CLOSE_REASONS = {
    "APPLICANT_NO_RESPONSE": CaseState.NEEDS_MATERIALS,
    "FINAL_REJECTION_AGED_OUT": CaseState.REJECTED,
}


def _lock(case: Case) -> Case:
    """Re-read the case with its row locked (PostgreSQL); SQLite's IMMEDIATE transaction already
    holds the database's write lock."""
    try:
        return (
            Case.objects.select_for_update(of=("self",)).select_related("program").get(pk=case.pk)
        )
    except Case.DoesNotExist as exc:
        raise InvalidInput(_("This case does not exist.")) from exc


def _deny(case: Case, actor: Actor, action: str, message: str | None = None) -> NotPermitted:
    """Log the refusal; `action` is a verb ("countersign") unless `message` says it otherwise."""
    security_log.warning(
        "denied action=%s case=%s actor=%s state=%s",
        action,
        case.uuid,
        actor_label(actor),
        case.state,
    )
    if message is None:
        message = _("You are not allowed to %(action)s this case.") % {"action": action}
    return NotPermitted(message)


def _state_label(case: Case) -> str:
    return str(CaseState(case.state).label)


def _check(case: Case, name: str, actor: Actor, action: str) -> None:
    """The transition exists from this state, and this actor may take it."""
    meta = getattr(case, name)._django_fsm
    if not meta.has_transition(case.state):
        raise InvalidState(
            _("This case is %(state)s; it cannot be %(action)s now.")
            % {"state": _state_label(case), "action": action}
        )
    if not meta.has_transition_perm(case, case.state, actor):
        # `action` is a past participle here ("approved").
        raise _deny(
            case,
            actor,
            action,
            _("You are not allowed to act on this case: it cannot be %(action)s by you.")
            % {"action": action},
        )


def _apply(
    case: Case,
    name: str,
    *,
    actor: Actor,
    event_type: str,
    reason_codes: Sequence[str] = (),
    message: str = "",
    data: dict[str, Any] | None = None,
    at: Any = None,
    args: dict[str, Any] | None = None,
) -> CaseEvent:
    """Run one transition with `args`, save it, and write its event (the caller holds the
    lock). A proposal still pending when the case moves on is superseded."""
    from cases.services.clock import clock_on_transition

    from_state = case.state
    now = at or timezone.now()
    try:
        getattr(case, name)(**(args or {}))
        clock_on_transition(case, name, actor=actor, now=now)
        case.save()
    except TransitionNotAllowed as exc:
        raise InvalidInput(_("The conditions for this action are not met.")) from exc
    except ConcurrentTransition as exc:
        raise ConcurrentChange(_("Someone else changed this case first; reload it.")) from exc
    DecisionProposal.objects.filter(case=case, status=ProposalStatus.PENDING).update(
        status=ProposalStatus.SUPERSEDED, checked_at=timezone.now()
    )
    event = record_case_event(
        case=case,
        event_type=event_type,
        actor=actor,
        from_state=from_state,
        to_state=case.state,
        reason_codes=reason_codes,
        message=message,
        data=data,
        now=now,
    )
    notifications_schedule_for_event(event)
    webhooks_schedule_for_event(event)
    if event_type in CHECKED_EVENTS:
        from cases.services.checks import checks_request

        checks_request(case)
    return event


def _reasons(codes: Sequence[str], decision: str, *, required: bool = True) -> list[ReasonCode]:
    codes = list(dict.fromkeys(code.strip().upper() for code in codes if code and code.strip()))
    if required and not codes:
        raise InvalidInput(
            _("Choose at least one reason from the catalogue."),
            field_errors={"reason_codes": [_("At least one reason is required.")]},
        )
    found = {r.code: r for r in ReasonCode.objects.filter(code__in=codes, is_active=True)}
    unknown = [code for code in codes if code not in found]
    if unknown:
        raise InvalidInput(
            _("Unknown reason code: %(codes)s.") % {"codes": ", ".join(unknown)},
            field_errors={"reason_codes": [_("Unknown reason code.")]},
        )
    unusable = [code for code in codes if decision not in found[code].decisions]
    if unusable:
        raise InvalidInput(
            _("These reasons cannot be used to %(decision)s: %(codes)s.")
            % {"decision": Decision(decision).label, "codes": ", ".join(unusable)},
            field_errors={"reason_codes": [_("This reason does not fit this decision.")]},
        )
    return [found[code] for code in codes]


def _slots_for(case: Case, reasons: list[ReasonCode], slots: Sequence[str] | None) -> list[str]:
    """The slots to ask for again: the reviewer's choice, else what the reasons name."""
    chosen = list(
        dict.fromkeys(slots if slots is not None else [s for r in reasons for s in r.slots])
    )
    allowed = set(case.program.slot_codes) | {Slot.DECLARED_DATA}
    wrong = [slot for slot in chosen if slot not in allowed]
    # A reason's default slots may name items another program has (ID front on a business
    # case); those are dropped. Only the reviewer's own choice can be wrong.
    if wrong and slots is not None:
        raise InvalidInput(
            _("These items are not part of this program: %(slots)s.") % {"slots": ", ".join(wrong)},
            field_errors={"slots": [_("Choose items of this program.")]},
        )
    return [slot for slot in chosen if slot in allowed]


def _actor_user(actor: Actor) -> Any:
    return actor if is_user(actor) else None


def four_eyes_required(case: Case, decision: str, reasons: Sequence[ReasonCode] = ()) -> bool:
    """DESIGN §3: business approvals, approvals with an open high-risk signal, rejections with
    reasons that need a second signature, and every unfreeze."""
    if decision == Decision.UNFREEZE:
        return True
    if decision == Decision.APPROVE:
        return (
            case.program.approval_needs_four_eyes
            or bool(case.device_risk_flags)
            or case.signals.filter(status=SignalStatus.OPEN, severity=SignalSeverity.HIGH).exists()
            or _high_finding_pending(case)
        )
    if decision == Decision.REJECT:
        return any(reason.needs_second_signature for reason in reasons)
    return False


def _high_finding_pending(case: Case) -> bool:
    """The automatic checks have not yet run on what the case holds now (they run after commit,
    or a minute later if the message was lost): look now, without storing anything, so an
    approval never slips past the second signature a high-severity finding will require."""
    if case.checks_requested_at is None:
        return False
    from cases.checks import case_findings

    return any(f.severity == SignalSeverity.HIGH for f in case_findings(case))


def _reviewer(user: Any) -> Any:
    if not rules.is_reviewer(user):
        raise InvalidInput(
            _("%(user)s cannot review cases.") % {"user": user},
            field_errors={"reviewer": [_("Choose someone who reviews cases.")]},
        )
    return user


def _no_pending(case: Case) -> None:
    if case.pending_proposal() is not None:
        raise FourEyesConflict(
            _(
                "A decision on this case is waiting for a second signature; it must be "
                "countersigned or sent back first."
            )
        )


def _undecided_documents(case: Case) -> list[str]:
    return [doc.slot for doc in case.current_documents() if doc.verdict != Verdict.ACCEPTED]


def _require_accepted_documents(case: Case) -> None:
    pending = _undecided_documents(case)
    if pending or not case.current_documents():
        labels = ", ".join(str(Slot(slot).label) for slot in pending)
        raise InvalidInput(
            _("Accept every current document before approving: %(items)s.") % {"items": labels},
            field_errors={"documents": pending},
        )


def _propose(
    case: Case,
    *,
    actor: Actor,
    decision: str,
    reasons: Sequence[ReasonCode] = (),
    slots: Sequence[str] = (),
    message: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
) -> CaseEvent:
    """Record the first signature of a four-eyes decision (the state does not change)."""
    _no_pending(case)
    if case.reviewer_activity_at is not None:
        # Waiting for the second signature is not an idle claim.
        case.reviewer_activity_at = None
        case.save(update_fields=["reviewer_activity_at"])
    proposal = DecisionProposal.objects.create(
        case=case,
        decision=decision,
        reason_codes=[r.code for r in reasons],
        slots=list(slots),
        message=message,
        note=note,
        data=data or {},
        proposed_by=_actor_user(actor),
        proposed_at=timezone.now(),
    )
    return record_case_event(
        case=case,
        event_type=EventType.DECISION_PROPOSED,
        actor=actor,
        from_state=case.state,
        to_state=case.state,
        reason_codes=proposal.reason_codes,
        message=message,
        data={"proposal": proposal.pk, "decision": decision, "note": note, **(data or {})},
        now=proposal.proposed_at,
    )


def _reject_kwargs(reasons: Sequence[ReasonCode], now: Any) -> dict[str, Any]:
    final_cooloffs = [r.cooloff_days for r in reasons if not r.is_retryable and r.cooloff_days]
    again = now + timedelta(days=max(final_cooloffs)) if final_cooloffs else None
    return {"now": now, "reasons": list(reasons), "may_apply_again_after": again}


def _open_material_request(
    case: Case,
    actor: Actor,
    reasons: Sequence[ReasonCode],
    slots: Sequence[str],
    message: str,
    now: Any,
) -> MaterialRequest:
    """The one open request of the case; any request left open from before is closed first."""
    MaterialRequest.objects.filter(case=case, resolved_at=None).update(resolved_at=now)
    return MaterialRequest.objects.create(
        case=case,
        requested_by=_actor_user(actor),
        reason_codes=[r.code for r in reasons],
        slots=list(slots),
        message=message,
        created_at=now,
    )


def _open_reapply_request(
    case: Case,
    actor: Actor,
    reasons: Sequence[ReasonCode],
    slots: Sequence[str],
    message: str,
    now: Any,
) -> None:
    """After a retryable rejection, the re-requested items are what reapplying asks for; a
    request left open from before never outlives the rejection."""
    if slots and all(r.is_retryable for r in reasons):
        _open_material_request(case, actor, reasons, slots, message, now)
    else:
        MaterialRequest.objects.filter(case=case, resolved_at=None).update(resolved_at=now)


def _do_reject(
    case: Case,
    *,
    actor: Actor,
    reasons: Sequence[ReasonCode],
    slots: Sequence[str],
    message: str,
    data: dict[str, Any],
) -> CaseEvent:
    now = timezone.now()
    _open_reapply_request(case, actor, reasons, slots, message, now)
    return _apply(
        case,
        "reject",
        actor=actor,
        event_type=EventType.REJECTED,
        reason_codes=[r.code for r in reasons],
        message=message,
        data={**data, "slots": list(slots)},
        at=now,
        args=_reject_kwargs(reasons, now),
    )


def _pending_for_checker(case: Case, actor: Actor, action: str) -> tuple[DecisionProposal, Any]:
    """The pending proposal and the person who may sign it now (never its maker)."""
    proposal = case.pending_proposal()
    if proposal is None:
        raise InvalidState(_("No decision on this case is waiting for a second signature."))
    if not is_user(actor) or not rules.can_countersign(actor):
        raise _deny(case, actor, action)
    if proposal.proposed_by_id == actor.pk:
        security_log.warning("maker tried to check proposal=%s case=%s", proposal.pk, case.uuid)
        raise FourEyesConflict(_("You proposed this decision; a different person must sign it."))
    return proposal, actor
