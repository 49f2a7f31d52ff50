"""Compliance reports benchmark (issue 12): do the reports answer as fast at 1,000,000 cases as
at 10,000, and what does keeping their summary table cost?

For each size N it builds the queues benchmark's case mix (bench/queues.py: N cases over three
years in a realistic mix of states and programs), then the history the reports summarise, in raw
SQL: a review clock per decided case (met, or breached where the case breached), its running
segment and, for one case in five, a pause; the decision's event (approvals and rejections by
their reviewer, rejection reasons), a request for materials for one case in five, and filler
events (created, submitted, claimed, two uploads) so the event table has the size it would have;
second signatures (countersigned, and one in twenty sent back). It VACUUM ANALYZEs, then times:

1. the periodic refresh (this week and last: `report_refresh()`), --repeat times;
2. the backfill of every week of the three years (`report_refresh(weeks)`), once;
3. each report's figures for the default 12 weeks and for 52 weeks (SQL only, then with the
   chart), and each report page as an auditor loads it (Django's test Client, past the second
   factor), --repeat times each, medians reported;
4. EXPLAIN (ANALYZE, BUFFERS) of the queries of one load of each page, flagging any sequential
   scan of a big table.

It prints a Markdown report to stdout (progress to stderr). Destructive: it truncates the case
tables of the database it is given, so it refuses any database that is not PostgreSQL or whose
name does not contain "bench".

    DEBUG=1 ALLOWED_HOSTS=localhost,testserver \\
    DATABASE_URL=postgres://root@127.0.0.1:5432/kyc_bench_reports \\
    REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python bench/reports.py > report.md
"""

# ruff: noqa: E402  (Django must be set up before the project's modules are imported)
from __future__ import annotations

import argparse
import json
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

from queues import bench_people, build, signed_in, staff  # noqa: I001  (sets Django up)
from sla_sweep import log, machine, scalar, sql

from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.roles import Role
from cases.compliance.reports import REPORTS, Filters, default_filters, week_of, weeks_between
from cases.compliance.statistics import report_refresh

BIG_TABLES = ("cases_case", "cases_caseevent", "cases_slaclock", "cases_slasegment")
DOMAIN = "bench.kycreview.test"

INSERT_CLOCKS = """
INSERT INTO cases_slaclock (case_id, policy_id, target, at_risk_after, status, started_at,
                            stopped_at, breached_at)
SELECT id, NULL,
       CASE program_id WHEN 'business' THEN interval '27 hours'
            WHEN 'credit' THEN interval '18 hours' ELSE interval '9 hours' END,
       CASE program_id WHEN 'business' THEN interval '20 hours'
            WHEN 'credit' THEN interval '13 hours' ELSE interval '7 hours' END,
       CASE WHEN sla_breached_at IS NOT NULL THEN 'breached' ELSE 'met' END,
       submitted_at, decided_at, sla_breached_at
FROM cases_case
WHERE decided_at IS NOT NULL AND submitted_at IS NOT NULL
ORDER BY id
"""
# The running segment of every clock (a fraction of its length counted as business time), and a
# pause for one case in five; the segment that ended the clock names the transition.
INSERT_SEGMENTS = """
INSERT INTO cases_slasegment (clock_id, kind, started_at, started_by, start_reason, ended_at,
                              ended_by, end_reason, business_time)
SELECT k.id, 'running', k.started_at, 'bench', 'submitted', k.stopped_at, 'bench',
       CASE c.state WHEN 'rejected' THEN 'reject' WHEN 'account_frozen' THEN 'freeze'
            ELSE 'approve' END,
       (k.stopped_at - k.started_at) * 0.35
FROM cases_slaclock k JOIN cases_case c ON c.id = k.case_id
UNION ALL
SELECT k.id, 'paused', k.started_at + (k.stopped_at - k.started_at) / 3, 'bench',
       'materials requested', k.started_at + (k.stopped_at - k.started_at) / 2, 'bench',
       'resubmitted', (k.stopped_at - k.started_at) * 0.05
FROM cases_slaclock k WHERE k.case_id % 5 = 0
ORDER BY 1
"""
# Per case: created, submitted, two uploads, claimed (filler the refresh must skip), then the
# decision or the request for materials, with their reviewer and reasons. The hashes are not a
# chain (the bench never verifies one).
INSERT_EVENTS = """
INSERT INTO cases_caseevent (case_id, seq, event_type, actor_type, actor_user_id, actor_label,
                             from_state, to_state, reason_codes, message, data, file_sha256,
                             created_at, prev_hash, hash, key_id)
SELECT c.id, e.seq, e.kind, 'user',
       CASE WHEN e.seq >= 5 THEN c.preferred_reviewer_id END, 'bench', '', '',
       CASE WHEN e.kind = 'rejected' THEN '["INFO_MISMATCH"]'::jsonb
            WHEN e.kind = 'materials_requested' THEN '["DOC_UNREADABLE"]'::jsonb
            ELSE '[]'::jsonb END,
       '', '{}'::jsonb, '', e.at, repeat('0', 64), md5(c.id || ':' || e.seq) || repeat('0', 32), ''
FROM cases_case c
CROSS JOIN LATERAL (
    VALUES (1, 'created', c.created_at),
           (2, 'submitted', coalesce(c.submitted_at, c.created_at)),
           (3, 'document_uploaded', c.created_at),
           (4, 'document_uploaded', c.created_at),
           (5, 'claimed', coalesce(c.submitted_at, c.created_at) + interval '10 minutes'),
           (6, CASE WHEN c.id % 5 = 0 THEN 'materials_requested' END,
               coalesce(c.submitted_at, c.created_at) + interval '2 hours'),
           (7, CASE c.state WHEN 'approved' THEN 'approved' WHEN 'closed' THEN 'approved'
                            WHEN 'rejected' THEN 'rejected' END, c.decided_at)
) AS e(seq, kind, at)
WHERE c.state <> 'draft' AND e.kind IS NOT NULL AND e.at IS NOT NULL
ORDER BY e.at, c.id
"""
SENT_BACK = """
INSERT INTO cases_decisionproposal (decision, reason_codes, slots, message, note, data,
                                    proposed_at, status, checked_at, check_note, case_id,
                                    checked_by_id, proposed_by_id)
SELECT decision, '[]'::jsonb, '[]'::jsonb, '', '', '{}'::jsonb,
       checked_at - interval '3 hours', 'sent_back', checked_at - interval '2 hours', 'check',
       case_id, checked_by_id, proposed_by_id
FROM cases_decisionproposal WHERE status = 'countersigned' AND id % 20 = 0
"""


def check_database() -> str:
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "postgresql" or "bench" not in name or name.startswith("test"):
        sys.exit(
            f"error: refusing {connection.vendor} database {name!r}: give the reports benchmark "
            "a PostgreSQL database of its own whose name contains 'bench'."
        )
    return name


def history(cases: int) -> dict[str, Any]:
    """The clocks, segments, events and second signatures of the cases the queues bench built."""
    started = time.perf_counter()
    sql("TRUNCATE cases_reportfact, cases_reportweek")
    sql(INSERT_CLOCKS)
    sql(INSERT_SEGMENTS)
    sql(INSERT_EVENTS)
    sql(SENT_BACK)
    sql("VACUUM ANALYZE cases_slaclock, cases_slasegment, cases_caseevent, cases_decisionproposal")
    sql("CHECKPOINT")
    counts = {
        table: scalar(f"SELECT count(*) FROM {table}")
        for table in (*BIG_TABLES, "cases_decisionproposal")
    }
    log(f"  history for {cases:,} cases in {time.perf_counter() - started:.0f} s: {counts}")
    return {"seconds": time.perf_counter() - started, "rows": counts}


def timed(action: Callable[[], Any], repeat: int) -> list[float]:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append(time.perf_counter() - started)
    return runs


def median_ms(runs: list[float]) -> float:
    return statistics.median(runs) * 1000


def explain(statement: str) -> tuple[str, list[str]]:
    rows = sql(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {statement}")
    plan = rows[0][0]
    plan = json.loads(plan) if isinstance(plan, str) else plan
    scans: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        if node.get("Node Type") == "Seq Scan" and node.get("Relation Name") in BIG_TABLES:
            scans.append(node["Relation Name"])
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    text = sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}")
    return "\n".join(row[0] for row in text), scans


def run_size(cases: int, args: argparse.Namespace, people: Any, auditor: Any) -> dict[str, Any]:
    now = timezone.now()
    log(f"building {cases:,} cases")
    built = build(cases=cases, people=people, now=now)
    made = history(cases)
    result: dict[str, Any] = {"cases": cases, "build": built.seconds + made["seconds"]}
    result["rows"] = made["rows"]
    log("  the periodic refresh")
    result["refresh"] = timed(lambda: report_refresh(now=now), args.repeat)
    first = scalar("SELECT min(created_at) FROM cases_case")
    weeks = weeks_between(timezone.localdate(first), timezone.localdate(now))
    log(f"  the backfill of {len(weeks)} weeks")
    started = time.perf_counter()
    done = report_refresh(weeks, now=now)
    result["backfill"] = (time.perf_counter() - started, len(weeks), sum(done.values()))
    sql("VACUUM ANALYZE cases_reportfact, cases_reportweek")
    result["reports"] = {}
    client = signed_in(auditor)
    last = week_of(now)
    for report in REPORTS:
        log(f"  {report.name}")
        twelve = default_filters(now)
        year = Filters(first_week=last - timedelta(weeks=51), last_week=last, now=now)
        report.build(twelve)  # warm-up (and matplotlib's import)
        with CaptureQueriesContext(connection) as captured:
            report.build(year)
        statements = [q["sql"] for q in captured.captured_queries]
        url = reverse("admin:cases_report", args=[report.name])
        year_query = {"first_week": year.first_week.isoformat(), "last_week": last.isoformat()}
        answer = client.get(url)
        assert answer.status_code == 200, (report.name, answer.status_code)
        result["reports"][report.name] = {
            "figures_12": median_ms(timed(partial(report.build, twelve), args.repeat)),
            "figures_52": median_ms(timed(partial(report.build, year), args.repeat)),
            "page_12": median_ms(timed(partial(client.get, url), args.repeat)),
            "page_52": median_ms(timed(partial(client.get, url, year_query), args.repeat)),
            "queries": len(statements),
            "plans": [explain(s) for s in statements if s.lstrip().upper().startswith("SELECT")],
        }
    return result


def report(results: list[dict[str, Any]], args: argparse.Namespace, started: float) -> str:
    lines = ["# Compliance reports benchmark", ""]
    info = {k: v for k, v in machine().items() if k not in ("Sweep code", "SLA_SWEEP_BATCH")}
    lines += [f"- {key}: {value}" for key, value in info.items()]
    lines += [
        f"- Total run: {(time.perf_counter() - started) / 60:.0f} min",
        f"- Command: `{shlex.join(sys.argv)}`",
        "",
        "## Data",
        "",
        "| cases | clocks | segments | events | build (s) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        rows = r["rows"]
        lines.append(
            f"| {r['cases']:,} | {rows['cases_slaclock']:,} | {rows['cases_slasegment']:,} | "
            f"{rows['cases_caseevent']:,} | {r['build']:.0f} |"
        )
    lines += [
        "",
        "## Keeping the summary table",
        "",
        "| cases | refresh of this week and last, median (runs) | backfill | counters |",
        "|---:|---:|---:|---:|",
    ]
    for r in results:
        seconds, weeks, counters = r["backfill"]
        runs = ", ".join(f"{x * 1000:.0f}" for x in r["refresh"])
        lines.append(
            f"| {r['cases']:,} | {median_ms(r['refresh']):.0f} ms ({runs}) | "
            f"{seconds:.1f} s for {weeks} weeks | {counters:,} |"
        )
    lines += [
        "",
        "## The reports (medians of " + str(args.repeat) + " runs, milliseconds)",
        "",
        "| report | cases | figures, 12 weeks | figures, 52 weeks | page, 12 weeks | "
        "page, 52 weeks | queries | seq scans of big tables |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in results[0]["reports"]:
        for r in results:
            m = r["reports"][name]
            scans = sorted({s for _, found in m["plans"] for s in found}) or ["none"]
            lines.append(
                f"| {name} | {r['cases']:,} | {m['figures_12']:.0f} | {m['figures_52']:.0f} | "
                f"{m['page_12']:.0f} | {m['page_52']:.0f} | {m['queries']} | "
                f"{', '.join(scans)} |"
            )
    if len(results) > 1:
        small, big = results[0], results[-1]
        lines += ["", "Ratio of the largest to the smallest size (page, 52 weeks):", ""]
        for name in big["reports"]:
            ratio = big["reports"][name]["page_52"] / small["reports"][name]["page_52"]
            lines.append(f"- {name}: {ratio:.2f}")
    lines += ["", "## Plans at the largest size", ""]
    for name, m in results[-1]["reports"].items():
        for plan, _ in m["plans"]:
            lines += [f"### {name}", "", "```", plan, "```", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    started = time.perf_counter()
    check_database()
    settings.DEBUG = False
    people = bench_people(applicants=5000, reviewers=40, seniors=8)
    auditor = staff(f"auditor@{DOMAIN}", Role.AUDITOR)
    results = [run_size(int(size), args, people, auditor) for size in args.sizes.split(",") if size]
    print(report(results, args, started))


if __name__ == "__main__":
    main()
