"""Who may take which transition: pure functions of (case, actor), used by the state graph.

django-fsm-2 calls these as the transitions' `permission`; services check them before acting and
the admin uses them to show only the buttons a person may press.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cases.actors import Actor, IntegrationActor, SystemActor, is_user

if TYPE_CHECKING:
    from cases.models import Case


def _perm(actor: Actor, codename: str) -> bool:
    return bool(
        not isinstance(actor, SystemActor | IntegrationActor)
        and getattr(actor, "is_active", False)
        and actor.has_perm(f"cases.{codename}")
    )


def is_system(actor: Actor) -> bool:
    return isinstance(actor, SystemActor)


def is_owner(case: Case, actor: Actor) -> bool:
    """The applicant themselves, or the integration that created the case for them."""
    if isinstance(actor, IntegrationActor):
        return bool(case.integration) and case.integration == actor.name
    if isinstance(actor, SystemActor):
        return False
    return bool(getattr(actor, "is_active", False)) and actor.pk == case.applicant_id


def is_reviewer(actor: Actor) -> bool:
    return _perm(actor, "review_case")


def is_assignee(case: Case, actor: Actor) -> bool:
    return (
        is_user(actor)
        and is_reviewer(actor)
        and case.assignee_id is not None
        and case.assignee_id == actor.pk
    )


def is_supervisor(actor: Actor) -> bool:
    return _perm(actor, "assign_case")


def can_countersign(actor: Actor) -> bool:
    return _perm(actor, "countersign_case")


# --- per transition ------------------------------------------------------------------------


def may_submit(case: Case, actor: Actor) -> bool:
    return is_owner(case, actor)


def may_claim(case: Case, actor: Actor) -> bool:
    return is_reviewer(actor)


def may_assign(case: Case, actor: Actor) -> bool:
    return is_supervisor(actor)


def may_release(case: Case, actor: Actor) -> bool:
    return is_assignee(case, actor) or is_supervisor(actor) or is_system(actor)


def may_decide(case: Case, actor: Actor) -> bool:
    """Approve, reject, request materials: only the case's assignee."""
    return is_assignee(case, actor)


def may_clear_signal(case: Case, actor: Actor, *, high: bool = False) -> bool:
    """Dismiss an automatic check's finding, with a note: whoever decides the case now, or a
    supervisor. A high-severity finding makes an approval need a second signature, so only a
    second person who may countersign clears it, never the case's own assignee."""
    if high:
        return can_countersign(actor) and not is_assignee(case, actor)
    return is_assignee(case, actor) or is_supervisor(actor)


def may_resubmit(case: Case, actor: Actor) -> bool:
    return is_owner(case, actor)


def may_freeze(case: Case, actor: Actor) -> bool:
    """Assignee (fraud reasons), supervisor, the applicant (theft), system, wallet risk engine.

    Which reason each may give is checked by the service against the catalogue.
    """
    return (
        is_assignee(case, actor)
        or is_supervisor(actor)
        or is_owner(case, actor)
        or is_system(actor)
    )


def may_unfreeze(case: Case, actor: Actor) -> bool:
    return _perm(actor, "unfreeze_case")


def may_close(case: Case, actor: Actor) -> bool:
    return is_owner(case, actor) or is_system(actor) or _perm(actor, "close_case")


def may_place_legal_hold(actor: Actor) -> bool:
    """Propose, countersign, decline or lift legal holds: supervisors (DESIGN §7)."""
    return _perm(actor, "place_legal_hold")


def may_export_evidence(actor: Actor) -> bool:
    """Evidence packs of any case: supervisors and auditors (DESIGN §8)."""
    return _perm(actor, "export_case") and _perm(actor, "view_all_cases")


def may_view(case: Case, actor: Actor) -> bool:
    return (
        is_owner(case, actor)
        or _perm(actor, "view_all_cases")
        or (is_user(actor) and is_reviewer(actor) and case.assignee_id in (None, actor.pk))
    )
