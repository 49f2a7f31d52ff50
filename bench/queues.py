"""Workbench queues benchmark (issue 4): do the reviewer's queue pages cost the same at 10,000
cases as at 1,000,000?

For each size N it empties the case tables and inserts N cases in a realistic mix of states,
programs, priorities and SLA situations (one `INSERT … SELECT generate_series`, applicants drawn
from a fixed pool of applicant users), gives one case the blind index of a known resident ID
number, and VACUUM ANALYZEs. Then, signed in to the admin past the second factor exactly as a
person is (Django's test Client), it loads every queue page each role may see, plus an ID-number
search and a filtered page of the All queue: one warm-up load, then --loads timed loads (median
reported), then one load with the SQL captured. Every captured SELECT is EXPLAINed (sequential
scans of the big tables and queries returning thousands of rows are flagged, so is a COUNT
without a cap) and the slowest one of each page is EXPLAIN (ANALYZE, BUFFERS)ed. The Markdown
report goes to stdout, progress to stderr. See bench/README.md.

    DEBUG=1 ALLOWED_HOSTS=localhost,testserver \\
    DATABASE_URL=postgres://root@127.0.0.1:5432/kyc_bench_queues \\
    REDIS_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/queues.py > report.md

Destructive: it truncates every case table of the database it is given, so it refuses any
database that is not PostgreSQL or whose name does not contain "bench".
"""

# ruff: noqa: E402  (Django must be set up before the project's modules are imported)
from __future__ import annotations

import argparse
import html
import json
import os
import re
import shlex
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
# The project, and bench/ for sla_sweep.py (the SLA sweep bench: its SQL helpers, machine
# description and CPU accounting are reused here).
sys.path[:0] = [str(BENCH.parent), str(BENCH)]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kycreview.settings")

import django

django.setup()

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice
from sla_sweep import TRUNCATE, Cpu, log, machine, scalar, sql, wait_for_idle

from accounts.models import User
from accounts.roles import Role
from cases import crypto
from cases.db_triggers import drop_audit_triggers, install_audit_triggers
from cases.selectors import may_see_queue, queue_for

GOAL_MS = 300.0
GOAL_RATIO = 2.0
# The resident ID number the factories use; one case carries its blind index.
ID_NUMBER = "11010519491231002X"
BIG_TABLES = (
    "cases_case",
    "accounts_user",
    "cases_decisionproposal",
    "accounts_user_groups",
    "cases_signal",
)
MANY_ROWS = 1_000  # a query of a 50-row page that returns more rows than this is flagged
NOTABLE_MS = 20.0  # a query of cases_case this slow has its plan in the report
DOMAIN = "bench.kycreview.test"
QUEUE_MODELS = {
    "my": "mycase",
    "unassigned": "unassignedcase",
    "at_risk": "atriskcase",
    "breached": "breachedcase",
    "waiting": "waitingcase",
    "four_eyes": "foureyescase",
    "frozen": "frozencase",
    "all": "case",
}


# --- the database ---------------------------------------------------------------------------


def check_database() -> str:
    """The bench truncates tables: only a PostgreSQL database of its own will do."""
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "postgresql":
        sys.exit(
            f"error: the queues benchmark measures PostgreSQL plans and timings; DATABASE_URL "
            f"points at {connection.vendor}. Set DATABASE_URL=postgres://…/kyc_bench_queues."
        )
    if "bench" not in name or name.startswith("test"):
        sys.exit(
            f"error: refusing to truncate the case tables of database {name!r}; give the "
            f"benchmark a database of its own whose name contains 'bench' "
            f"(createdb kyc_bench_queues)."
        )
    return name


# --- the people -----------------------------------------------------------------------------


@dataclass(frozen=True)
class People:
    reviewer: User  # the bench's reviewer: one of `reviewers`, it holds 1/len of the assignments
    senior: User
    supervisor: User
    reviewers: list[int]  # ids of the reviewers cases are assigned to
    seniors: list[int]  # ids of the senior reviewers who countersigned past decisions
    applicants: list[int]


INSERT_APPLICANTS = f"""
INSERT INTO accounts_user (
    password, last_login, is_superuser, first_name, last_name, is_staff, is_active, date_joined,
    email, full_name, preferred_language, closed_at, frozen_at, enrolment_code_expires_at,
    enrolment_code_hash
)
SELECT '!', NULL, false, '', '', false, true, now() - g * interval '20 minutes',
       'applicant-' || g || '@{DOMAIN}', 'Bench Applicant ' || g,
       CASE WHEN g %% 5 = 0 THEN 'en' ELSE 'zh-hans' END, NULL, NULL, NULL, ''
FROM generate_series(1, %(n)s) AS g
ON CONFLICT (email) DO NOTHING
"""

APPLICANT_GROUP = f"""
INSERT INTO accounts_user_groups (user_id, group_id)
SELECT id, %(group)s FROM accounts_user WHERE email LIKE 'applicant-%%@{DOMAIN}'
ON CONFLICT DO NOTHING
"""


def staff(email: str, role: Role) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, full_name=email.split("@")[0])
    User.objects.filter(pk=user.pk).update(is_staff=True)
    user.groups.set([Group.objects.get(name=role)])
    return User.objects.get(pk=user.pk)  # fresh permission cache


def bench_people(*, applicants: int, reviewers: int, seniors: int) -> People:
    """The staff (idempotent) and `applicants` applicant users (one INSERT … SELECT)."""
    team = [staff(f"reviewer-{n}@{DOMAIN}", Role.REVIEWER) for n in range(1, reviewers + 1)]
    senior = [staff(f"senior-{n}@{DOMAIN}", Role.SENIOR_REVIEWER) for n in range(1, seniors + 1)]
    supervisor = staff(f"supervisor@{DOMAIN}", Role.SUPERVISOR)
    pool = User.objects.filter(email__startswith="applicant-", email__endswith=f"@{DOMAIN}")
    if pool.count() < applicants:
        started = time.perf_counter()
        sql(INSERT_APPLICANTS, {"n": applicants})
        sql(APPLICANT_GROUP, {"group": Group.objects.get(name=Role.APPLICANT).pk})
        sql("VACUUM ANALYZE accounts_user, accounts_user_groups")
        log(f"inserted {applicants:,} applicants in {time.perf_counter() - started:.1f} s")
    ids = list(pool.order_by("pk").values_list("pk", flat=True)[:applicants])
    return People(
        reviewer=team[0],
        senior=senior[0],
        supervisor=supervisor,
        reviewers=[user.pk for user in team],
        seniors=[user.pk for user in senior],
        applicants=ids,
    )


def signed_in(user: User) -> Client:
    """A client signed in as `user` past the admin's second factor (as tests/conftest.py)."""
    client = Client(headers={"Accept-Language": "en"})
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(user)
    device, _ = TOTPDevice.objects.get_or_create(
        user=user, confirmed=True, defaults={"name": "bench"}
    )
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


# --- building the data ----------------------------------------------------------------------

# One row per case. The draws are uniform in [0, 1) (random() after setseed: the same data every
# run): r_state picks the state, r_sla the SLA situation (5 % breached, 10 % at risk; for decided
# cases that is their history, which the sweep leaves on the row), r_time where the case sits in
# its time range. Open cases are recent, decided ones spread over three years, and the rows are
# inserted in created_at order, so the ids follow creation as in production.
INSERT_CASES = """
WITH draw AS (
    SELECT g, random() AS r_state, random() AS r_prog, random() AS r_prio, random() AS r_sla,
           random() AS r_time, random() AS r_misc, random() AS r_who, random() AS r_app
    FROM generate_series(1, %(n)s) AS g
), typed AS (
    SELECT d.*,
           CASE WHEN r_state < 0.56 THEN 'approved'
                WHEN r_state < 0.71 THEN 'closed'
                WHEN r_state < 0.79 THEN 'rejected'
                WHEN r_state < 0.81 THEN 'draft'
                WHEN r_state < 0.82 THEN 'account_frozen'
                WHEN r_state < 0.85 THEN 'needs_materials'
                WHEN r_state < 0.90 THEN 'reviewing'
                ELSE 'submitted' END AS state,
           CASE WHEN r_prog < 0.50 THEN 'real_name'
                WHEN r_prog < 0.70 THEN 'video'
                WHEN r_prog < 0.85 THEN 'credit'
                ELSE 'business' END AS program,
           CASE WHEN r_prio < 0.15 THEN 0 WHEN r_prio < 0.85 THEN 1
                WHEN r_prio < 0.95 THEN 2 ELSE 3 END AS priority,
           CASE WHEN r_sla < 0.05 THEN 'breached' WHEN r_sla < 0.15 THEN 'at_risk'
                ELSE 'on_time' END AS sla,
           %(reviewers)s::bigint[] AS reviewers,
           %(applicants)s::bigint[] AS applicants,
           %(now)s::timestamptz AS now
    FROM draw AS d
), running AS (
    SELECT t.*,
           state IN ('submitted', 'reviewing') AS is_running,
           state IN ('approved', 'closed', 'rejected', 'account_frozen') AS is_decided,
           CASE program WHEN 'business' THEN interval '3 days' WHEN 'credit' THEN interval '2 days'
                ELSE interval '1 day' END AS target,
           reviewers[1 + floor(r_who * cardinality(reviewers))::int] AS reviewer
    FROM typed AS t
), due AS (
    SELECT r.*,
           CASE WHEN NOT is_running THEN NULL
                WHEN sla = 'breached' THEN now - interval '1 minute' - r_time * interval '2 days'
                WHEN sla = 'at_risk' THEN now + interval '1 minute' + r_time * target / 4
                ELSE now + target / 4 + interval '10 minutes' + r_time * interval '3 days'
           END AS due_at,
           CASE WHEN state = 'draft' THEN now - r_time * interval '30 days'
                WHEN state = 'needs_materials'
                THEN now - interval '1 day' - r_time * interval '10 days'
                WHEN NOT state IN ('submitted', 'reviewing')
                THEN now - interval '10 days' - r_time * interval '1095 days'
           END AS born
    FROM running AS r
), timed AS (
    SELECT d.*,
           coalesce(born, due_at - target - interval '30 minutes') AS created,
           CASE WHEN state = 'draft' THEN NULL
                ELSE coalesce(born, due_at - target - interval '30 minutes') + interval '30 minutes'
           END AS submitted,
           CASE WHEN is_decided THEN coalesce(born, now) + interval '30 minutes'
                                     + r_misc * interval '2 days' END AS decided
    FROM due AS d
)
INSERT INTO cases_case (
    uuid, reference, integration, state, priority, attempt, full_name, id_number,
    id_number_index, phone, company_name, credit_code, contact_email, credit_score,
    device_risk_flags, declared_data_updated_at, created_at, updated_at, submitted_at, queued_at,
    resubmitted, decided_at, closed_at, rejection_reasons, rejection_retryable,
    rejection_counts_attempt, may_apply_again_after, state_reason, event_seq, event_head,
    applicant_id, assignee_id, preferred_reviewer_id, previous_case_id, program_id,
    applicant_reminder_at, applicant_reminders_sent, auto_close_at, reviewer_activity_at,
    sla_at_risk_at, sla_at_risk_since, sla_breached_at, sla_due_at
)
SELECT gen_random_uuid(), 'BEN-' || lpad(g::text, 9, '0'), '', state, priority, 1,
       'Bench applicant ' || g, '',
       CASE WHEN program = 'business' THEN ''
            ELSE encode(sha256(('bench-id-' || g)::bytea), 'hex') END,
       '', CASE WHEN program = 'business' THEN 'Bench Trading Co ' || g ELSE '' END, '', '',
       NULL, '[]'::jsonb, NULL, created,
       -- updated_at: the last change (the decision, the freeze, the claim or the submission)
       CASE WHEN state = 'account_frozen' THEN least(now, decided + r_misc * interval '90 days')
            WHEN state = 'closed' THEN least(now, decided + interval '30 days')
            WHEN is_decided THEN decided
            WHEN state = 'reviewing' THEN greatest(submitted, now - r_misc * interval '1 hour')
            WHEN state = 'needs_materials' THEN created + interval '1 day'
            ELSE coalesce(submitted, created) END,
       submitted, submitted,
       state = 'submitted' AND r_misc < 0.05,
       decided, CASE WHEN state = 'closed' THEN least(now, decided + interval '30 days') END,
       '[]'::jsonb, false, true, NULL, '', 0, '',
       applicants[1 + floor(r_app * cardinality(applicants))::int],
       CASE WHEN state = 'reviewing' THEN reviewer END,
       CASE WHEN state NOT IN ('draft', 'submitted') THEN reviewer END,
       NULL, program,
       CASE WHEN state = 'needs_materials' AND r_misc < 0.7
            THEN now + r_misc * interval '3 days' END,
       0,
       CASE WHEN state = 'needs_materials'
            THEN now + interval '1 hour' + r_misc * interval '10 days' END,
       CASE WHEN state = 'reviewing' THEN now - r_misc * interval '20 minutes' END,
       -- the SLA columns as the sweep leaves them (cases/sla/sweep.py, clock.py)
       CASE WHEN is_running AND sla = 'on_time' THEN due_at - target / 4 END,
       CASE WHEN state <> 'draft' AND sla <> 'on_time'
            THEN coalesce(due_at - target / 4, submitted + target * 3 / 4) END,
       CASE WHEN state <> 'draft' AND sla = 'breached'
            THEN coalesce(due_at, submitted + target) + interval '1 minute' END,
       due_at
FROM timed
ORDER BY created, g
"""

# Every tenth case under review waits for a second signature (its reviewer proposed it); the
# approved credit and business cases carry the countersigned proposal of their past decision.
INSERT_PROPOSALS = """
INSERT INTO cases_decisionproposal (
    decision, reason_codes, slots, message, note, data, proposed_at, status, checked_at,
    check_note, case_id, checked_by_id, proposed_by_id
)
SELECT 'approve', '[]'::jsonb, '[]'::jsonb, '', '', '{}'::jsonb, updated_at, 'pending', NULL, '',
       id, NULL, assignee_id
FROM cases_case WHERE state = 'reviewing' AND id %% 10 = 0
UNION ALL
SELECT 'approve', '[]'::jsonb, '[]'::jsonb, '', '', '{}'::jsonb, decided_at, 'countersigned',
       decided_at, '', id, (%(seniors)s::bigint[])[1 + id %% cardinality(%(seniors)s::bigint[])],
       preferred_reviewer_id
FROM cases_case WHERE state = 'approved' AND program_id IN ('credit', 'business')
ORDER BY 11
"""
# The automatic checks' signals: open ones on a share of the cases in play (high on every
# seventh, medium on every fifth), resolved or cleared ones on a share of the decided cases.
INSERT_SIGNALS = """
INSERT INTO cases_signal (
    case_id, document_id, kind, subject, severity, evidence, status, raised_at, resolved_at,
    resolved_by_id, resolution_note
)
SELECT id, NULL::bigint, 'device_risk', 'declared:rooted', 'high', '{"flags": ["rooted"]}'::jsonb,
       'open', created_at, NULL::timestamptz, NULL::bigint, ''
FROM cases_case
WHERE state IN ('submitted', 'reviewing', 'needs_materials') AND id % 7 = 0
UNION ALL
SELECT id, NULL, 'profile_mismatch', 'declared:a:b', 'medium', '{}'::jsonb, 'open', created_at,
       NULL, NULL, ''
FROM cases_case
WHERE state IN ('submitted', 'reviewing', 'needs_materials') AND id % 5 = 0
UNION ALL
SELECT id, NULL, 'image_quality', 'document:0', 'medium', '{}'::jsonb, 'resolved', created_at,
       created_at, NULL, ''
FROM cases_case
WHERE state NOT IN ('submitted', 'reviewing', 'needs_materials') AND id % 11 = 0
ORDER BY 1
"""
# A case whose decision waits for its second signature has no idle reviewer (clock.py).
PROPOSED_NOT_IDLE = """
UPDATE cases_case SET reviewer_activity_at = NULL
WHERE state = 'reviewing' AND id % 10 = 0
"""
# The case the ID-number search finds: the newest submitted one.
MARK_ID_CASE = """
UPDATE cases_case SET id_number_index = %(index)s
WHERE id = (SELECT max(id) FROM cases_case WHERE state = 'submitted')
RETURNING reference
"""


@dataclass
class Build:
    seconds: float = 0.0
    heap_mb: float = 0.0
    indexes_mb: float = 0.0
    id_case: str = ""  # the reference of the case the ID-number search must find
    states: dict[str, int] = field(default_factory=dict)


def build(*, cases: int, people: People, now: datetime) -> Build:
    """Empty the case tables and insert `cases` cases and their proposals (raw SQL)."""
    started = time.perf_counter()
    drop_audit_triggers(connection)  # the append-only triggers refuse TRUNCATE
    try:
        sql(TRUNCATE)
    finally:
        install_audit_triggers(connection)
    sql("SELECT setseed(0.42)")
    sql(
        INSERT_CASES,
        {"n": cases, "now": now, "reviewers": people.reviewers, "applicants": people.applicants},
    )
    sql(INSERT_PROPOSALS, {"seniors": people.seniors})
    sql(INSERT_SIGNALS)
    sql(PROPOSED_NOT_IDLE)
    result = Build()
    result.id_case = str(scalar(MARK_ID_CASE, {"index": crypto.blind_index(ID_NUMBER)}))
    sql("VACUUM ANALYZE cases_case, cases_decisionproposal, cases_signal")
    sql("CHECKPOINT")
    result.seconds = time.perf_counter() - started
    result.heap_mb = scalar("SELECT pg_table_size('cases_case')") / 2**20
    result.indexes_mb = scalar("SELECT pg_indexes_size('cases_case')") / 2**20
    result.states = dict(sql("SELECT state, count(*) FROM cases_case GROUP BY 1 ORDER BY 2 DESC"))
    log(f"  built {cases:,} cases in {result.seconds:.0f} s: {result.states}")
    return result


# --- the pages ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    role: str
    queue: str
    query: str = ""  # the query string, without "?"

    @property
    def url(self) -> str:
        base = reverse(f"admin:cases_{QUEUE_MODELS[self.queue]}_changelist")
        return f"{base}?{self.query}" if self.query else base


def pages_for(role: str, user: User) -> list[Page]:
    return [Page(queue, role, queue) for queue in QUEUE_MODELS if may_see_queue(user, queue)]


def filter_query(client: Client) -> str:
    """The All queue filtered to business cases in `submitted`, as the sidebar links it: the
    parameter names are read from the page, not guessed."""
    program = _sidebar_link(client, "", r"program__\w+=business")
    return _sidebar_link(client, program, r"state__\w+=submitted")


def _sidebar_link(client: Client, query: str, pattern: str) -> str:
    page = client.get(Page("all", "", "all", query).url)
    for href in re.findall(r'href="\?([^"]*)"', page.content.decode()):
        href = html.unescape(href)
        if re.search(rf"(^|&){pattern}(&|$)", href):
            return href
    sys.exit(f"error: no filter link matching {pattern!r} on the All queue (?{query}).")


# --- measuring a page -----------------------------------------------------------------------

CURSOR = re.compile(r"^DECLARE .*? CURSOR .*? FOR (SELECT .*)$", re.S)


@dataclass
class Query:
    sql: str
    ms: float
    seq_scans: list[str] = field(default_factory=list)
    rows: float = 0.0  # the planner's estimate of the rows returned

    @property
    def select(self) -> str | None:
        """The SELECT to explain: the statement, or the query of a server-side cursor
        (`.iterator()`, as ModelChoiceField uses); None for writes."""
        text = self.sql.strip()
        cursor = CURSOR.match(text)
        if cursor:
            return cursor.group(1)
        return text if text.upper().startswith("SELECT") else None

    @property
    def on_cases(self) -> bool:
        return '"cases_case"' in (self.select or "")

    @property
    def full_count(self) -> bool:
        """A COUNT over the queue with no cap: its cost follows the table."""
        text = (self.select or "").upper()
        return self.on_cases and text.startswith("SELECT COUNT(") and " LIMIT " not in text

    @property
    def label(self) -> str:
        table = re.search(r'(?:FROM|INTO|UPDATE) "(\w+)"', self.sql)
        name = table.group(1) if table else "?"
        select = self.select
        if select is None:
            return f"{self.sql.split(None, 1)[0].upper()} {name}"
        if select.upper().startswith("SELECT COUNT("):
            kind = "capped COUNT" if " LIMIT " in select.upper() else "COUNT"
            return f"{kind} {name}"
        return f"SELECT {name}" + (" (cursor)" if CURSOR.match(self.sql.strip()) else "")


@dataclass
class Load:
    """One page at one size."""

    times: list[float]  # ms of the timed loads
    html_kb: float
    queries: list[Query]
    plans: dict[int, str]  # EXPLAIN (ANALYZE, BUFFERS) by query number: the slowest ones
    facets: bool = False  # the page links "Show counts" (?_facets): a COUNT per filter choice
    rows: int = 0  # the queue's true size for this person (a full count, outside the timings)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def sql_ms(self) -> float:
        return sum(q.ms for q in self.queries)

    @property
    def case_ms(self) -> float:
        return sum(q.ms for q in self.queries if q.on_cases)

    @property
    def slowest(self) -> int:
        """The number (1-based) of the slowest SELECT; 0 if none."""
        return _slowest(self.queries, lambda q: q.select is not None)

    @property
    def slowest_case(self) -> int:
        """The number of the slowest query of cases_case; 0 if none."""
        return _slowest(self.queries, lambda q: q.on_cases)

    @property
    def flags(self) -> list[str]:
        found = ["'Show counts' link (uncapped COUNTs)"] if self.facets else []
        for n, query in enumerate(self.queries, 1):
            found += [f"#{n} Seq Scan on {table}" for table in query.seq_scans]
            if query.full_count:
                found.append(f"#{n} uncapped COUNT of cases_case")
            if query.rows > MANY_ROWS:
                found.append(f"#{n} {query.label}: ~{query.rows:,.0f} rows")
        return found

    @property
    def order_by(self) -> str:
        """The ORDER BY of the query of the page's rows."""
        for query in self.queries:
            select = query.select or ""
            if query.on_cases and not query.label.endswith("COUNT cases_case"):
                found = re.search(r"ORDER BY (.*?)(?: LIMIT \d+)?$", select)
                if found:
                    return found.group(1)
        return ""


def _slowest(queries: list[Query], wanted: Callable[[Query], bool]) -> int:
    chosen = [(q.ms, n) for n, q in enumerate(queries, 1) if wanted(q)]
    return max(chosen)[1] if chosen else 0


def _plan_nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    nodes = [plan]
    for child in plan.get("Plans", []):
        nodes += _plan_nodes(child)
    return nodes


def examine(statement: str, ms: float) -> Query:
    """EXPLAIN (no ANALYZE) one captured query: its sequential scans and estimated rows."""
    query = Query(statement, ms)
    if query.select is None:
        return query
    raw = scalar(f"EXPLAIN (FORMAT JSON) {query.select}")
    plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    query.rows = float(plan.get("Plan Rows", 0))
    query.seq_scans = [
        node["Relation Name"]
        for node in _plan_nodes(plan)
        if node["Node Type"] == "Seq Scan" and node.get("Relation Name") in BIG_TABLES
    ]
    return query


def explain_analyze(query: Query) -> str:
    rows = sql(f"EXPLAIN (ANALYZE, BUFFERS) {query.select}")
    return "\n".join(row[0] for row in rows)


def measure(client: Client, page: Page, *, loads: int, expect: str = "") -> Load:
    """Warm once, time `loads` loads, then capture the SQL of one more and explain it."""
    url = page.url
    _check(page, client.get(url), expect)
    times = []
    for _ in range(loads):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        _check(page, response, expect)
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    _check(page, response, expect)
    queries = [examine(q["sql"], float(q["time"]) * 1000) for q in captured.captured_queries]
    body = response.content.decode()
    load = Load(times=times, html_kb=len(response.content) / 1024, queries=queries, plans={})
    load.facets = "?_facets=" in body
    for n in {load.slowest, load.slowest_case} - {0}:
        load.plans[n] = explain_analyze(queries[n - 1])
    return load


def _check(page: Page, response: Any, expect: str) -> None:
    """A page that redirects (e.g. `?e=1` for a bad filter) or errs measures nothing."""
    if response.status_code != 200:
        sys.exit(f"error: {page.url} as {page.role} gave HTTP {response.status_code}.")
    if expect and expect not in response.content.decode():
        sys.exit(f"error: {page.url} as {page.role} does not show {expect}.")


# --- the benchmark --------------------------------------------------------------------------


@dataclass
class Size:
    cases: int
    build: Build
    loads: dict[Page, Load] = field(default_factory=dict)
    cpu: Cpu | None = None
    load_average: float = 0.0


def bench_size(*, cases: int, people: People, loads: int, wait_idle: float) -> Size:
    log(f"{cases:,} cases: building")
    size = Size(cases, build(cases=cases, people=people, now=timezone.now()))
    if wait_idle:
        wait_for_idle(wait_idle)
    size.load_average = os.getloadavg()[0]
    backend = int(scalar("SELECT pg_backend_pid()"))
    cpu = Cpu.now(backend)
    size.loads = load_pages(size, people, loads=loads)
    size.cpu = Cpu.now(backend) - cpu
    return size


def load_pages(size: Size, people: People, *, loads: int) -> dict[Page, Load]:
    """Every page of every role, measured."""
    measured: dict[Page, Load] = {}
    for role, user in (
        ("reviewer", people.reviewer),
        ("senior reviewer", people.senior),
        ("supervisor", people.supervisor),
    ):
        client = signed_in(user)
        pages = pages_for(role, user)
        if role == "supervisor":
            pages += [
                Page("all: ID-number search", role, "all", f"q={ID_NUMBER}"),
                Page("all: filtered", role, "all", filter_query(client)),
            ]
        for page in pages:
            expect = size.build.id_case if page.query.startswith("q=") else ""
            load = measure(client, page, loads=loads, expect=expect)
            if not page.query:
                known = size.loads.get(page)
                load.rows = known.rows if known else queue_for(user, page.queue).count()
            measured[page] = load
            log(
                f"  {role:>15} {page.name:<24} {load.median:8.1f} ms  "
                f"{len(load.queries):2} queries  {' '.join(load.flags)}"
            )
    return measured


# --- the report -----------------------------------------------------------------------------


def _state_mix(size: Size) -> str:
    total = sum(size.build.states.values()) or 1
    return ", ".join(f"{state} {n / total:.1%}" for state, n in size.build.states.items())


def report(sizes: list[Size], *, setup: dict[str, str], command: str, people: People) -> str:
    small, large = sizes[0], sizes[-1]
    lines = ["## Workbench queues at a million cases (issue 4)", ""]
    lines += [f"- {key}: {value}" for key, value in setup.items()]
    lines += [
        f"- Command: `{command}`",
        f"- Data: per size, N cases inserted in created_at order (open cases are the newest, "
        f"decided ones spread over three years); applicants drawn from {len(people.applicants):,}"
        f" applicant users; {len(people.reviewers)} reviewers share the assignments (the bench "
        f"reviewer is one of them), {len(people.seniors)} senior reviewers, one supervisor. "
        f"Among the running cases 5 % breached and 10 % at risk; decided cases keep the same "
        f"share of `sla_at_risk_since` / `sla_breached_at` history, as the sweep leaves it. "
        f"Every tenth case under review has a pending four-eyes proposal; approved credit and "
        f"business cases a countersigned one. One submitted case carries the blind index of "
        f"{ID_NUMBER}.",
    ]
    for size in sizes:
        cpu = size.cpu or Cpu()
        lines.append(
            f"- {size.cases:,} cases: {_state_mix(size)}; table {size.build.heap_mb:.0f} MB + "
            f"indexes {size.build.indexes_mb:.0f} MB; built in {size.build.seconds:.0f} s; load "
            f"average {size.load_average:.2f} before the timings, CPU s during them: Python "
            f"{cpu.bench:.0f}, PostgreSQL backend {cpu.backend:.0f}, elsewhere "
            f"{cpu.elsewhere:.0f}"
        )
    lines += ["", "### Results", ""]
    lines += _table(small.loads, large.loads, small.cases, large.cases)
    lines += ["", *_queries_table(small.loads, large.loads, large.cases)]
    lines += ["", *_plans(large.loads, small.loads, large.cases)]
    return "\n".join(lines)


def _table(small: dict[Page, Load], large: dict[Page, Load], n: int, big_n: int) -> list[str]:
    lines = [
        f"Median of {len(next(iter(large.values())).times)} timed loads (ms) after one warm-up; "
        f"rows: the queue's size for that person; SQL ms (all / on cases_case) and HTML size "
        f"from one more load, captured, at {big_n:,} cases.",
        "",
        f"| page | role | rows at {n:,} / {big_n:,} | ms at {n:,} | ms at {big_n:,} | ratio | "
        f"SQL ms | HTML kB | goal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for page, big in large.items():
        little = small[page]
        ratio = big.median / little.median
        met = big.median <= GOAL_MS and ratio <= GOAL_RATIO
        rows = f"{little.rows:,} / {big.rows:,}" if not page.query else "—"
        lines.append(
            f"| `{page.url}` | {page.role} | {rows} | {little.median:.0f} | {big.median:.0f} | "
            f"{ratio:.2f} | {big.sql_ms:.0f} / {big.case_ms:.0f} | {big.html_kb:,.0f} | "
            f"{'met' if met else '**not met**'} |"
        )
    missed = [
        page
        for page, big in large.items()
        if big.median > GOAL_MS or big.median / small[page].median > GOAL_RATIO
    ]
    worst = max(large.values(), key=lambda load: load.median)
    lines += [
        "",
        f"Goal: every page under {GOAL_MS:.0f} ms at {big_n:,} cases, with a ratio "
        f"{big_n:,} / {n:,} of at most {GOAL_RATIO:g}: "
        + ("**met**" if not missed else f"**not met** on {len(missed)} of {len(large)} pages")
        + f" (slowest {worst.median:.0f} ms).",
    ]
    return lines


def _queries_table(small: dict[Page, Load], large: dict[Page, Load], big_n: int) -> list[str]:
    lines = [
        f"Queries of one load at {big_n:,} cases (count at the small size in brackets), "
        f"numbered in the order sent (times from Django's query log, 1 ms resolution); the "
        f"slowest query, the slowest on cases_case with its plan's scans (EXPLAIN ANALYZE); "
        f"flags: a sequential scan of {', '.join(BIG_TABLES)}, an uncapped COUNT of "
        f"cases_case, a query returning more than {MANY_ROWS:,} rows (planner's estimate), a "
        f"'Show counts' link (Django's facets: a COUNT over the queue per filter choice).",
        "",
        "| page | role | queries | slowest | slowest on cases_case: scans | flags |",
        "|---|---|---:|---|---|---|",
    ]
    for page, load in large.items():
        worst, case = load.slowest, load.slowest_case
        slowest = f"#{worst} {_short(load, worst)}" if worst else "—"
        on_cases = f"#{case} {_short(load, case)}: {_scans(load.plans[case])}" if case else "—"
        lines.append(
            f"| {page.name} | {page.role} | {len(load.queries)} ({len(small[page].queries)}) | "
            f"{slowest} | {on_cases} | {'; '.join(load.flags) or '—'} |"
        )
    return lines


def _short(load: Load, n: int) -> str:
    query = load.queries[n - 1]
    return f"{query.label}, {query.ms:.1f} ms"


def _scans(plan: str) -> str:
    nodes = [line.strip(" ->").split("  (")[0] for line in plan.splitlines() if "Scan" in line]
    return "; ".join(nodes) or "—"


def _notable(page: Page, load: Load, small: dict[Page, Load]) -> bool:
    """A page worth its plans: slow, growing with the table, or flagged on cases_case."""
    case = load.queries[load.slowest_case - 1] if load.slowest_case else None
    return (
        load.median > GOAL_MS
        or load.median / small[page].median > GOAL_RATIO
        or (case is not None and case.ms >= NOTABLE_MS)
        or any("cases_case" in flag for flag in load.flags)
    )


def _display(statement: str) -> str:
    """The SQL without its long column list."""
    return re.sub(r"^((?:DECLARE .*? FOR )?SELECT) (?!COUNT\().*? FROM ", r"\1 … FROM ", statement)


def _plans(loads: dict[Page, Load], small: dict[Page, Load], big_n: int) -> list[str]:
    """The row order of every page; the queries and plans of the notable ones."""
    lines = [
        f"Per page at {big_n:,} cases: the ORDER BY of its rows; for the pages that miss the "
        f"goal, grow with the table or spend {NOTABLE_MS:g} ms or more in one query of "
        f"cases_case, its queries (ms) and the plans of its slowest query and of its slowest "
        f"on cases_case (EXPLAIN ANALYZE, BUFFERS; trimmed; a plan is shown once).",
        "",
    ]
    keep = ("Scan", "Limit", "Sort", "Cond", "Filter", "Join", "Loop", "Removed", "Execution")
    shown: set[str] = set()
    for page, load in loads.items():
        lines.append(f"- **{page.name}, {page.role}**: rows ordered by `{load.order_by or '—'}`")
        if not _notable(page, load, small):
            continue
        queries = " · ".join(f"#{n} {q.label} {q.ms:.0f}" for n, q in enumerate(load.queries, 1))
        lines += ["", f"  Queries (ms): {queries}", ""]
        for n, plan in sorted(load.plans.items()):
            query = load.queries[n - 1]
            if query.sql in shown:
                lines += [f"  #{n} {query.label}: plan shown above.", ""]
                continue
            shown.add(query.sql)
            trimmed = [line for line in plan.splitlines() if any(word in line for word in keep)]
            lines += [
                f"  #{n} {query.label} ({query.ms:.0f} ms):",
                "",
                "  ```sql",
                f"  {_display(query.sql)}",
                "  ```",
                "  ```",
                *(f"  {line}" for line in trimmed),
                "  ```",
                "",
            ]
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--sizes", default="10000,1000000", help="cases per run, comma-separated, smallest first"
    )
    parser.add_argument("--loads", type=int, default=5, help="timed loads per page (median)")
    parser.add_argument("--applicants", type=int, default=50_000, help="applicant users")
    parser.add_argument("--reviewers", type=int, default=20, help="reviewers sharing the work")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before timing each size, wait at most this long for the CPUs to be idle for 10 s",
    )
    args = parser.parse_args()
    args.sizes = [int(s) for s in args.sizes.split(",")]
    if len(args.sizes) < 2 or args.sizes != sorted(args.sizes) or args.loads < 1:
        parser.error("give at least two sizes, smallest first, and --loads of at least 1")
    return args


def main() -> None:
    args = parse_args()
    # DEBUG=1 only lets the dev keys in; pages are timed without the debug cursor's query log
    # and without template debugging, as production serves them.
    settings.DEBUG = False
    if "testserver" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    name = check_database()
    log(f"database {name}: migrating")
    call_command("migrate", verbosity=0, interactive=False)
    started = time.perf_counter()
    people = bench_people(applicants=args.applicants, reviewers=args.reviewers, seniors=3)
    setup = {k: v for k, v in machine().items() if k not in ("Sweep code", "SLA_SWEEP_BATCH")}
    sizes = [
        bench_size(
            cases=n,
            people=people,
            loads=args.loads,
            wait_idle=args.wait_idle,
        )
        for n in args.sizes
    ]
    setup["Runtime"] = f"{(time.perf_counter() - started) / 60:.1f} min"
    command = shlex.join(["python", "bench/queues.py", *sys.argv[1:]])
    print(report(sizes, setup=setup, command=command, people=people))


if __name__ == "__main__":
    main()
