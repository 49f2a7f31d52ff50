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
    Decision,
    EventType,
    ProposalStatus,
)


@transaction.atomic
def case_countersign(*, case: Case, actor: Actor, note: str = "") -> CaseEvent:
    """The second signature: performs the proposed approve, reject or unfreeze. One event, of
    the decision's own type, naming maker and checker."""
    case = _lock(case)
    proposal = _pending_for_checker(case, actor, _("countersign"))
    now = timezone.now()
    proposal.status, proposal.checked_by, proposal.checked_at = (
        ProposalStatus.COUNTERSIGNED,
        actor,
        now,
    )
    proposal.check_note = note
    proposal.save(update_fields=["status", "checked_by", "checked_at", "check_note"])
    signatures = {
        "proposal": proposal.pk,
        "maker": proposal.proposed_by_id,
        "checker": actor.pk,
        "note": proposal.note,
        "check_note": note,
    }
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
        return _do_reject(
            case,
            actor=actor,
            reasons=reasons,
            slots=proposal.slots,
            message=proposal.message,
            data=signatures,
        )
    reviewer = get_user_model().objects.get(
        pk=proposal.data.get("reviewer", proposal.proposed_by_id)
    )
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
        ProposalStatus.SENT_BACK,
        actor,
        now,
        note,
    )
    proposal.save(update_fields=["status", "checked_by", "checked_at", "check_note"])
    return record_case_event(
        case=case,
        event_type=EventType.DECISION_SENT_BACK,
        actor=actor,
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
