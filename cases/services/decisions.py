"""How an approval or a rejection is carried out, whether by the assignee at once or by the
second signature of a four-eyes proposal, and the material requests decisions open."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from cases.actors import Actor, user_or_none
from cases.errors import InvalidInput
from cases.models import Case, CaseEvent, MaterialRequest, ReasonCode
from cases.services.transitions import case_transition
from cases.states import Slot, Transition, Verdict


def require_accepted_documents(case: Case) -> None:
    """Raises InvalidInput, naming them, while any current document is not accepted."""
    pending = [doc.slot for doc in case.current_documents() if doc.verdict != Verdict.ACCEPTED]
    if pending or not case.current_documents():
        labels = ", ".join(str(Slot(slot).label) for slot in pending)
        raise InvalidInput(
            _("Accept every current document before approving: %(items)s.") % {"items": labels},
            field_errors={"documents": pending},
        )


def material_request_open(
    case: Case,
    *,
    actor: Actor,
    reasons: Sequence[ReasonCode],
    slots: Sequence[str],
    message: str,
    now: datetime,
) -> MaterialRequest:
    """The one open request of the case; any request left open from before is closed first.
    Side effects: MaterialRequest rows."""
    material_requests_resolve(case, now=now)
    return MaterialRequest.objects.create(
        case=case,
        requested_by=user_or_none(actor),
        reason_codes=[r.code for r in reasons],
        slots=list(slots),
        message=message,
        created_at=now,
    )


def material_requests_resolve(case: Case, *, now: datetime) -> None:
    """Settle whatever the case still asks the applicant for."""
    MaterialRequest.objects.filter(case=case, resolved_at=None).update(resolved_at=now)


def perform_approval(
    case: Case, *, actor: Actor, data: dict[str, Any], now: datetime | None = None
) -> CaseEvent:
    """reviewing → approved, as of `now`. Side effects: as case_transition (the clock stops)."""
    now = now or timezone.now()
    return case_transition(
        case, Transition.APPROVE, actor=actor, data=data, at=now, args={"now": now}
    )


def perform_rejection(
    case: Case,
    *,
    actor: Actor,
    reasons: Sequence[ReasonCode],
    slots: Sequence[str],
    message: str,
    data: dict[str, Any],
) -> CaseEvent:
    """reviewing → rejected, now. After a retryable rejection, the re-requested items are what
    reapplying asks for; a request left open from before never outlives the rejection.

    Side effects: the material request; as case_transition (the clock stops).
    """
    now = timezone.now()
    if slots and all(r.is_retryable for r in reasons):
        material_request_open(
            case, actor=actor, reasons=reasons, slots=slots, message=message, now=now
        )
    else:
        material_requests_resolve(case, now=now)
    final_cooloffs = [r.cooloff_days for r in reasons if not r.is_retryable and r.cooloff_days]
    again = now + timedelta(days=max(final_cooloffs)) if final_cooloffs else None
    return case_transition(
        case,
        Transition.REJECT,
        actor=actor,
        reason_codes=[r.code for r in reasons],
        message=message,
        data={**data, "slots": list(slots)},
        at=now,
        args={"now": now, "reasons": list(reasons), "may_apply_again_after": again},
    )
