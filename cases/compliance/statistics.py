"""The summary table the compliance reports read (ReportFact), kept by a periodic task: for each
week (Monday to Sunday, in the configured time zone) and program, counters that never need the
case tables again.

A week's counters are recomputed whole, from indexed ranges of the source rows, in one
transaction, so refreshing is idempotent and a late commit is caught by the next refresh (the
task refreshes the current and the previous week; `manage.py refresh_reports --since` any
range). The metrics and their keys:

- `sla`: review clocks stopped in the week, by outcome: `met`, `breached`;
- `review_days` / `end_to_end_days`: clocks stopped by a decision (approve, reject), by business
  days the clock ran (pauses left out) / from the submission to the decision (pauses included):
  buckets `0` (under one day), `1`, `2`, `3`, `4` (a day each), `5` (five to seven), `7` (more);
- `reason`: reason codes given in rejections and requests for materials: `<event>:<code>`;
- `throughput`: per member of staff, `<user id>:decided` (approvals and rejections, credited to
  the first signature), `:requested` (materials), `:countersigned`, `:sent_back` (second
  signatures);
- `four_eyes`: second signatures by outcome: `<decision>:countersigned`, `<decision>:sent_back`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery, Sum
from django.utils import timezone

from cases.compliance.reports import day_bucket, week_bounds, week_of
from cases.models import CaseEvent, DecisionProposal, ReportFact, ReportWeek, SlaClock, SlaSegment
from cases.sla.calendar import business_calendar
from cases.states import ClockStatus, EventType, ProposalStatus, SegmentKind, Transition

DECIDED = (str(Transition.APPROVE), str(Transition.REJECT))
REASON_EVENTS = (EventType.REJECTED, EventType.MATERIALS_REQUESTED)
THROUGHPUT_EVENTS = (
    EventType.APPROVED,
    EventType.REJECTED,
    EventType.MATERIALS_REQUESTED,
    EventType.DECISION_SENT_BACK,
)
# The events the refresh reads, by time (through the caseevent_created index).
REPORT_EVENTS = tuple(sorted({*REASON_EVENTS, *THROUGHPUT_EVENTS}))

Key = tuple[str, str, str]  # (program, metric, key)


def _sla(start: datetime, end: datetime, counts: Counter[Key]) -> None:
    clocks = SlaClock.objects.filter(
        stopped_at__gte=start,
        stopped_at__lt=end,
        status__in=[ClockStatus.MET, ClockStatus.BREACHED],
    )
    last_reason = SlaSegment.objects.filter(clock=OuterRef("pk")).order_by("-started_at", "-pk")
    rows = clocks.annotate(
        review=Sum("segments__business_time", filter=Q(segments__kind=SegmentKind.RUNNING)),
        total=Sum("segments__business_time"),
        stopped_by=Subquery(last_reason.values("end_reason")[:1]),
    ).values_list("case__program_id", "status", "review", "total", "stopped_by")
    day = business_calendar().day_length
    for program, status, review, total, stopped_by in rows:
        counts[(program, "sla", status)] += 1
        if stopped_by in DECIDED:
            counts[(program, "review_days", day_bucket(review or timedelta(0), day))] += 1
            counts[(program, "end_to_end_days", day_bucket(total or timedelta(0), day))] += 1


def _events(start: datetime, end: datetime, counts: Counter[Key]) -> None:
    rows = CaseEvent.objects.filter(
        created_at__gte=start, created_at__lt=end, event_type__in=REPORT_EVENTS
    ).values_list("case__program_id", "event_type", "reason_codes", "actor_user_id", "data__maker")
    for program, kind, codes, user, maker in rows:
        if kind in REASON_EVENTS:
            for code in codes:
                counts[(program, "reason", f"{kind}:{code}")] += 1
        if kind == EventType.DECISION_SENT_BACK:
            continue  # counted from the proposals, with the decision it sent back
        who = maker or user
        if who:
            what = "requested" if kind == EventType.MATERIALS_REQUESTED else "decided"
            counts[(program, "throughput", f"{who}:{what}")] += 1


def _four_eyes(start: datetime, end: datetime, counts: Counter[Key]) -> None:
    rows = DecisionProposal.objects.filter(
        checked_at__gte=start,
        checked_at__lt=end,
        status__in=[ProposalStatus.COUNTERSIGNED, ProposalStatus.SENT_BACK],
    ).values_list("case__program_id", "decision", "status", "checked_by_id")
    for program, decision, status, checker in rows:
        counts[(program, "four_eyes", f"{decision}:{status}")] += 1
        if checker:
            counts[(program, "throughput", f"{checker}:{status}")] += 1


def week_counts(week: date) -> Counter[Key]:
    """Every counter of one week, computed from the source rows."""
    start, end = week_bounds(week)
    counts: Counter[Key] = Counter()
    _sla(start, end, counts)
    _events(start, end, counts)
    _four_eyes(start, end, counts)
    return counts


def report_refresh(
    weeks: Iterable[date] | None = None, *, now: datetime | None = None
) -> dict[date, int]:
    """Recompute the counters of `weeks` (Mondays; by default this week and the last), each in
    one transaction. Returns how many counters each week has.

    Side effects: the weeks' ReportFact rows replaced; their ReportWeek refreshed_at."""
    now = now or timezone.now()
    if weeks is None:
        this_week = week_of(now)
        weeks = (this_week - timedelta(days=7), this_week)
    done: dict[date, int] = {}
    for week in sorted(set(weeks)):
        counts = week_counts(week)
        with transaction.atomic():
            ReportFact.objects.filter(week=week).delete()
            ReportFact.objects.bulk_create(
                ReportFact(week=week, program=program, metric=metric, key=key, value=value)
                for (program, metric, key), value in sorted(counts.items())
            )
            ReportWeek.objects.update_or_create(week=week, defaults={"refreshed_at": now})
        done[week] = len(counts)
    return done
