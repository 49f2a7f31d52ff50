"""What every writer of a case does before it changes anything: lock the case, check that the
transition exists from its state and that the actor may take it, and refuse with a logged reason.
"""

from __future__ import annotations

from typing import Any, cast

from django.utils.translation import gettext as _
from django_fsm import can_proceed

from cases.actors import Actor, actor_label
from cases.errors import InvalidInput, InvalidState, NotPermitted, security_log
from cases.models import Case
from cases.states import CaseState, Transition


def case_lock(case: Case) -> Case:
    """Re-read the case with its row locked (PostgreSQL); SQLite's IMMEDIATE transaction already
    holds the database's write lock. Must run inside the caller's transaction."""
    try:
        return (
            Case.objects.select_for_update(of=("self",)).select_related("program").get(pk=case.pk)
        )
    except Case.DoesNotExist as exc:
        raise InvalidInput(_("This case does not exist.")) from exc


def refuse(case: Case, actor: Actor, action: str, message: str | None = None) -> NotPermitted:
    """The refusal to raise, logged on the security log; `action` is a verb ("countersign")
    unless `message` says it otherwise."""
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


def state_label(case: Case) -> str:
    return str(CaseState(case.state).label)


def transition_exists(case: Case, transition: Transition) -> bool:
    """Whether the state graph has `transition` from the case's state (its conditions aside)."""
    return can_proceed(getattr(case, transition), check_conditions=False)


def transition_check(case: Case, transition: Transition, actor: Actor, action: str) -> None:
    """The transition exists from this state, and this actor may take it; `action` is its past
    participle ("approved") for the messages."""
    if not transition_exists(case, transition):
        raise InvalidState(
            _("This case is %(state)s; it cannot be %(action)s now.")
            % {"state": state_label(case), "action": action}
        )
    declared = case.declared_transition(transition)
    # Our permissions (cases/rules.py) are functions of the case and any actor, not only users.
    if declared is None or not declared.has_perm(case, cast(Any, actor)):
        raise refuse(
            case,
            actor,
            action,
            _("You are not allowed to act on this case: it cannot be %(action)s by you.")
            % {"action": action},
        )
