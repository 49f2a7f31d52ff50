"""Every change to a case: lock → check → transition → save → audit, in one transaction.

Admin, portal, API and tasks call these functions and nothing else; none of them calls a
transition method or sets `state`. Each function writes exactly one CaseEvent and schedules its
side effects (notifications) on commit. Errors are raised before anything is written.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from cases import crypto, rules
from cases.actors import Actor, IntegrationActor, actor_label, is_user
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
    Document,
    MaterialRequest,
    Program,
    ReasonCode,
)
from cases.notifications import notifications_schedule_for_event
from cases.states import (
    APPLICANT_EDITABLE_STATES,
    FILE_SLOTS,
    CaseState,
    Decision,
    EventType,
    ProposalStatus,
    ReasonCategory,
    Slot,
    Verdict,
)

log = logging.getLogger(__name__)

# Declared-data fields a caller may set; the ID number also feeds the blind index.
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
APPLICANT_FREEZE_REASONS = {"THEFT_REPORTED"}
# The system closes only for these reasons, each from the one state it belongs to.
SYSTEM_CLOSE_REASONS = {
    "APPLICANT_NO_RESPONSE": CaseState.NEEDS_MATERIALS,
    "FINAL_REJECTION_AGED_OUT": CaseState.REJECTED,
}


# --- helpers --------------------------------------------------------------------------------


def _lock(case: Case) -> Case:
    """Re-read the case with its row locked (PostgreSQL); SQLite's IMMEDIATE transaction already
    holds the database's write lock."""
    try:
        return (
            Case.objects.select_for_update(of=("self",))
            .select_related("program")
            .get(pk=case.pk)
        )
    except Case.DoesNotExist as exc:
        raise InvalidInput(_("This case does not exist.")) from exc


def _deny(case: Case, actor: Actor, action: str) -> NotPermitted:
    security_log.warning(
        "denied action=%s case=%s actor=%s state=%s", action, case.uuid, actor_label(actor), case.state
    )
    return NotPermitted(_("You are not allowed to %(action)s this case.") % {"action": action})


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
        raise _deny(case, actor, action)


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
    from_state = case.state
    try:
        getattr(case, name)(**(args or {}))
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
        now=at,
    )
    notifications_schedule_for_event(event)
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
    chosen = list(dict.fromkeys(slots if slots is not None else [s for r in reasons for s in r.slots]))
    allowed = set(case.program.slot_codes) | {Slot.DECLARED_DATA}
    wrong = [slot for slot in chosen if slot not in allowed]
    if wrong:
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
        return case.program.approval_needs_four_eyes or bool(case.device_risk_flags)
    if decision == Decision.REJECT:
        return any(reason.needs_second_signature for reason in reasons)
    return False


# --- the applicant's side -------------------------------------------------------------------


def _set_declared_data(case: Case, declared: dict[str, Any]) -> list[str]:
    unknown = sorted(set(declared) - set(DECLARED_FIELDS))
    if unknown:
        raise InvalidInput(_("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown)})
    for field, value in declared.items():
        setattr(case, field, value)
    if "id_number" in declared:
        case.id_number = crypto.normalize_id_number(case.id_number or "")
        case.id_number_index = crypto.blind_index(case.id_number) if case.id_number else ""
    return sorted(declared)


@transaction.atomic
def case_create(
    *,
    program: Program,
    applicant: Any,
    actor: Actor,
    declared: dict[str, Any] | None = None,
    previous_case: Case | None = None,
) -> Case:
    """Start an application (state draft). Side effects: a Case row and its `created` event."""
    if not program.is_active:
        raise InvalidInput(_("This program does not accept applications at the moment."))
    if is_user(actor) and actor != applicant:
        raise NotPermitted(_("You can only apply for yourself."))
    if is_user(actor) and not actor.has_perm("cases.apply_for_verification"):
        raise NotPermitted(_("Your account cannot apply for verification."))
    if previous_case is not None and previous_case.applicant_id != applicant.pk:
        raise InvalidInput(_("The earlier case belongs to someone else."))
    now = timezone.now()
    case = Case(program=program, applicant=applicant, previous_case=previous_case, created_at=now)
    if isinstance(actor, IntegrationActor):
        case.integration = actor.name
    fields = _set_declared_data(case, declared or {})
    if fields:
        case.declared_data_updated_at = now
    case.save()
    case.reference = f"KYC-{now.year}-{case.pk:06d}"
    Case.objects.filter(pk=case.pk).update(reference=case.reference)
    record_case_event(
        case=case,
        event_type=EventType.CREATED,
        actor=actor,
        to_state=case.state,
        data={"program": program.code, "fields": fields},
        now=now,
    )
    return case


@transaction.atomic
def case_update_declared_data(*, case: Case, actor: Actor, declared: dict[str, Any]) -> CaseEvent:
    """Correct declared data while the applicant may edit. Side effects: one event (the values
    themselves are not copied into the audit trail, only which fields changed)."""
    case = _lock(case)
    if not rules.is_owner(case, actor):
        raise _deny(case, actor, _("change the declared data of"))
    if case.state not in APPLICANT_EDITABLE_STATES:
        raise InvalidState(
            _("This case is %(state)s; its declared data can no longer be changed.")
            % {"state": _state_label(case)}
        )
    fields = _set_declared_data(case, declared)
    case.declared_data_updated_at = timezone.now()
    case.save()
    return record_case_event(
        case=case,
        event_type=EventType.DECLARED_DATA_UPDATED,
        actor=actor,
        from_state=case.state,
        to_state=case.state,
        data={"fields": fields},
        now=case.declared_data_updated_at,
    )


@transaction.atomic
def document_upload(
    *,
    case: Case,
    actor: Actor,
    slot: str,
    content: bytes,
    content_type: str,
    original_name: str = "",
) -> Document:
    """Store a new version of a slot. The bytes must already be validated and cleaned by the
    upload pipeline. Side effects: a private file under a random name, a Document row, one event.
    If anything fails, the file is removed again."""
    case = _lock(case)
    if not rules.is_owner(case, actor):
        raise _deny(case, actor, _("upload documents to"))
    if case.state not in APPLICANT_EDITABLE_STATES:
        raise InvalidState(
            _("This case is %(state)s; documents cannot be added now.") % {"state": _state_label(case)}
        )
    if slot not in case.program.slot_codes or slot not in FILE_SLOTS:
        raise InvalidInput(
            _("This program has no upload slot called %(slot)s.") % {"slot": slot},
            field_errors={"slot": [_("Unknown slot.")]},
        )
    if not content:
        raise InvalidInput(_("The file is empty."), field_errors={"file": [_("The file is empty.")]})
    latest = case.documents.filter(slot=slot).order_by("-version").values_list("version", flat=True)
    sha256 = hashlib.sha256(content).hexdigest()
    document = Document(
        case=case,
        slot=slot,
        version=(latest.first() or 0) + 1,
        sha256=sha256,
        content_type=content_type,
        size=len(content),
        original_name=original_name[:255],
        uploaded_by=_actor_user(actor),
        uploaded_by_label=actor_label(actor),
    )
    # Written last, after every check: if the row or the event fails, the file goes again.
    document.file.save("upload", ContentFile(content), save=False)
    try:
        document.save()
        record_case_event(
            case=case,
            event_type=EventType.DOCUMENT_UPLOADED,
            actor=actor,
            from_state=case.state,
            to_state=case.state,
            data={"slot": slot, "version": document.version, "size": document.size},
            file_sha256=sha256,
            now=document.uploaded_at,
        )
    except BaseException:
        document.file.delete(save=False)
        raise
    return document


@transaction.atomic
def case_submit(*, case: Case, actor: Actor) -> CaseEvent:
    """draft → submitted once every required slot is filled. Starts the review clock."""
    case = _lock(case)
    _check(case, "submit", actor, _("submitted"))
    missing = case.missing_required_slots()
    if missing:
        labels = ", ".join(str(Slot(slot).label) for slot in missing)
        raise InvalidInput(
            _("Some required items are still missing: %(items)s.") % {"items": labels},
            field_errors={"slots": missing},
        )
    now = timezone.now()
    return _apply(
        case, "submit", actor=actor, event_type=EventType.SUBMITTED, at=now, args={"now": now}
    )


@transaction.atomic
def case_resubmit(*, case: Case, actor: Actor) -> CaseEvent:
    """needs_materials → submitted once every requested item has a new version. The clock
    resumes and the case goes to the front of the queue, preferably to its last reviewer."""
    case = _lock(case)
    _check(case, "resubmit", actor, _("resubmitted"))
    request = case.open_material_request()
    missing = request.missing_slots() if request else []
    if request is None or missing:
        labels = ", ".join(str(Slot(slot).label) for slot in missing)
        raise InvalidInput(
            _("Upload a new version of every requested item first: %(items)s.") % {"items": labels},
            field_errors={"slots": missing},
        )
    now = timezone.now()
    event = _apply(
        case,
        "resubmit",
        actor=actor,
        event_type=EventType.RESUBMITTED,
        data={"request": request.pk, "slots": request.slots},
        at=now,
        args={"now": now},
    )
    MaterialRequest.objects.filter(pk=request.pk).update(resolved_at=now)
    return event


@transaction.atomic
def case_reapply(*, case: Case, actor: Actor) -> CaseEvent:
    """rejected → submitted when every rejection reason is retryable and attempts remain.
    A new review clock starts; the attempt counts unless no reason counted as one."""
    case = _lock(case)
    _check(case, "reapply", actor, _("submitted again"))
    if not case.rejection_retryable:
        raise InvalidState(_("This rejection is final; a new application is needed."))
    if case.rejection_counts_attempt and case.attempt >= case.program.attempt_limit:
        raise InvalidState(
            _("All %(limit)s attempts of this program are used.")
            % {"limit": case.program.attempt_limit}
        )
    request = case.open_material_request()
    missing = request.missing_slots() if request else []
    if missing:
        labels = ", ".join(str(Slot(slot).label) for slot in missing)
        raise InvalidInput(
            _("Upload a new version of every requested item first: %(items)s.") % {"items": labels},
            field_errors={"slots": missing},
        )
    now = timezone.now()
    event = _apply(
        case, "reapply", actor=actor, event_type=EventType.REAPPLIED, at=now, args={"now": now}
    )
    if request is not None:
        MaterialRequest.objects.filter(pk=request.pk).update(resolved_at=now)
    return event


# --- the reviewer's side --------------------------------------------------------------------


def _reviewer(user: Any) -> Any:
    if not rules.is_reviewer(user):
        raise InvalidInput(
            _("%(user)s cannot review cases.") % {"user": user},
            field_errors={"reviewer": [_("Choose someone who reviews cases.")]},
        )
    return user


@transaction.atomic
def case_claim(*, case: Case, actor: Actor) -> CaseEvent:
    """submitted → reviewing, assigned to the actor."""
    case = _lock(case)
    _check(case, "claim", actor, _("claimed"))
    return _apply(
        case, "claim", actor=actor, event_type=EventType.CLAIMED, args={"reviewer": actor}
    )


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
    document.verdict, document.verdict_at, document.verdict_by = verdict, now, actor
    document.verdict_reason = reasons[0] if reasons else None
    document.save(update_fields=["verdict", "verdict_at", "verdict_by", "verdict_reason"])
    return record_case_event(
        case=case,
        event_type=EventType.DOCUMENT_VERDICT,
        actor=actor,
        from_state=case.state,
        to_state=case.state,
        reason_codes=[r.code for r in reasons],
        data={"document": document.pk, "slot": document.slot, "version": document.version,
              "verdict": verdict},
        file_sha256=document.sha256,
        now=now,
    )


def _no_pending(case: Case) -> None:
    if case.pending_proposal() is not None:
        raise FourEyesConflict(
            _("A decision on this case is waiting for a second signature; it must be "
              "countersigned or sent back first.")
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
    request = MaterialRequest.objects.create(
        case=case,
        requested_by=_actor_user(actor),
        reason_codes=[r.code for r in reasons],
        slots=chosen,
        message=message,
        created_at=now,
    )
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
    proposal = DecisionProposal.objects.create(
        case=case,
        decision=decision,
        reason_codes=[r.code for r in reasons],
        slots=list(slots),
        message=message,
        note=note,
        data=data or {},
        proposed_by=actor,
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


def _open_reapply_request(
    case: Case, actor: Actor, reasons: Sequence[ReasonCode], slots: Sequence[str], message: str,
    now: Any,
) -> None:
    """After a retryable rejection, the re-requested items are what reapplying asks for."""
    if slots and all(r.is_retryable for r in reasons):
        MaterialRequest.objects.create(
            case=case,
            requested_by=_actor_user(actor),
            reason_codes=[r.code for r in reasons],
            slots=list(slots),
            message=message,
            created_at=now,
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
            case, actor=actor, decision=Decision.REJECT, reasons=reasons, slots=chosen,
            message=message, note=note,
        )
    return _do_reject(case, actor=actor, reasons=reasons, slots=chosen, message=message, data={"note": note})


def _do_reject(
    case: Case, *, actor: Actor, reasons: Sequence[ReasonCode], slots: Sequence[str],
    message: str, data: dict[str, Any],
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
        case, actor=actor, decision=Decision.UNFREEZE, reasons=[reason], note=note,
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


# --- four-eyes ------------------------------------------------------------------------------


def _pending_for_checker(case: Case, actor: Actor, action: str) -> DecisionProposal:
    proposal = case.pending_proposal()
    if proposal is None:
        raise InvalidState(_("No decision on this case is waiting for a second signature."))
    if not rules.can_countersign(actor):
        raise _deny(case, actor, action)
    if proposal.proposed_by_id == getattr(actor, "pk", None):
        security_log.warning("maker tried to check proposal=%s case=%s", proposal.pk, case.uuid)
        raise FourEyesConflict(_("You proposed this decision; a different person must sign it."))
    return proposal


@transaction.atomic
def case_countersign(*, case: Case, actor: Actor, note: str = "") -> CaseEvent:
    """The second signature: performs the proposed approve, reject or unfreeze. One event, of
    the decision's own type, naming maker and checker."""
    case = _lock(case)
    proposal = _pending_for_checker(case, actor, _("countersign"))
    now = timezone.now()
    proposal.status, proposal.checked_by, proposal.checked_at = (
        ProposalStatus.COUNTERSIGNED, actor, now
    )
    proposal.check_note = note
    proposal.save(update_fields=["status", "checked_by", "checked_at", "check_note"])
    signatures = {"proposal": proposal.pk, "maker": proposal.proposed_by_id, "checker": actor.pk,
                  "note": proposal.note, "check_note": note}
    reasons = list(ReasonCode.objects.filter(code__in=proposal.reason_codes))
    reasons.sort(key=lambda r: proposal.reason_codes.index(r.code))
    if not getattr(case, proposal.decision)._django_fsm.has_transition(case.state):
        raise InvalidState(_("The case changed since the proposal; it cannot be signed now."))
    if proposal.decision == Decision.APPROVE:
        _require_accepted_documents(case)
        return _apply(
            case,
            "approve",
            actor=actor,
            event_type=EventType.APPROVED,
            data=signatures,
            at=now,
            args={"now": now},
        )
    if proposal.decision == Decision.REJECT:
        return _do_reject(case, actor=actor, reasons=reasons, slots=proposal.slots,
                          message=proposal.message, data=signatures)
    reviewer = get_user_model().objects.get(pk=proposal.data.get("reviewer", proposal.proposed_by_id))
    return _apply(
        case,
        "unfreeze",
        actor=actor,
        event_type=EventType.UNFROZEN,
        reason_codes=proposal.reason_codes,
        data={**signatures, "assignee": reviewer.pk},
        args={"reviewer": reviewer},
    )


@transaction.atomic
def case_send_back(*, case: Case, actor: Actor, note: str) -> CaseEvent:
    """The checker declines the proposal with a note; the case stays with its maker."""
    case = _lock(case)
    proposal = _pending_for_checker(case, actor, _("send back"))
    note = (note or "").strip()
    if not note:
        raise InvalidInput(
            _("Tell the proposer why the decision goes back."),
            field_errors={"note": [_("A note is required.")]},
        )
    now = timezone.now()
    proposal.status, proposal.checked_by, proposal.checked_at, proposal.check_note = (
        ProposalStatus.SENT_BACK, actor, now, note
    )
    proposal.save(update_fields=["status", "checked_by", "checked_at", "check_note"])
    return record_case_event(
        case=case,
        event_type=EventType.DECISION_SENT_BACK,
        actor=actor,
        from_state=case.state,
        to_state=case.state,
        data={"proposal": proposal.pk, "decision": proposal.decision,
              "maker": proposal.proposed_by_id, "note": note},
        now=now,
    )
