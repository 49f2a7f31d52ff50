"""The second signature of four-eyes decisions (DESIGN §3): countersign or send back."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cases.actors import Actor
from cases.audit import record_case_event
from cases.errors import (
    InvalidInput,
    InvalidState,
)
from cases.models import (
    Case,
    CaseEvent,
    MaterialRequest,
    ReasonCode,
)
from cases.services._common import (
    _apply,
    _do_reject,
    _lock,
    _pending_for_checker,
    _require_accepted_documents,
)
from cases.states import (
    CaseState,
    Decision,
    EventType,
    ProposalStatus,
)


@transaction.atomic
def case_countersign(*, case: Case, actor: Actor, note: str = "") -> CaseEvent:
    """The second signature: performs the proposed approve, reject or unfreeze as of now.

    Side effects: the proposal is marked countersigned and one event of the decision's own type
    is written, naming maker and checker; the applicant is notified on commit.
    """
    case = _lock(case)
    proposal, checker = _pending_for_checker(case, actor, _("countersign"))
    if not getattr(case, proposal.decision)._django_fsm.has_transition(case.state):
        raise InvalidState(_("The case changed since the proposal; it cannot be signed now."))
    now = timezone.now()
    proposal.status, proposal.checked_by, proposal.checked_at, proposal.check_note = (
        ProposalStatus.COUNTERSIGNED,
        checker,
        now,
        note,
    )
    proposal.save(update_fields=["status", "checked_by", "checked_at", "check_note"])
    signatures = {
        "proposal": proposal.pk,
        "maker": proposal.proposed_by_id,
        "checker": checker.pk,
        "note": proposal.note,
        "check_note": note,
    }
    if proposal.decision == Decision.APPROVE:
        _require_accepted_documents(case)
        return _apply(
            case,
            "approve",
            actor=checker,
            event_type=EventType.APPROVED,
            data=signatures,
            at=now,
            args={"now": now},
        )
    if proposal.decision == Decision.REJECT:
        by_code = {r.code: r for r in ReasonCode.objects.filter(code__in=proposal.reason_codes)}
        return _do_reject(
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
    MaterialRequest.objects.filter(case=case, resolved_at=None).update(resolved_at=now)
    return _apply(
        case,
        "unfreeze",
        actor=checker,
        event_type=EventType.UNFROZEN,
        reason_codes=proposal.reason_codes,
        data={**signatures, "assignee": reviewer.pk},
        args={"reviewer": reviewer},
    )


@transaction.atomic
def case_send_back(*, case: Case, actor: Actor, note: str) -> CaseEvent:
    """The checker declines the proposal with a note; the case stays with its maker.

    Side effects: the proposal is marked sent back; one event.
    """
    case = _lock(case)
    proposal, checker = _pending_for_checker(case, actor, _("send back"))
    note = (note or "").strip()
    if not note:
        raise InvalidInput(
            _("Tell the proposer why the decision goes back."),
            field_errors={"note": [_("A note is required.")]},
        )
    now = timezone.now()
    proposal.status, proposal.checked_by, proposal.checked_at, proposal.check_note = (
        ProposalStatus.SENT_BACK,
        checker,
        now,
        note,
    )
    proposal.save(update_fields=["status", "checked_by", "checked_at", "check_note"])
    if case.state == CaseState.REVIEWING:
        # Back with its maker: the stale-claim timer runs again from now.
        case.reviewer_activity_at = now
        case.save(update_fields=["reviewer_activity_at"])
    return record_case_event(
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
