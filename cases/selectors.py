"""Reads: what the portal, the API and the admin show about a case, and who may see which."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import get_text_list
from django.utils.translation import gettext as _

from cases import rules
from cases.calendar import business_calendar
from cases.errors import security_log
from cases.models import QUEUE_ORDER, Case, DecisionProposal, Signal
from cases.services.clock import open_clock, remaining
from cases.sla import business_time_between
from cases.states import CaseState, ClockStatus, ProposalStatus, SignalStatus, Slot


@dataclass(frozen=True)
class Eta:
    """When the applicant can expect an answer, or what the clock waits for.

    `expected_at` is set while the clock runs; `waiting_for` (slot codes) while it is paused;
    neither once the case is decided or not yet submitted.
    """

    state: str
    expected_at: datetime | None = None
    paused: bool = False
    waiting_for: list[str] = field(default_factory=list)
    respond_by: datetime | None = None
    remaining: timedelta | None = None
    breached: bool = False

    def describe(self) -> str:
        """One sentence for the applicant, in the active language."""
        if self.paused:
            labels = [str(Slot(s).label) for s in self.waiting_for if s in Slot.values]
            items = get_text_list(labels, _("and"))
            if items:
                return _("The review clock is paused until you upload: %(items)s.") % {
                    "items": items
                }
            return _("The review clock is paused until you resubmit your application.")
        if self.expected_at is not None and (self.breached or self.expected_at <= timezone.now()):
            return _("This is taking longer than it should; your application has been escalated.")
        if self.expected_at is not None:
            when = date_format(timezone.localtime(self.expected_at), "DATETIME_FORMAT")
            return _("Expected answer by %(when)s.") % {"when": when}
        return ""


def case_eta(case: Case, *, now: datetime | None = None) -> Eta:
    """The expected completion instant of `case`, or the items the paused clock waits for."""
    now = now or timezone.now()
    if case.state == CaseState.NEEDS_MATERIALS:
        request = case.open_material_request()
        return Eta(
            state=case.state,
            paused=True,
            waiting_for=request.missing_slots() if request else [],
            respond_by=case.auto_close_at,
        )
    if case.state not in (CaseState.SUBMITTED, CaseState.REVIEWING) or case.sla_due_at is None:
        return Eta(state=case.state)
    clock = open_clock(case)
    left = (
        remaining(clock, now=now, calendar=business_calendar())
        if clock and clock.status == ClockStatus.RUNNING
        else None
    )
    return Eta(
        state=case.state,
        expected_at=case.sla_due_at,
        remaining=left,
        breached=case.sla_breached_at is not None,
    )


# --- the reviewer's queues (DESIGN §8) --------------------------------------------------------

QUEUES = ("my", "unassigned", "at_risk", "breached", "waiting", "four_eyes", "frozen", "all")
RUNNING = (CaseState.SUBMITTED, CaseState.REVIEWING)


def _pending_proposal() -> Exists:
    return Exists(
        DecisionProposal.objects.filter(case=OuterRef("pk"), status=ProposalStatus.PENDING)
    )


def cases_for_staff(user: Any) -> QuerySet[Case]:
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


def case_for_staff(user: Any, uuid: Any) -> Case:
    """The case with this public id if `user` may open it, else 404 (a refusal is logged)."""
    case = cases_for_staff(user).filter(uuid=uuid).first()
    if case is None:
        if Case.objects.filter(uuid=uuid).exists():
            security_log.warning("denied view case=%s user=%s", uuid, getattr(user, "pk", None))
        raise Http404
    return case


def may_see_queue(user: Any, queue: str) -> bool:
    if user.has_perm("cases.view_all_cases"):
        return True
    if queue == "four_eyes":
        return rules.can_countersign(user)
    return rules.is_reviewer(user) and queue not in ("frozen", "all")


def queue_for(user: Any, queue: str) -> QuerySet[Case]:
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
                state__in=RUNNING, sla_at_risk_since__isnull=False, sla_breached_at=None
            )
        else:
            visible = visible.filter(state__in=RUNNING, sla_breached_at__isnull=False)
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


def business_time_left(case: Case, *, calendar: Any, now: datetime) -> timedelta | None:
    """Business time until the case is due (negative when overdue); None without a running clock."""
    if case.sla_due_at is None or case.state not in RUNNING:
        return None
    if case.sla_due_at >= now:
        return business_time_between(calendar, now, case.sla_due_at)
    return -business_time_between(calendar, case.sla_due_at, now)
