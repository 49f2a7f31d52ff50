"""Four-eyes decisions (DESIGN §3): when a decision needs a second signature, the first
signature recorded as a proposal, and the second one: countersign or send back."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from cases import rules
from cases.actors import Actor, is_user, user_or_none
from cases.audit import record_case_event
from cases.checks.findings import case_findings
from cases.errors import FourEyesConflict, InvalidInput, InvalidState, security_log
from cases.guards import case_lock, refuse, transition_exists
from cases.models import Case, CaseEvent, DecisionProposal, ReasonCode
from cases.outbox import outbox_dispatch
from cases.services.decisions import (
    material_requests_resolve,
    perform_approval,
    perform_rejection,
    require_accepted_documents,
)
from cases.services.transitions import case_transition
from cases.states import (
    CaseState,
    Decision,
    EventType,
    ProposalStatus,
    SignalSeverity,
    SignalStatus,
    Transition,
)


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
    return any(f.severity == SignalSeverity.HIGH for f in case_findings(case))


def require_no_pending_proposal(case: Case) -> None:
    """Raises FourEyesConflict while a decision waits for its second signature."""
    if case.pending_proposal() is not None:
        raise FourEyesConflict(
            _(
                "A decision on this case is waiting for a second signature; it must be "
                "countersigned or sent back first."
            )
        )


def proposal_record(
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
    """Record the first signature of a four-eyes decision (the state does not change).

    Side effects: a pending DecisionProposal; the stale-claim timer stops (waiting for the
    second signature is not an idle claim); one DECISION_PROPOSED event.
    """
    require_no_pending_proposal(case)
    maker = user_or_none(actor)
    assert maker is not None, "only a person signs a four-eyes decision (cases/rules.py)"
    if case.reviewer_activity_at is not None:
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
        proposed_by=maker,
        proposed_at=timezone.now(),
    )
    event = record_case_event(
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
    outbox_dispatch(event)
    return event


def _pending_for_checker(case: Case, actor: Actor, action: str) -> tuple[DecisionProposal, User]:
    """The pending proposal and the person who may sign it now (never its maker)."""
    proposal = case.pending_proposal()
    if proposal is None:
        raise InvalidState(_("No decision on this case is waiting for a second signature."))
    if not is_user(actor) or not rules.can_countersign(actor):
        raise refuse(case, actor, action)
    if proposal.proposed_by_id == actor.pk:
        security_log.warning("maker tried to check proposal=%s case=%s", proposal.pk, case.uuid)
        raise FourEyesConflict(_("You proposed this decision; a different person must sign it."))
    return proposal, actor


def _proposal_checked(
    proposal: DecisionProposal, *, checker: Any, status: str, note: str, now: Any
) -> None:
    proposal.status, proposal.checked_by, proposal.checked_at, proposal.check_note = (
        status,
        checker,
        now,
        note,
    )
    proposal.save(update_fields=["status", "checked_by", "checked_at", "check_note"])


@transaction.atomic
def case_countersign(*, case: Case, actor: Actor, note: str = "") -> CaseEvent:
    """The second signature: performs the proposed approve, reject or unfreeze as of now.

    Side effects: the proposal is marked countersigned and one event of the decision's own type
    is written, naming maker and checker; then as case_transition (the clock, the applicant's
    e-mail and the integration's webhook after commit).
    """
    case = case_lock(case)
    proposal, checker = _pending_for_checker(case, actor, _("countersign"))
    if not transition_exists(case, Transition(proposal.decision)):
        raise InvalidState(_("The case changed since the proposal; it cannot be signed now."))
    now = timezone.now()
    _proposal_checked(
        proposal, checker=checker, status=ProposalStatus.COUNTERSIGNED, note=note, now=now
    )
    signatures = {
        "proposal": proposal.pk,
        "maker": proposal.proposed_by_id,
        "checker": checker.pk,
        "note": proposal.note,
        "check_note": note,
    }
    if proposal.decision == Decision.APPROVE:
        require_accepted_documents(case)
        return perform_approval(case, actor=checker, data=signatures, now=now)
    if proposal.decision == Decision.REJECT:
        by_code = {r.code: r for r in ReasonCode.objects.filter(code__in=proposal.reason_codes)}
        return perform_rejection(
            case,
            actor=checker,
            reasons=[by_code[code] for code in proposal.reason_codes],
            slots=proposal.slots,
            message=proposal.message,
            data=signatures,
        )
    reviewer = get_user_model().objects.get(
        pk=proposal.data.get("reviewer", proposal.proposed_by_id)
    )
    # Material requests left open by the freeze are settled, as the direct unfreeze does.
    material_requests_resolve(case, now=now)
    return case_transition(
        case,
        Transition.UNFREEZE,
        actor=checker,
        reason_codes=proposal.reason_codes,
        data={**signatures, "assignee": reviewer.pk},
        args={"reviewer": reviewer},
    )


@transaction.atomic
def case_send_back(*, case: Case, actor: Actor, note: str) -> CaseEvent:
    """The checker declines the proposal with a note; the case stays with its maker.

    Side effects: the proposal is marked sent back; the stale-claim timer runs again; one event.
    """
    case = case_lock(case)
    proposal, checker = _pending_for_checker(case, actor, _("send back"))
    note = (note or "").strip()
    if not note:
        raise InvalidInput(
            _("Tell the proposer why the decision goes back."),
            field_errors={"note": [_("A note is required.")]},
        )
    now = timezone.now()
    _proposal_checked(
        proposal, checker=checker, status=ProposalStatus.SENT_BACK, note=note, now=now
    )
    if case.state == CaseState.REVIEWING:
        # Back with its maker: the stale-claim timer runs again from now.
        case.reviewer_activity_at = now
        case.save(update_fields=["reviewer_activity_at"])
    event = record_case_event(
        case=case,
        event_type=EventType.DECISION_SENT_BACK,
        actor=checker,
        from_state=case.state,
        to_state=case.state,
        data={
            "proposal": proposal.pk,
            "decision": proposal.decision,
            "maker": proposal.proposed_by_id,
            "note": note,
        },
        now=now,
    )
    outbox_dispatch(event)
    return event
