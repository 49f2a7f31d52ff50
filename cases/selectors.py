"""Reads: what the portal, the API and the admin show about a case."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import get_text_list
from django.utils.translation import gettext as _

from cases.calendar import business_calendar
from cases.models import Case
from cases.services.clock import open_clock, remaining
from cases.states import CaseState, ClockStatus, Slot


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
