"""Running one transition of the state graph: the state change, what it does to the review
clock, the save, its event, and what follows the event (cases/outbox.py), all in the caller's
transaction and with the case locked by the caller."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed

from cases.actors import Actor
from cases.audit import record_case_event
from cases.errors import ConcurrentChange, InvalidInput
from cases.models import Case, CaseEvent, DecisionProposal
from cases.outbox import outbox_dispatch
from cases.sla.clock import clock_on_transition
from cases.states import TRANSITION_EVENTS, ProposalStatus, Transition


def case_transition(
    case: Case,
    transition: Transition,
    *,
    actor: Actor,
    reason_codes: Sequence[str] = (),
    message: str = "",
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
    args: dict[str, Any] | None = None,
) -> CaseEvent:
    """Run `transition` with `args`, save the case and write the transition's event.

    Side effects: the case row and its review clock (cases/sla/clock.py); a four-eyes proposal
    still pending when the case moves on is superseded; one CaseEvent; the event's e-mails,
    webhooks and check request (cases/outbox.py), sent after commit.
    """
    from_state = case.state
    now = at or timezone.now()
    try:
        getattr(case, transition)(**(args or {}))
        clock_on_transition(case, transition, actor=actor, now=now)
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
        event_type=TRANSITION_EVENTS[transition],
        actor=actor,
        from_state=from_state,
        to_state=case.state,
        reason_codes=reason_codes,
        message=message,
        data=data,
        now=now,
    )
    outbox_dispatch(event)
    return event
