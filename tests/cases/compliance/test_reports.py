"""The compliance reports (cases/compliance/statistics.py and reports.py): a hand-built week of
cases, with every time chosen, gives exactly the figures computed here by hand, in the table,
the CSV and the chart; supervisors and auditors read them, nobody else."""

from __future__ import annotations

import base64
import csv
import io
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation

from accounts.models import User
from cases import services
from cases.compliance.reports import REPORTS_BY_NAME, Figures, Filters, week_of
from cases.compliance.statistics import report_refresh
from cases.models import Case, ReportFact
from cases.states import ProgramCode, Slot
from tests.factories import accept_all, draft_case, upload
from tests.helpers import at, fresh, signed_in

WEEK = date(2026, 3, 9)  # Monday; no holiday that week or the one before
EARLIER = date(2026, 3, 2)


def step(when: datetime, action: Callable[[], Any]) -> Any:
    with time_machine.travel(when, tick=False):
        return action()


def submitted(applicant: User, when: datetime, program: str = ProgramCode.REAL_NAME) -> Case:
    case = step(when, lambda: draft_case(applicant, program))
    step(when, lambda: services.case_submit(case=case, actor=applicant))
    return fresh(case)


@pytest.fixture
def week(
    applicant: User, other_applicant: User, reviewer: User, senior: User, supervisor: User
) -> dict[str, Case]:
    """The week of 9 March 2026 (business days of 9 hours, 09:00–18:00 Shanghai time):

    - A (real name): submitted Mon 10:00, approved Mon 14:00: 4 h of review, 4 h end to end, met.
    - B (real name): submitted Mon 09:00, materials asked Tue 09:00 (DOC_UNREADABLE), resubmitted
      Wed 09:00, rejected Thu 09:00 (INFO_MISMATCH): 18 h (2 days) of review, 27 h (3 days) end
      to end; the 9 h target breached.
    - C (business, four-eyes): submitted Tue 09:00; approval proposed 11:00, sent back 12:00,
      proposed again 13:00, countersigned 14:00: 5 h, met (target 3 days).
    - D (real name): approved the week before, in 2 h; outside the period.
    - E (real name): submitted Wed 10:00, still in the queue; F (real name): submitted Thu 5 March
      10:00, waiting for the applicant since Fri 6 March.
    """
    a = submitted(applicant, at(3, 9, 10))
    step(at(3, 9, 10, 30), lambda: services.case_claim(case=a, actor=reviewer))
    step(at(3, 9, 13), lambda: accept_all(a, reviewer))
    step(at(3, 9, 14), lambda: services.case_approve(case=a, actor=reviewer))

    b = submitted(other_applicant, at(3, 9, 9))
    step(at(3, 9, 9, 30), lambda: services.case_claim(case=b, actor=reviewer))
    step(
        at(3, 10, 9),
        lambda: services.case_request_materials(
            case=b,
            actor=reviewer,
            reason_codes=["DOC_UNREADABLE"],
            message="Blurred.",
            slots=[Slot.ID_FRONT],
        ),
    )
    step(at(3, 11, 8), lambda: upload(b, Slot.ID_FRONT, other_applicant, colour="#223344"))
    step(at(3, 11, 9), lambda: services.case_resubmit(case=b, actor=other_applicant))
    step(at(3, 11, 9, 30), lambda: services.case_claim(case=b, actor=reviewer))
    step(
        at(3, 12, 9),
        lambda: services.case_reject(
            case=b, actor=reviewer, reason_codes=["INFO_MISMATCH"], message="Check the name."
        ),
    )

    c = submitted(applicant, at(3, 10, 9), ProgramCode.BUSINESS)
    step(at(3, 10, 9, 30), lambda: services.case_claim(case=c, actor=reviewer))
    step(at(3, 10, 10), lambda: accept_all(c, reviewer))
    step(at(3, 10, 11), lambda: services.case_approve(case=c, actor=reviewer))
    step(at(3, 10, 12), lambda: services.case_send_back(case=c, actor=senior, note="Check."))
    step(at(3, 10, 13), lambda: services.case_approve(case=c, actor=reviewer))
    step(at(3, 10, 14), lambda: services.case_countersign(case=c, actor=senior, note="OK."))

    d = submitted(applicant, at(3, 3, 9))
    step(at(3, 3, 9, 30), lambda: services.case_claim(case=d, actor=reviewer))
    step(at(3, 3, 10), lambda: accept_all(d, reviewer))
    step(at(3, 3, 11), lambda: services.case_approve(case=d, actor=reviewer))

    e = submitted(other_applicant, at(3, 11, 10))
    f = submitted(applicant, at(3, 5, 10))
    step(at(3, 5, 11), lambda: services.case_claim(case=f, actor=reviewer))
    step(
        at(3, 6, 10),
        lambda: services.case_request_materials(
            case=f,
            actor=reviewer,
            reason_codes=["DOC_UNREADABLE"],
            message="Blurred again.",
            slots=[Slot.ID_FRONT],
        ),
    )
    report_refresh([EARLIER, WEEK], now=at(3, 13, 12))
    return {"a": a, "b": b, "c": c, "d": d, "e": e, "f": f}


def figures(name: str, program: str = "", first: date = WEEK, last: date = WEEK) -> Figures:
    """A report's figures as a Chinese-speaking auditor reads them."""
    filters = Filters(first_week=first, last_week=last, program=program, now=at(3, 13, 12))
    with translation.override("zh-hans"):
        return REPORTS_BY_NAME[name].build(filters)


def test_the_counters_of_the_week(week: dict[str, Case], reviewer: User, senior: User) -> None:
    facts = {(f.program, f.metric, f.key): f.value for f in ReportFact.objects.filter(week=WEEK)}
    r, s = reviewer.pk, senior.pk
    assert facts == {
        ("real_name", "sla", "met"): 1,
        ("real_name", "sla", "breached"): 1,
        ("business", "sla", "met"): 1,
        ("real_name", "review_days", "0"): 1,
        ("real_name", "review_days", "2"): 1,
        ("business", "review_days", "0"): 1,
        ("real_name", "end_to_end_days", "0"): 1,
        ("real_name", "end_to_end_days", "3"): 1,
        ("business", "end_to_end_days", "0"): 1,
        ("real_name", "reason", "materials_requested:DOC_UNREADABLE"): 1,
        ("real_name", "reason", "rejected:INFO_MISMATCH"): 1,
        ("real_name", "throughput", f"{r}:decided"): 2,
        ("real_name", "throughput", f"{r}:requested"): 1,
        ("business", "throughput", f"{r}:decided"): 1,  # the maker, not the checker
        ("business", "throughput", f"{s}:countersigned"): 1,
        ("business", "throughput", f"{s}:sent_back"): 1,
        ("business", "four_eyes", "approve:countersigned"): 1,
        ("business", "four_eyes", "approve:sent_back"): 1,
    }
    earlier = {(f.metric, f.key): f.value for f in ReportFact.objects.filter(week=EARLIER)}
    assert earlier[("sla", "met")] == 1 and earlier[("review_days", "0")] == 1
    # F's request for materials fell in the week before too.
    assert earlier[("reason", "materials_requested:DOC_UNREADABLE")] == 1
    # Recomputing gives the same rows, not twice as many.
    report_refresh([WEEK], now=at(3, 13, 13))
    assert ReportFact.objects.filter(week=WEEK).count() == len(facts)


def test_each_report_shows_the_hand_computed_figures(
    week: dict[str, Case], reviewer: User, senior: User
) -> None:
    assert figures("sla").rows == [
        ["2026-03-09", "企业认证", 1, 0, "100.0%"],
        ["2026-03-09", "实名认证", 1, 1, "50.0%"],
    ]
    assert figures("sla", program="real_name").rows == [["2026-03-09", "实名认证", 1, 1, "50.0%"]]
    assert len(figures("sla", first=EARLIER).rows) == 3

    rows = figures("time-to-decision").rows
    assert [row[1] for row in rows] == [2, 0, 1, 0, 0, 0, 0]  # time to decision, by bucket
    assert [row[3] for row in rows] == [2, 0, 0, 1, 0, 0, 0]  # end to end
    assert rows[0][2] == "66.7%" and rows[2][2] == "100.0%" and rows[3][4] == "100.0%"
    notes = figures("time-to-decision").notes[0]
    assert "100.0%" in notes  # all three within 3 business days of review and 5 end to end

    assert figures("backlog").rows == [
        ["0–1 天", 0, 0],
        ["1–2 天", 0, 0],
        ["2–3 天", 1, 0],  # E: submitted 2 days and 2 hours before
        ["3–5 天", 0, 0],
        ["5–10 天", 0, 1],  # F: 8 days, waiting for the applicant
        ["10+ 天", 0, 0],
    ]

    assert [row[:1] + row[2:] for row in figures("reasons").rows] == [
        ["DOC_UNREADABLE", 0, 1],
        ["INFO_MISMATCH", 1, 0],
    ] or [row[:1] + row[2:] for row in figures("reasons").rows] == [
        ["INFO_MISMATCH", 1, 0],
        ["DOC_UNREADABLE", 0, 1],
    ]

    assert figures("throughput").rows == [
        [reviewer.email, 3, 1, 0, 0, 4.0],
        [senior.email, 0, 0, 1, 1, 2.0],
    ]
    assert figures("four-eyes").rows == [["2026-03-09", 1, 1, "50.0%"]]
    assert figures("four-eyes", program="real_name").rows == []


def test_reports_render_with_their_chart_and_csv_for_supervisors_and_auditors(
    week: dict[str, Case], auditor: User, supervisor: User, reviewer: User
) -> None:
    query = {"first_week": "2026-03-09", "last_week": "2026-03-09"}
    for person in (auditor, supervisor):
        client = signed_in(person)
        index = client.get(reverse("admin:cases_reportfact_changelist"))
        assert index.status_code == 200
        for name in REPORTS_BY_NAME:
            page = client.get(reverse("admin:cases_report", args=[name]), query)
            assert page.status_code == 200, name
            html = page.content.decode()
            assert 'id="report-chart"' in html and 'id="report-table"' in html
            source = html.split('src="data:image/svg+xml;base64,', 1)[1].split('"', 1)[0]
            svg = base64.b64decode(source).decode()
            assert svg.startswith("<?xml") and "<path" in svg and "<script" not in svg
    answer = signed_in(auditor).get(
        reverse("admin:cases_report", args=["sla"]), {**query, "format": "csv"}
    )
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    assert "sla-all-20260309-20260315.csv" in answer["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))
    assert rows == [
        ["Week of", "Program", "Met", "Breached", "Attainment"],
        ["2026-03-09", "Business verification", "1", "0", "100.0%"],
        ["2026-03-09", "Real-name verification", "1", "1", "50.0%"],
    ]
    assert signed_in(reviewer).get(reverse("admin:cases_report", args=["sla"])).status_code == 403
    bad = signed_in(auditor).get(
        reverse("admin:cases_report", args=["sla"]),
        {"first_week": "2026-03-09", "last_week": "2026-03-01"},
    )
    assert bad.status_code == 400
    assert signed_in(auditor).get(reverse("admin:cases_report", args=["nope"])).status_code == 404


def test_the_week_of_an_instant_is_its_monday_in_shanghai() -> None:
    assert week_of(at(3, 15, 23, 59)) == WEEK  # Sunday night, local time
    assert week_of(at(3, 16, 0, 0)) == date(2026, 3, 16)
