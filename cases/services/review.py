"""The reviewer's side: claim, assign, release, review documents, and decide (approve, reject,
request materials, freeze, propose an unfreeze, close)."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cases import rules
from cases.actors import Actor, IntegrationActor, is_user, user_or_none
from cases.audit import record_case_event
from cases.errors import (
    InvalidInput,
    InvalidState,
    NotPermitted,
)
from cases.guards import case_lock, refuse, transition_check
from cases.models import (
    QUEUE_ORDER,
    Case,
    CaseEvent,
    Document,
    ReasonCode,
)
from cases.outbox import outbox_dispatch
from cases.services.decisions import (
    material_request_open,
    material_requests_resolve,
    perform_approval,
    perform_rejection,
    require_accepted_documents,
)
from cases.services.four_eyes import (
    four_eyes_required,
    proposal_record,
    require_no_pending_proposal,
)
from cases.services.reasons import reasons_for, slots_for
from cases.services.transitions import case_transition
from cases.states import (
    CaseState,
    Decision,
    EventType,
    ReasonCategory,
    Transition,
    Verdict,
)

# The reasons an applicant may give themselves; the reasons (and the state) the system closes for.
APPLICANT_CLOSE_REASONS = {"CLOSURE_REQUESTED"}
APPLICANT_FREEZE_REASONS = {"THEFT_REPORTED"}
SYSTEM_CLOSE_REASONS = {
    "APPLICANT_NO_RESPONSE": CaseState.NEEDS_MATERIALS,
    "FINAL_REJECTION_AGED_OUT": CaseState.REJECTED,
}


def _require_reviewer(user: Actor) -> User:
    if not is_user(user) or not rules.is_reviewer(user):
        raise InvalidInput(
            _("%(user)s cannot review cases.") % {"user": user},
            field_errors={"reviewer": [_("Choose someone who reviews cases.")]},
        )
    return user


@transaction.atomic
def case_claim(*, case: Case, actor: Actor) -> CaseEvent:
    """submitted → reviewing, assigned to the actor.

    Side effects: as case_transition (the stale-claim timer starts; the integration's webhook).
    """
    case = case_lock(case)
    transition_check(case, Transition.CLAIM, actor, _("claimed"))
    return case_transition(case, Transition.CLAIM, actor=actor, args={"reviewer": actor})


def _next_unassigned(actor: Actor) -> Case | None:
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
def case_assign(*, case: Case, actor: Actor, reviewer: User) -> CaseEvent:
    """A supervisor assigns (or reassigns) the case to a reviewer.

    Side effects: as case_transition (the stale-claim timer starts; a webhook when the case
    leaves the queue).
    """
    case = case_lock(case)
    transition_check(case, Transition.ASSIGN, actor, _("assigned"))
    _require_reviewer(reviewer)
    previous = case.assignee_id
    if previous == reviewer.pk:
        raise InvalidInput(_("The case is already assigned to %(user)s.") % {"user": reviewer})
    return case_transition(
        case,
        Transition.ASSIGN,
        actor=actor,
        data={"assignee": reviewer.pk, "previous_assignee": previous},
        args={"reviewer": reviewer},
    )


@transaction.atomic
def case_release(*, case: Case, actor: Actor, reason: str) -> CaseEvent:
    """reviewing → submitted: back to the queue, with a reason.

    Side effects: as case_transition (the stale-claim timer stops; the integration's webhook).
    """
    case = case_lock(case)
    transition_check(case, Transition.RELEASE, actor, _("released"))
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            _("Say why the case goes back to the queue."),
            field_errors={"reason": [_("A reason is required.")]},
        )
    return case_transition(
        case,
        Transition.RELEASE,
        actor=actor,
        message=reason,
        data={"previous_assignee": case.assignee_id},
    )


@transaction.atomic
def document_set_verdict(
    *, document: Document, actor: Actor, verdict: str, reason_code: str = ""
) -> CaseEvent:
    """The assignee accepts a document or asks for a new upload of it, with a reason.

    Side effects: the document's verdict; the stale-claim timer starts again; one event.
    """
    case = case_lock(document.case)
    if case.state != CaseState.REVIEWING:
        raise InvalidState(_("Documents are reviewed only while the case is under review."))
    if not rules.is_assignee(case, actor):
        raise refuse(case, actor, _("review documents of"))
    document = Document.objects.select_for_update().get(pk=document.pk)
    newest = case.documents.filter(slot=document.slot).order_by("-version").first()
    if newest is None or newest.pk != document.pk:
        raise InvalidInput(_("Only the newest version of a document can be reviewed."))
    if verdict not in (Verdict.ACCEPTED, Verdict.REUPLOAD_REQUESTED):
        raise InvalidInput(_("Choose accept or request a new upload."))
    reasons = (
        reasons_for([reason_code], Decision.REUPLOAD)
        if verdict == Verdict.REUPLOAD_REQUESTED
        else []
    )
    now = timezone.now()
    document.verdict, document.verdict_at, document.verdict_by = verdict, now, user_or_none(actor)
    document.verdict_reason = reasons[0] if reasons else None
    document.save(update_fields=["verdict", "verdict_at", "verdict_by", "verdict_reason"])
    case.reviewer_activity_at = now
    case.save(update_fields=["reviewer_activity_at"])
    event = record_case_event(
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
    outbox_dispatch(event)
    return event


@transaction.atomic
def case_request_materials(
    *,
    case: Case,
    actor: Actor,
    reason_codes: Sequence[str],
    message: str,
    slots: Sequence[str] | None = None,
) -> CaseEvent:
    """reviewing → needs_materials: which items, why, and a message.

    Side effects: the material request; as case_transition (the clock pauses and the response
    window opens; the applicant's e-mail; the integration's webhook).
    """
    case = case_lock(case)
    transition_check(case, Transition.REQUEST_MATERIALS, actor, _("sent back for materials"))
    require_no_pending_proposal(case)
    reasons = reasons_for(reason_codes, Decision.REQUEST_MATERIALS)
    chosen = slots_for(case, reasons, slots)
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
    request = material_request_open(
        case, actor=actor, reasons=reasons, slots=chosen, message=message, now=now
    )
    return case_transition(
        case,
        Transition.REQUEST_MATERIALS,
        actor=actor,
        reason_codes=request.reason_codes,
        message=message,
        data={"request": request.pk, "slots": chosen},
        at=now,
    )


@transaction.atomic
def case_approve(*, case: Case, actor: Actor, note: str = "") -> CaseEvent:
    """reviewing → approved by the assignee; where four-eyes applies, records the proposal
    instead and returns its event.

    Side effects: as case_transition (the clock stops; the applicant's e-mail; the webhook), or
    as proposal_record.
    """
    case = case_lock(case)
    transition_check(case, Transition.APPROVE, actor, _("approved"))
    require_no_pending_proposal(case)
    require_accepted_documents(case)
    if four_eyes_required(case, Decision.APPROVE):
        return proposal_record(case, actor=actor, decision=Decision.APPROVE, note=note)
    return perform_approval(case, actor=actor, data={"note": note})


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
    second signature, in which case the proposal is recorded instead.

    Side effects: as perform_rejection (the items to re-upload; the clock stops; the applicant's
    e-mail; the webhook), or as proposal_record.
    """
    case = case_lock(case)
    transition_check(case, Transition.REJECT, actor, _("rejected"))
    require_no_pending_proposal(case)
    reasons = reasons_for(reason_codes, Decision.REJECT)
    chosen = slots_for(case, reasons, slots) if all(r.is_retryable for r in reasons) else []
    if four_eyes_required(case, Decision.REJECT, reasons):
        return proposal_record(
            case,
            actor=actor,
            decision=Decision.REJECT,
            reasons=reasons,
            slots=chosen,
            message=message,
            note=note,
        )
    return perform_rejection(
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
    """Freeze the account behind the case. The applicant is told without the reason when it is
    a fraud reason (no tipping-off).

    Side effects: as case_transition (the clock stops; the applicant's e-mail; the webhook).
    """
    case = case_lock(case)
    transition_check(case, Transition.FREEZE, actor, _("frozen"))
    (reason,) = reasons_for([reason_code], Decision.FREEZE)
    if not _freeze_reason_allowed(case, actor, reason):
        raise refuse(case, actor, _("freeze with reason %(code)s") % {"code": reason.code})
    return case_transition(
        case,
        Transition.FREEZE,
        actor=actor,
        reason_codes=[reason.code],
        data={"note": note, "previous_assignee": case.assignee_id},
        args={"reason": reason},
    )


@transaction.atomic
def case_unfreeze(
    *, case: Case, actor: Actor, reason_code: str, note: str, reviewer: User | None = None
) -> CaseEvent:
    """Propose unfreezing (always four-eyes): a second person's countersignature moves the case
    back to reviewing, assigned to `reviewer` (default: the proposer).

    Side effects: as proposal_record (a pending proposal and its event).
    """
    case = case_lock(case)
    transition_check(case, Transition.UNFREEZE, actor, _("unfrozen"))
    (reason,) = reasons_for([reason_code], Decision.UNFREEZE)
    note = (note or "").strip()
    if not note:
        raise InvalidInput(
            _("Explain why the account can be unfrozen."),
            field_errors={"note": [_("A note is required.")]},
        )
    reviewer = _require_reviewer(reviewer or actor)
    return proposal_record(
        case,
        actor=actor,
        decision=Decision.UNFREEZE,
        reasons=[reason],
        note=note,
        data={"reviewer": reviewer.pk},
    )


@transaction.atomic
def case_close(*, case: Case, actor: Actor, reason_code: str, note: str = "") -> CaseEvent:
    """Close the case for good (the record and its history stay).

    Side effects: an open material request is settled; as case_transition (the clock stops;
    the applicant's e-mail; the webhook).
    """
    case = case_lock(case)
    transition_check(case, Transition.CLOSE, actor, _("closed"))
    (reason,) = reasons_for([reason_code], Decision.CLOSE)
    if rules.is_owner(case, actor) and not rules.is_supervisor(actor):
        allowed = reason.code in APPLICANT_CLOSE_REASONS
    elif rules.is_system(actor):
        allowed = SYSTEM_CLOSE_REASONS.get(reason.code) == case.state
    else:
        allowed = True
    if not allowed:
        raise refuse(case, actor, _("close with reason %(code)s") % {"code": reason.code})
    now = timezone.now()
    material_requests_resolve(case, now=now)
    return case_transition(
        case,
        Transition.CLOSE,
        actor=actor,
        reason_codes=[reason.code],
        data={"note": note},
        at=now,
        args={"now": now, "reason": reason},
    )
