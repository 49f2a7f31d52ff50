"""Reads: which cases each person (or integration) may see, ownership-scoped fetches that are a
404 for anything else, the applicant's history, and the reviewers' queues. The SLA's reads (the
ETA, the time left) are in cases/sla/selectors.py."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404

from accounts.models import User
from cases import rules
from cases.errors import security_log
from cases.models import QUEUE_ORDER, Case, CaseEvent, DecisionProposal, Signal
from cases.sla.selectors import RUNNING_STATES
from cases.states import HISTORY_EVENTS, CaseState, ProposalStatus, SignalStatus

# --- the applicant's and the wallet's own cases ---------------------------------------------


def _uuid_or_404(value: Any) -> UUID:
    try:
        return value if isinstance(value, UUID) else UUID(str(value))
    except ValueError as exc:
        raise Http404 from exc


def cases_for_applicant(user: User) -> QuerySet[Case]:
    """The person's own applications, newest first."""
    return Case.objects.filter(applicant=user).select_related("program").order_by("-created_at")


def case_for_applicant(user: User, uuid: Any) -> Case:
    """The person's own case, or 404 (never 403: another person's case does not exist here)."""
    case = Case.objects.select_related("program").filter(uuid=uuid, applicant=user).first()
    if case is None:
        raise Http404
    return case


def cases_for_integration(integration: str) -> QuerySet[Case]:
    """The cases an integration created (the wallet reads nothing else)."""
    return Case.objects.select_related("program").filter(integration=integration)


def case_for_integration(integration: str, uuid: Any) -> Case:
    """The integration's own case, or 404: another integration's case does not exist here, and
    neither does an id that is not a UUID."""
    case = cases_for_integration(integration).filter(uuid=_uuid_or_404(uuid)).first()
    if case is None:
        raise Http404
    return case


def case_history(case: Case) -> QuerySet[CaseEvent]:
    """The history the applicant reads (portal and API alike), oldest first."""
    return case.events.filter(event_type__in=HISTORY_EVENTS).order_by("seq")


# --- the reviewer's queues (DESIGN §8) --------------------------------------------------------

QUEUES = ("my", "unassigned", "at_risk", "breached", "waiting", "four_eyes", "frozen", "all")


def _pending_proposal() -> Exists:
    return Exists(
        DecisionProposal.objects.filter(case=OuterRef("pk"), status=ProposalStatus.PENDING)
    )


def cases_for_staff(user: User) -> QuerySet[Case]:
    """Every case this member of staff may open: all of them for supervisors and auditors;
    for reviewers their own, the claimable, those they wait on, and (seniors) those waiting for a
    second signature."""
    cases = Case.objects.select_related("program", "assignee", "applicant")
    if user.has_perm("cases.view_all_cases"):
        return cases
    if not rules.is_reviewer(user):
        return cases.none()
    visible = (
        Q(assignee=user)
        | Q(state=CaseState.SUBMITTED, assignee=None)
        | Q(state=CaseState.NEEDS_MATERIALS, preferred_reviewer=user)
    )
    if rules.can_countersign(user):
        visible |= Q(_pending_proposal())
    return cases.filter(visible)


def case_for_staff(user: User, uuid: Any) -> Case:
    """The case with this public id if `user` may open it, else 404 (a refusal is logged)."""
    uuid = _uuid_or_404(uuid)
    case = cases_for_staff(user).filter(uuid=uuid).first()
    if case is None:
        if Case.objects.filter(uuid=uuid).exists():
            security_log.warning("denied view case=%s user=%s", uuid, getattr(user, "pk", None))
        raise Http404
    return case


def may_see_queue(user: User, queue: str) -> bool:
    if user.has_perm("cases.view_all_cases"):
        return True
    if queue == "four_eyes":
        return rules.can_countersign(user)
    return rules.is_reviewer(user) and queue not in ("frozen", "all")


def queue_for(user: User, queue: str) -> QuerySet[Case]:
    """The cases of one queue that `user` may see, in the queue's order.

    Each queue's filter is written for the person directly, so that it matches one of the partial
    indexes of `Case.Meta.indexes` (see BENCHMARKS.md, "Workbench queues"): the visibility OR of
    `cases_for_staff` is applied only where it is a real choice (At risk, Breached).
    """
    sees_all = user.has_perm("cases.view_all_cases")
    if not sees_all and not may_see_queue(user, queue):
        return Case.objects.none()
    cases = Case.objects.select_related("program", "assignee", "applicant")
    if queue == "my":
        return cases.filter(assignee=user).order_by("sla_due_at", "pk")
    if queue == "unassigned":
        return cases.filter(state=CaseState.SUBMITTED, assignee=None).order_by(*QUEUE_ORDER)
    if queue in ("at_risk", "breached"):
        visible = cases_for_staff(user)
        if queue == "at_risk":
            visible = visible.filter(
                state__in=RUNNING_STATES, sla_at_risk_since__isnull=False, sla_breached_at=None
            )
        else:
            visible = visible.filter(state__in=RUNNING_STATES, sla_breached_at__isnull=False)
        return visible.order_by("sla_due_at", "pk")
    if queue == "waiting":
        waiting = cases.filter(state=CaseState.NEEDS_MATERIALS)
        if not sees_all:
            # Waiting cases have no assignee: the reviewer who asked is the preferred one.
            waiting = waiting.filter(preferred_reviewer=user)
        return waiting.order_by("auto_close_at", "pk")
    if queue == "four_eyes":
        # The oldest request for a second signature first; one pending proposal per case (a
        # unique constraint), so the join yields each case once.
        return cases.filter(proposals__status=ProposalStatus.PENDING).order_by(
            "proposals__proposed_at", "proposals__id"
        )
    if queue == "frozen":
        return cases.filter(state=CaseState.ACCOUNT_FROZEN).order_by("-updated_at", "-pk")
    return cases.order_by("-created_at", "-pk")


def open_signal_counts(case_ids: list[int]) -> dict[int, dict[str, int]]:
    """Open signals per case and severity, for a page of a queue: one query."""
    counts: dict[int, dict[str, int]] = {}
    rows = (
        Signal.objects.filter(case__in=case_ids, status=SignalStatus.OPEN)
        .values_list("case", "severity")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for case_id, severity, n in rows:
        counts.setdefault(case_id, {})[severity] = n
    return counts
