"""The compliance reports for supervisors and auditors (DESIGN §7, §8): each a table, a chart and a
CSV of the same figures. They read only the summary table (ReportFact, kept by
cases/compliance/statistics.py) or, for the backlog, an index of the open cases, so they answer
as fast at a million cases as at a thousand (bench/reports.py).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Max, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from cases.compliance.charts import bar_chart
from cases.models import Case, Program, ReasonCode, ReportFact, ReportWeek
from cases.states import CaseState, Decision, EventType

WEEKS_SHOWN = 12
AGE_BUCKETS = (0, 1, 2, 3, 5, 10)  # lower edges, in calendar days since submission
DAY_BUCKETS = (0, 1, 2, 3, 4, 5, 7)  # lower edges, in business days


# --- weeks and buckets (the summary table's units) -----------------------------------------


def week_of(moment: datetime | date) -> date:
    """The Monday of the week holding `moment` (a local date, or an instant)."""
    day = timezone.localdate(moment) if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def week_bounds(week: date) -> tuple[datetime, datetime]:
    zone = timezone.get_current_timezone()
    start = datetime.combine(week, time(), zone)
    return start, datetime.combine(week + timedelta(days=7), time(), zone)


def day_bucket(duration: timedelta, day: timedelta) -> str:
    days = duration / day if day else 0
    return str(max(edge for edge in DAY_BUCKETS if days >= edge))


def weeks_between(first: date, last: date) -> list[date]:
    """The Mondays of every week from the one holding `first` to the one holding `last`."""
    week, end, weeks = week_of(first), week_of(last), []
    while week <= end:
        weeks.append(week)
        week += timedelta(days=7)
    return weeks


@dataclass(frozen=True)
class Filters:
    first_week: date
    last_week: date
    program: str = ""  # a program code; "" for all
    now: datetime = field(default_factory=timezone.now)


@dataclass
class Figures:
    """What a report shows: a table (also the CSV), a chart (SVG), and sentences under them."""

    columns: list[str]
    rows: list[list[Any]]
    chart: str
    notes: list[str] = field(default_factory=list)

    def csv(self) -> bytes:
        """The table as CSV, UTF-8 with a byte-order mark (so spreadsheet programs read Chinese)."""
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(self.columns)
        writer.writerows(self.rows)
        return ("\ufeff" + out.getvalue()).encode()


@dataclass(frozen=True)
class Report:
    name: str
    title: Promise
    description: Promise
    build: Callable[[Filters], Figures]


def default_filters(now: datetime | None = None) -> Filters:
    now = now or timezone.now()
    last = week_of(now)
    return Filters(first_week=last - timedelta(weeks=WEEKS_SHOWN - 1), last_week=last, now=now)


def figures_as_of() -> datetime | None:
    """When the summary table was last recomputed."""
    refreshed: datetime | None = ReportWeek.objects.aggregate(last=Max("refreshed_at"))["last"]
    return refreshed


def _facts(metric: str, filters: Filters) -> QuerySet[ReportFact]:
    facts = ReportFact.objects.filter(
        metric=metric, week__gte=filters.first_week, week__lte=filters.last_week
    )
    return facts.filter(program=filters.program) if filters.program else facts


def _weeks(filters: Filters) -> list[date]:
    return weeks_between(filters.first_week, filters.last_week)


def _programs() -> dict[str, str]:
    return {p.code: str(p) for p in Program.objects.all()}


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _percent(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "—"


# --- SLA attainment ------------------------------------------------------------------------


def sla_attainment(filters: Filters) -> Figures:
    weeks, names = _weeks(filters), _programs()
    counts: dict[tuple[date, str, str], int] = defaultdict(int)
    for week, program, key, value in _facts("sla", filters).values_list(
        "week", "program", "key", "value"
    ):
        counts[(week, program, key)] += value
    programs = sorted({p for _, p, _ in counts}, key=lambda p: names.get(p, p))
    rows = []
    series: dict[str, list[float]] = {}
    for program in programs:
        label = names.get(program, program)
        series[label] = []
        for week in weeks:
            met, late = counts[(week, program, "met")], counts[(week, program, "breached")]
            share = _share(met, met + late)
            series[label].append(share or 0.0)
            if met + late:
                rows.append([week.isoformat(), label, met, late, _percent(share)])
    total_met = sum(v for (_, _, k), v in counts.items() if k == "met")
    total = total_met + sum(v for (_, _, k), v in counts.items() if k == "breached")
    chart = bar_chart(
        title=str(_("SLA attainment per program and week")),
        categories=[w.strftime("%m-%d") for w in weeks],
        series=series,
        y_label=str(_("reviews decided within the target")),
        percent=True,
    )
    return Figures(
        columns=[_("Week of"), _("Program"), _("Met"), _("Breached"), _("Attainment")],
        rows=rows,
        chart=chart,
        notes=[
            _("All programs, all weeks shown: %(share)s of %(total)s review clocks met.")
            % {"share": _percent(_share(total_met, total)), "total": total}
        ],
    )


# --- time to decision ----------------------------------------------------------------------


def _days_label(edges: tuple[int, ...], edge: int) -> str:
    """A bucket of days by its lower edge: "2–3 days", or "7+ days" for the last."""
    index = edges.index(edge)
    if index == len(edges) - 1:
        return _("%(n)s+ days") % {"n": edge}
    return _("%(a)s–%(b)s days") % {"a": edge, "b": edges[index + 1]}


def time_to_decision(filters: Filters) -> Figures:
    counts: dict[tuple[str, int], int] = defaultdict(int)
    for metric in ("review_days", "end_to_end_days"):
        for key, value in (
            _facts(metric, filters).values("key").annotate(n=Sum("value")).values_list("key", "n")
        ):
            counts[(metric, int(key))] += value
    review_total = sum(v for (m, _), v in counts.items() if m == "review_days")
    end_total = sum(v for (m, _), v in counts.items() if m == "end_to_end_days")
    rows, running = [], {"review_days": 0, "end_to_end_days": 0}
    for edge in DAY_BUCKETS:
        review, end = counts[("review_days", edge)], counts[("end_to_end_days", edge)]
        running["review_days"] += review
        running["end_to_end_days"] += end
        rows.append(
            [
                _days_label(DAY_BUCKETS, edge),
                review,
                _percent(_share(running["review_days"], review_total)),
                end,
                _percent(_share(running["end_to_end_days"], end_total)),
            ]
        )
    within_3 = sum(counts[("review_days", e)] for e in DAY_BUCKETS if e < 3)
    within_5 = sum(counts[("end_to_end_days", e)] for e in DAY_BUCKETS if e < 5)
    chart = bar_chart(
        title=str(_("Time to decision and end to end (business days)")),
        categories=[_days_label(DAY_BUCKETS, e) for e in DAY_BUCKETS],
        series={
            str(_("time to decision (review clock)")): [
                counts[("review_days", e)] for e in DAY_BUCKETS
            ],
            str(_("end to end (with the applicant's time)")): [
                counts[("end_to_end_days", e)] for e in DAY_BUCKETS
            ],
        },
        y_label=str(_("decisions")),
    )
    return Figures(
        columns=[
            _("Business days"),
            _("Decisions (time to decision)"),
            _("Cumulative"),
            _("Decisions (end to end)"),
            _("Cumulative"),
        ],
        rows=rows,
        chart=chart,
        notes=[
            _(
                "Decided within 3 business days of review: %(review)s. Decided within 5 business "
                "days end to end: %(end)s (the promise: 1–3 days of review, 3–5 in all)."
            )
            % {
                "review": _percent(_share(within_3, review_total)),
                "end": _percent(_share(within_5, end_total)),
            }
        ],
    )


# --- backlog by age ------------------------------------------------------------------------


def backlog(filters: Filters) -> Figures:
    """The open cases now, by how long since they were submitted (the period is not used)."""
    edges = list(AGE_BUCKETS)
    buckets = {
        f"b{edge}": Count(
            "pk",
            filter=Q(submitted_at__lte=filters.now - timedelta(days=edge))
            & (
                Q(submitted_at__gt=filters.now - timedelta(days=edges[i + 1]))
                if i + 1 < len(edges)
                else Q()
            ),
        )
        for i, edge in enumerate(edges)
    }
    open_cases = Case.objects.filter(
        state__in=[CaseState.SUBMITTED, CaseState.REVIEWING, CaseState.NEEDS_MATERIALS]
    )
    if filters.program:
        open_cases = open_cases.filter(program_id=filters.program)
    counts = {
        row["state"]: row for row in open_cases.order_by().values("state").annotate(**buckets)
    }
    ours = [
        sum(counts.get(s, {}).get(f"b{e}", 0) for s in (CaseState.SUBMITTED, CaseState.REVIEWING))
        for e in edges
    ]
    waiting = [counts.get(CaseState.NEEDS_MATERIALS, {}).get(f"b{e}", 0) for e in edges]
    labels = [_days_label(AGE_BUCKETS, e) for e in edges]
    chart = bar_chart(
        title=str(_("Open cases by age")),
        categories=labels,
        series={
            str(_("with us (queued or under review)")): ours,
            str(_("waiting for the applicant")): waiting,
        },
        y_label=str(_("cases")),
        stacked=True,
    )
    return Figures(
        columns=[_("Since submission"), _("With us"), _("Waiting for the applicant")],
        rows=[[label, a, b] for label, a, b in zip(labels, ours, waiting, strict=True)],
        chart=chart,
        notes=[
            _("Now: %(ours)s cases with us, %(waiting)s waiting for the applicant.")
            % {"ours": sum(ours), "waiting": sum(waiting)}
        ],
    )


# --- reasons -------------------------------------------------------------------------------


def reasons(filters: Filters) -> Figures:
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for key, value in (
        _facts("reason", filters).values("key").annotate(n=Sum("value")).values_list("key", "n")
    ):
        kind, _sep, code = key.partition(":")
        counts[(code, kind)] += value
    catalogue = ReasonCode.objects.in_bulk()
    codes = sorted(
        {code for code, _ in counts},
        key=lambda c: (
            -(counts[(c, EventType.REJECTED)] + counts[(c, EventType.MATERIALS_REQUESTED)])
        ),
    )
    rows = [
        [
            code,
            catalogue[code].applicant_message() if code in catalogue else "",
            counts[(code, EventType.REJECTED)],
            counts[(code, EventType.MATERIALS_REQUESTED)],
        ]
        for code in codes
    ]
    shown = codes[:15]
    chart = bar_chart(
        title=str(_("Rejection and re-request reasons")),
        categories=shown,
        series={
            str(_("rejections")): [counts[(c, EventType.REJECTED)] for c in shown],
            str(_("requests for materials")): [
                counts[(c, EventType.MATERIALS_REQUESTED)] for c in shown
            ],
        },
        y_label=str(_("times given")),
        stacked=True,
        horizontal=True,
    )
    return Figures(
        columns=[_("Reason"), _("What the applicant is told"), _("Rejections"), _("Requests")],
        rows=rows,
        chart=chart,
    )


# --- reviewer throughput -------------------------------------------------------------------

THROUGHPUT_KINDS = ("decided", "requested", "countersigned", "sent_back")


def _throughput_labels() -> dict[str, str]:
    return {
        "decided": _("decisions (approve, reject)"),
        "requested": _("requests for materials"),
        "countersigned": _("second signatures"),
        "sent_back": _("sent back"),
    }


def throughput(filters: Filters) -> Figures:
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for key, value in (
        _facts("throughput", filters).values("key").annotate(n=Sum("value")).values_list("key", "n")
    ):
        user, _sep, kind = key.partition(":")
        counts[(int(user), kind)] += value
    people = User.objects.in_bulk({user for user, _ in counts})
    order = sorted(
        {user for user, _ in counts},
        key=lambda u: (-sum(counts[(u, k)] for k in THROUGHPUT_KINDS), u),
    )
    label = {u: people[u].email if u in people else str(u) for u in order}
    weeks = max(1, len(_weeks(filters)))
    rows = [
        [
            label[u],
            *[counts[(u, k)] for k in THROUGHPUT_KINDS],
            round(sum(counts[(u, k)] for k in THROUGHPUT_KINDS) / weeks, 1),
        ]
        for u in order
    ]
    names = _throughput_labels()
    chart = bar_chart(
        title=str(_("Reviewer throughput")),
        categories=[label[u] for u in order[:20]],
        series={names[k]: [counts[(u, k)] for u in order[:20]] for k in THROUGHPUT_KINDS},
        y_label=str(_("actions")),
        stacked=True,
        horizontal=True,
    )
    return Figures(
        columns=[
            _("Member of staff"),
            *[names[k] for k in THROUGHPUT_KINDS],
            _("Per week"),
        ],
        rows=rows,
        chart=chart,
    )


# --- four-eyes send-backs ------------------------------------------------------------------


def four_eyes(filters: Filters) -> Figures:
    weeks = _weeks(filters)
    counts: dict[tuple[date, str], int] = defaultdict(int)
    by_decision: dict[tuple[str, str], int] = defaultdict(int)
    for week, key, value in _facts("four_eyes", filters).values_list("week", "key", "value"):
        decision, _sep, status = key.partition(":")
        counts[(week, status)] += value
        by_decision[(decision, status)] += value
    rows = []
    for week in weeks:
        signed, back = counts[(week, "countersigned")], counts[(week, "sent_back")]
        if signed or back:
            rows.append([week.isoformat(), signed, back, _percent(_share(back, signed + back))])
    chart = bar_chart(
        title=str(_("Four-eyes decisions: countersigned and sent back")),
        categories=[w.strftime("%m-%d") for w in weeks],
        series={
            str(_("countersigned")): [counts[(w, "countersigned")] for w in weeks],
            str(_("sent back")): [counts[(w, "sent_back")] for w in weeks],
        },
        y_label=str(_("second signatures")),
        stacked=True,
        line=(
            str(_("send-back rate")),
            [
                _share(
                    counts[(w, "sent_back")],
                    counts[(w, "countersigned")] + counts[(w, "sent_back")],
                )
                for w in weeks
            ],
        ),
    )
    notes = [
        _("%(decision)s: %(signed)s countersigned, %(back)s sent back.")
        % {
            "decision": Decision(decision).label if decision in Decision.values else decision,
            "signed": by_decision[(decision, "countersigned")],
            "back": by_decision[(decision, "sent_back")],
        }
        for decision in sorted({d for d, _ in by_decision})
    ]
    return Figures(
        columns=[_("Week of"), _("Countersigned"), _("Sent back"), _("Send-back rate")],
        rows=rows,
        chart=chart,
        notes=notes,
    )


REPORTS = (
    Report(
        "sla",
        gettext_lazy("SLA attainment"),
        gettext_lazy(
            "Per program and week, the review clocks that stopped (a decision, a freeze or a "
            "closure) within their business-time target, and those that did not."
        ),
        sla_attainment,
    ),
    Report(
        "time-to-decision",
        gettext_lazy("Time to decision"),
        gettext_lazy(
            "Approvals and rejections by business days: the review clock's running time (pauses "
            "for the applicant left out), and end to end, from submission, pauses included."
        ),
        time_to_decision,
    ),
    Report(
        "backlog",
        gettext_lazy("Backlog by age"),
        gettext_lazy("The open cases now, by days since submission (the period does not apply)."),
        backlog,
    ),
    Report(
        "reasons",
        gettext_lazy("Rejection and re-request reasons"),
        gettext_lazy("How often each reason was given in rejections and requests for materials."),
        reasons,
    ),
    Report(
        "throughput",
        gettext_lazy("Reviewer throughput"),
        gettext_lazy(
            "Per member of staff: decisions (credited to the first signature), requests for "
            "materials, second signatures given and decisions sent back."
        ),
        throughput,
    ),
    Report(
        "four-eyes",
        gettext_lazy("Four-eyes send-backs"),
        gettext_lazy("Second signatures per week: countersigned or sent back, and the rate."),
        four_eyes,
    ),
)
REPORTS_BY_NAME = {report.name: report for report in REPORTS}
