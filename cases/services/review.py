"""The reviewer's side: claim, assign, release, review documents, and decide."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases import rules
from cases.actors import Actor, IntegrationActor
from cases.audit import record_case_event
from cases.errors import (
    InvalidInput,
    InvalidState,
    NotPermitted,
)
from cases.models import (
    QUEUE_ORDER,
    Case,
    CaseEvent,
    Document,
    MaterialRequest,
    ReasonCode,
)
from cases.services._common import (
    APPLICANT_CLOSE_REASONS,
    APPLICANT_FREEZE_REASONS,
    SYSTEM_CLOSE_REASONS,
    _actor_user,
    _apply,
    _check,
    _deny,
    _do_reject,
    _lock,
    _no_pending,
    _open_material_request,
    _propose,
    _reasons,
    _require_accepted_documents,
    _reviewer,
    _slots_for,
    four_eyes_required,
)
from cases.states import (
    CaseState,
    Decision,
    EventType,
    ReasonCategory,
    Verdict,
)


@transaction.atomic
def case_claim(*, case: Case, actor: Actor) -> CaseEvent:
    """submitted → reviewing, assigned to the actor."""
    case = _lock(case)
    _check(case, "claim", actor, _("claimed"))
    return _apply(
        case, "claim", actor=actor, event_type=EventType.CLAIMED, args={"reviewer": actor}
    )


def _next_unassigned(actor: Any) -> Case | None:
    """Lock and return the best case for `actor` to take, skipping rows others hold."""
    waiting = Case.objects.filter(state=CaseState.SUBMITTED, assignee=None)
    candidates = (
        # Their own resubmitted cases come back to them first ...
        waiting.filter(resubmitted=True, preferred_reviewer=actor).order_by(*QUEUE_ORDER),
        # ... then the queue: resubmitted, priority, earliest due.
        waiting.order_by(*QUEUE_ORDER),
    )
    for queryset in candidates:
        case = queryset.select_for_update(skip_locked=True, of=("self",)).first()
        if case is not None:
            return case
    return None


@transaction.atomic
def case_claim_next(*, actor: Actor) -> CaseEvent | None:
    """Give the reviewer the best unassigned case, or None when the queue is empty.

    Two reviewers pressing at once never get the same case: on PostgreSQL the candidate row is
    locked with SKIP LOCKED (the other takes the next one); SQLite's IMMEDIATE transactions run
    the two one after the other. Side effects: as case_claim.
    """
    if not rules.is_reviewer(actor):
        raise NotPermitted(_("Only reviewers can claim cases."))
    case = _next_unassigned(actor)
    if case is None:
        return None
    return case_claim(case=case, actor=actor)


@transaction.atomic
def case_assign(*, case: Case, actor: Actor, reviewer: Any) -> CaseEvent:
    """A supervisor assigns (or reassigns) the case to a reviewer."""
    case = _lock(case)
    _check(case, "assign", actor, _("assigned"))
    _reviewer(reviewer)
    previous = case.assignee_id
    if previous == reviewer.pk:
        raise InvalidInput(_("The case is already assigned to %(user)s.") % {"user": reviewer})
    return _apply(
        case,
        "assign",
        actor=actor,
        event_type=EventType.ASSIGNED,
        data={"assignee": reviewer.pk, "previous_assignee": previous},
        args={"reviewer": reviewer},
    )


@transaction.atomic
def case_release(*, case: Case, actor: Actor, reason: str) -> CaseEvent:
    """reviewing → submitted: back to the queue, with a reason."""
    case = _lock(case)
    _check(case, "release", actor, _("released"))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            _("Say why the case goes back to the queue."),
            field_errors={"reason": [_("A reason is required.")]},
        )
    return _apply(
        case,
        "release",
        actor=actor,
        event_type=EventType.RELEASED,
        message=reason,
        data={"previous_assignee": case.assignee_id},
    )


@transaction.atomic
def document_set_verdict(
    *, document: Document, actor: Actor, verdict: str, reason_code: str = ""
) -> CaseEvent:
    """The assignee accepts a document or asks for a new upload of it, with a reason."""
    case = _lock(document.case)
    if case.state != CaseState.REVIEWING:
        raise InvalidState(_("Documents are reviewed only while the case is under review."))
    if not rules.is_assignee(case, actor):
        raise _deny(case, actor, _("review documents of"))
    document = Document.objects.select_for_update().get(pk=document.pk)
    newest = case.documents.filter(slot=document.slot).order_by("-version").first()
    if newest is None or newest.pk != document.pk:
        raise InvalidInput(_("Only the newest version of a document can be reviewed."))
    if verdict not in (Verdict.ACCEPTED, Verdict.REUPLOAD_REQUESTED):
        raise InvalidInput(_("Choose accept or request a new upload."))
    reasons = (
        _reasons([reason_code], Decision.REUPLOAD) if verdict == Verdict.REUPLOAD_REQUESTED else []
    )
    now = timezone.now()
    document.verdict, document.verdict_at, document.verdict_by = verdict, now, _actor_user(actor)
    document.verdict_reason = reasons[0] if reasons else None
    document.save(update_fields=["verdict", "verdict_at", "verdict_by", "verdict_reason"])
    case.reviewer_activity_at = now
    case.save(update_fields=["reviewer_activity_at"])
    return record_case_event(
        case=case,
        event_type=EventType.DOCUMENT_VERDICT,
        actor=actor,
        from_state=case.state,
        to_state=case.state,
        reason_codes=[r.code for r in reasons],
        data={
            "document": document.pk,
            "slot": document.slot,
            "version": document.version,
            "verdict": verdict,
        },
        file_sha256=document.sha256,
        now=now,
    )


@transaction.atomic
def case_request_materials(
    *,
    case: Case,
    actor: Actor,
    reason_codes: Sequence[str],
    message: str,
    slots: Sequence[str] | None = None,
) -> CaseEvent:
    """reviewing → needs_materials: which items, why, and a message. Pauses the clock."""
    case = _lock(case)
    _check(case, "request_materials", actor, _("sent back for materials"))
    _no_pending(case)
    reasons = _reasons(reason_codes, Decision.REQUEST_MATERIALS)
    chosen = _slots_for(case, reasons, slots)
    if not chosen:
        raise InvalidInput(
            _("Choose at least one item the applicant must provide again."),
            field_errors={"slots": [_("At least one item is required.")]},
        )
    message = (message or "").strip()
    if not message:
        raise InvalidInput(
            _("Write the message the applicant will read."),
            field_errors={"message": [_("A message is required.")]},
        )
    now = timezone.now()
    request = _open_material_request(case, actor, reasons, chosen, message, now)
    return _apply(
        case,
        "request_materials",
        actor=actor,
        event_type=EventType.MATERIALS_REQUESTED,
        reason_codes=request.reason_codes,
        message=message,
        data={"request": request.pk, "slots": chosen},
        at=now,
    )


@transaction.atomic
def case_approve(*, case: Case, actor: Actor, note: str = "") -> CaseEvent:
    """reviewing → approved by the assignee; where four-eyes applies, records the proposal
    instead and returns its event. Stops the clock."""
    case = _lock(case)
    _check(case, "approve", actor, _("approved"))
    _no_pending(case)
    _require_accepted_documents(case)
    if four_eyes_required(case, Decision.APPROVE):
        return _propose(case, actor=actor, decision=Decision.APPROVE, note=note)
    now = timezone.now()
    return _apply(
        case,
        "approve",
        actor=actor,
        event_type=EventType.APPROVED,
        data={"note": note},
        at=now,
        args={"now": now},
    )


@transaction.atomic
def case_reject(
    *,
    case: Case,
    actor: Actor,
    reason_codes: Sequence[str],
    message: str = "",
    slots: Sequence[str] | None = None,
    note: str = "",
) -> CaseEvent:
    """reviewing → rejected with reasons; retry or final follows from them. Fraud reasons need a
    second signature, in which case the proposal is recorded instead."""
    case = _lock(case)
    _check(case, "reject", actor, _("rejected"))
    _no_pending(case)
    reasons = _reasons(reason_codes, Decision.REJECT)
    chosen = _slots_for(case, reasons, slots) if all(r.is_retryable for r in reasons) else []
    if four_eyes_required(case, Decision.REJECT, reasons):
        return _propose(
            case,
            actor=actor,
            decision=Decision.REJECT,
            reasons=reasons,
            slots=chosen,
            message=message,
            note=note,
        )
    return _do_reject(
        case, actor=actor, reasons=reasons, slots=chosen, message=message, data={"note": note}
    )


def _freeze_reason_allowed(case: Case, actor: Actor, reason: ReasonCode) -> bool:
    if rules.is_system(actor) or rules.is_supervisor(actor) or isinstance(actor, IntegrationActor):
        return True
    if rules.is_owner(case, actor):
        return reason.code in APPLICANT_FREEZE_REASONS
    return reason.category == ReasonCategory.FRAUD  # the assignee


@transaction.atomic
def case_freeze(*, case: Case, actor: Actor, reason_code: str, note: str = "") -> CaseEvent:
    """Freeze the account behind the case. Stops the clock. The applicant is told without the
    reason when it is a fraud reason (no tipping-off)."""
    case = _lock(case)
    _check(case, "freeze", actor, _("frozen"))
    (reason,) = _reasons([reason_code], Decision.FREEZE)
    if not _freeze_reason_allowed(case, actor, reason):
        raise _deny(case, actor, _("freeze with reason %(code)s") % {"code": reason.code})
    return _apply(
        case,
        "freeze",
        actor=actor,
        event_type=EventType.FROZEN,
        reason_codes=[reason.code],
        data={"note": note, "previous_assignee": case.assignee_id},
        args={"reason": reason},
    )


@transaction.atomic
def case_unfreeze(
    *, case: Case, actor: Actor, reason_code: str, note: str, reviewer: Any = None
) -> CaseEvent:
    """Propose unfreezing (always four-eyes): a second person's countersignature moves the case
    back to reviewing, assigned to `reviewer` (default: the proposer)."""
    case = _lock(case)
    _check(case, "unfreeze", actor, _("unfrozen"))
    (reason,) = _reasons([reason_code], Decision.UNFREEZE)
    note = (note or "").strip()
    if not note:
        raise InvalidInput(
            _("Explain why the account can be unfrozen."),
            field_errors={"note": [_("A note is required.")]},
        )
    reviewer = _reviewer(reviewer or actor)
    return _propose(
        case,
        actor=actor,
        decision=Decision.UNFREEZE,
        reasons=[reason],
        note=note,
        data={"reviewer": reviewer.pk},
    )


@transaction.atomic
def case_close(*, case: Case, actor: Actor, reason_code: str, note: str = "") -> CaseEvent:
    """Close the case for good (the record and its history stay). Stops the clock."""
    case = _lock(case)
    _check(case, "close", actor, _("closed"))
    (reason,) = _reasons([reason_code], Decision.CLOSE)
    if rules.is_owner(case, actor) and not rules.is_supervisor(actor):
        allowed = reason.code in APPLICANT_CLOSE_REASONS
    elif rules.is_system(actor):
        allowed = SYSTEM_CLOSE_REASONS.get(reason.code) == case.state
    else:
        allowed = True
    if not allowed:
        raise _deny(case, actor, _("close with reason %(code)s") % {"code": reason.code})
    now = timezone.now()
    open_request = case.open_material_request()
    if open_request is not None:
        MaterialRequest.objects.filter(pk=open_request.pk).update(resolved_at=now)
    return _apply(
        case,
        "close",
        actor=actor,
        event_type=EventType.CLOSED,
        reason_codes=[reason.code],
        data={"note": note},
        at=now,
        args={"now": now, "reason": reason},
    )
