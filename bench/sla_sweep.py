"""SLA sweep benchmark (issue 3): does one sweep cost what its due work costs, whatever the table?

For each size N it empties the case tables, inserts N open cases in `submitted` (D of them past
their review deadline, spread evenly through the table or, with --layout clustered, the oldest D;
the rest due in 1-30 days), gives the due ones a running SLA clock, VACUUM ANALYZEs and
CHECKPOINTs, explains the sweep's queries, then times `sla_sweep()` over the D due cases and
checks it breached exactly D. The sizes are interleaved repeat by repeat. The Markdown report
goes to stdout, progress to stderr. See bench/README.md.

    DEBUG=1 DATABASE_URL=postgres://root@127.0.0.1:5432/kyc_bench \\
    REDIS_URL=redis://127.0.0.1:6379/12 .venv/bin/python bench/sla_sweep.py \\
    --sizes 10000,1000000 --due 10000 --repeat 3 --wait-idle 900 --quiet 10

Destructive: it truncates every case table of the database it is given, so it refuses any
database that is not PostgreSQL or whose name does not contain "bench". It purges the Celery
queue of REDIS_URL after each sweep (the breach e-mails are published there).
"""

# ruff: noqa: E402  (Django must be set up before the project's modules are imported)
from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kycreview.settings")

import django

django.setup()

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import QuerySet
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role
from cases.db_triggers import drop_audit_triggers, install_audit_triggers
from cases.models import Case, CaseEvent, Notification, SlaClock, SlaPolicy
from cases.sla.sweep import sla_sweep
from cases.states import CaseState, Priority, ProgramCode
from kycreview.celery import app as celery_app

GOAL_RATIO = 1.5
# Tables whose sequential scan would make the sweep's cost follow the table size.
BIG_TABLES = ("cases_case", "cases_slaclock", "cases_caseevent", "cases_notification")
SEQ_SCAN = re.compile(r"Seq Scan on (\w+)")
APPLICANT_EMAIL = "bench-applicant@bench.kycreview.test"
SUPERVISOR_EMAIL = "bench-supervisor-{n}@bench.kycreview.test"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- the database ---------------------------------------------------------------------------


def check_database() -> str:
    """The bench truncates tables: only a PostgreSQL database of its own will do."""
    name = str(connection.settings_dict["NAME"])
    if connection.vendor != "postgresql":
        sys.exit(
            f"error: the SLA sweep benchmark measures PostgreSQL plans and timings; DATABASE_URL "
            f"points at {connection.vendor}. Set DATABASE_URL=postgres://…/kyc_bench."
        )
    if "bench" not in name or name.startswith("test") or name == "kyc_lead":
        sys.exit(
            f"error: refusing to truncate the case tables of database {name!r}; give the "
            f"benchmark a database of its own whose name contains 'bench' (createdb kyc_bench)."
        )
    return name


def sql(statement: str, params: dict[str, Any] | list[Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else []


def scalar(statement: str, params: dict[str, Any] | list[Any] | None = None) -> Any:
    return sql(statement, params)[0][0]


def bench_people(supervisors: int) -> int:
    """One applicant owns every case; `supervisors` people hear about each breach (an e-mail
    each, as in production). Returns the applicant's id."""
    applicant = User.objects.filter(email=APPLICANT_EMAIL).first()
    if applicant is None:
        applicant = User.objects.create_user(email=APPLICANT_EMAIL, full_name="Bench Applicant")
    Group.objects.get(name=Role.APPLICANT).user_set.add(applicant)
    group = Group.objects.get(name=Role.SUPERVISOR)
    wanted = [SUPERVISOR_EMAIL.format(n=n) for n in range(1, supervisors + 1)]
    for email in wanted:
        user = User.objects.filter(email=email).first()
        user = user or User.objects.create_user(email=email, full_name="Bench Supervisor")
        group.user_set.add(user)
    for user in group.user_set.exclude(email__in=wanted):
        group.user_set.remove(user)  # only the bench's own supervisors are notified
    return applicant.pk


# --- building the data ----------------------------------------------------------------------

TRUNCATE = """
TRUNCATE cases_case, cases_caseevent, cases_notification, cases_slaclock, cases_slasegment,
         cases_document, cases_materialrequest, cases_decisionproposal
RESTART IDENTITY CASCADE
"""

# Row g is due when it is one of the first `due` multiples of the stride: with the stride N / D
# the due rows are spread evenly through the heap and the indexes; with stride 1 they are the
# first (oldest) D rows. Their deadlines passed an hour ago, within `spread` seconds, in row order.
INSERT_CASES = """
WITH rows AS (
    SELECT g, mod(g - 1, %(stride)s) = 0 AND (g - 1) / %(stride)s < %(due)s AS is_due
    FROM generate_series(1, %(open)s) AS g
), timed AS (
    SELECT g, is_due,
           CASE WHEN is_due
                THEN %(now)s - interval '1 hour' - %(spread)s * interval '1 second'
                     + ((g - 1) / %(stride)s) * (%(spread)s * interval '1 second' / %(due)s)
                -- due in 1 to 30 days
                ELSE %(now)s + interval '1 day'
                     + mod(g::bigint * 7919, 2505600) * interval '1 second'
           END AS due_at
    FROM rows
)
INSERT INTO cases_case (
    uuid, reference, integration, state, priority, attempt, full_name, id_number,
    id_number_index, phone, company_name, credit_code, contact_email, device_risk_flags,
    created_at, updated_at, submitted_at, queued_at, resubmitted, rejection_reasons,
    rejection_retryable, rejection_counts_attempt, state_reason, event_seq, event_head,
    applicant_id, program_id, applicant_reminders_sent,
    sla_due_at, sla_at_risk_at, sla_at_risk_since
)
SELECT gen_random_uuid(), 'BEN-' || lpad(g::text, 9, '0'), '', %(state)s, %(priority)s, 1,
       'Bench applicant ' || g, '', '', '', '', '', '', '[]'::jsonb,
       due_at - interval '1 day', due_at - interval '1 day', due_at - interval '1 day',
       due_at - interval '1 day', false, '[]'::jsonb,
       false, true, '', 0, '',
       %(applicant)s, %(program)s, 0,
       due_at,
       CASE WHEN is_due THEN NULL ELSE due_at - interval '2 hours 15 minutes' END,
       CASE WHEN is_due THEN due_at - interval '2 hours 15 minutes' END
FROM timed
ORDER BY g
"""

# Real-name target: one business day of 9 h, at risk after 75 %.
INSERT_CLOCKS = """
INSERT INTO cases_slaclock (
    target, at_risk_after, status, started_at, stopped_at, breached_at, case_id, policy_id
)
SELECT interval '9 hours', interval '6 hours 45 minutes', 'running', submitted_at, NULL, NULL,
       id, %(policy)s
FROM cases_case
WHERE %(all)s OR sla_due_at <= %(now)s
ORDER BY id
"""


@dataclass
class Build:
    insert_cases: float = 0.0
    insert_clocks: float = 0.0
    vacuum_analyze: float = 0.0
    checkpoint: float = 0.0
    heap_mb: float = 0.0
    indexes_mb: float = 0.0

    @property
    def total(self) -> float:
        return self.insert_cases + self.insert_clocks + self.vacuum_analyze + self.checkpoint


def _timed(step: str, statement: str, params: dict[str, Any] | None = None) -> float:
    started = time.perf_counter()
    sql(statement, params)
    seconds = time.perf_counter() - started
    log(f"  {step}: {seconds:.1f} s")
    return seconds


@dataclass(frozen=True)
class Scenario:
    due: int
    repeat: int
    applicant: int
    supervisors: int
    all_clocks: bool
    clustered: bool
    spread: float  # seconds between the first and the last due deadline
    wait_idle: float  # seconds to wait at most for an idle machine before each sweep

    def describe(self) -> str:
        where = "the oldest rows" if self.clustered else "spread evenly through the table"
        return (
            f"`submitted` real-name cases, {self.due:,} of them an hour past due ({where}, "
            f"deadlines within {self.spread:g} s), the others due in 1-30 days; a running SLA "
            f"clock for {'every case' if self.all_clocks else 'each due case'}; "
            f"{self.supervisors} supervisor(s) e-mailed per breach; data rebuilt, VACUUM "
            f"ANALYZEd and CHECKPOINTed before every sweep"
        )


def build(*, open_cases: int, scenario: Scenario, now: datetime) -> Build:
    """Empty the case tables and insert the bench's cases and clocks (autocommit, raw SQL)."""
    drop_audit_triggers(connection)  # the append-only triggers refuse TRUNCATE
    try:
        sql(TRUNCATE)
    finally:
        install_audit_triggers(connection)
    policy = SlaPolicy.objects.filter(program_id=ProgramCode.REAL_NAME, priority=Priority.NORMAL)
    params: dict[str, Any] = {
        "open": open_cases,
        "due": scenario.due,
        "stride": 1 if scenario.clustered else open_cases // scenario.due,
        "spread": scenario.spread,
        "now": now,
        "state": CaseState.SUBMITTED.value,
        "priority": Priority.NORMAL.value,
        "applicant": scenario.applicant,
        "program": ProgramCode.REAL_NAME.value,
        "policy": policy.values_list("pk", flat=True).first(),
        "all": scenario.all_clocks,
    }
    result = Build()
    result.insert_cases = _timed(f"insert {open_cases:,} cases", INSERT_CASES, params)
    result.insert_clocks = _timed("insert clocks", INSERT_CLOCKS, params)
    result.vacuum_analyze = _timed(
        "VACUUM ANALYZE",
        "VACUUM ANALYZE cases_case, cases_slaclock, cases_caseevent, cases_notification",
    )
    result.heap_mb = scalar("SELECT pg_table_size('cases_case')") / 2**20
    result.indexes_mb = scalar("SELECT pg_indexes_size('cases_case')") / 2**20
    return result


def check_built(*, open_cases: int, due: int, now: datetime) -> None:
    counts = Case.objects.filter(state=CaseState.SUBMITTED).count(), _due_cases(now).count()
    if counts != (open_cases, due):
        sys.exit(
            f"error: built {counts[0]:,} open cases, {counts[1]:,} due; wanted "
            f"{open_cases:,} and {due:,}."
        )


def _due_cases(now: datetime) -> QuerySet[Case]:
    return Case.objects.filter(sla_due_at__lte=now, sla_breached_at=None)


# --- query plans ----------------------------------------------------------------------------


def due_querysets(now: datetime) -> dict[str, QuerySet[Any]]:
    """The five selections of `sla_sweep`, built exactly as `cases.sla.sweep._due` builds
    them (checked against the SQL the sweep really sends, see `sweep_statements`)."""

    def due(column: str, cutoff: datetime, **extra: Any) -> QuerySet[Any]:
        return (
            Case.objects.filter(**{f"{column}__lte": cutoff}, **extra)
            .order_by(column)
            .values_list("pk", column)[: settings.SLA_SWEEP_BATCH]
        )

    stale = now - timedelta(minutes=settings.SLA_STALE_CLAIM_MINUTES)
    return {
        "breach": due("sla_due_at", now, sla_breached_at=None),
        "at risk": due("sla_at_risk_at", now),
        "auto-close": due("auto_close_at", now),
        "remind": due("applicant_reminder_at", now),
        "release stale": due("reviewer_activity_at", stale),
    }


def composed(queryset: QuerySet[Any]) -> str:
    statement, params = queryset.query.sql_with_params()
    # PostgreSQL's operations bind the parameters client-side, as the debug cursor logs them.
    return str(connection.ops.compose_sql(statement, params))  # type: ignore[attr-defined]


class _RollBack(Exception):
    pass


@dataclass
class Statements:
    selections: list[str]
    per_row: list[str]


def sweep_statements(now: datetime) -> Statements:
    """What the sweep sends for one breached case: run it with a batch of one inside a
    transaction that is rolled back, and keep the SQL."""
    connection.queries_log.clear()  # a full log would capture nothing
    with override_settings(SLA_SWEEP_BATCH=1), CaptureQueriesContext(connection) as captured:
        try:
            with transaction.atomic():
                result = sla_sweep(now=now)
                if result.breached != 1 or result.failed:
                    sys.exit(f"error: the dry run of one breach gave {result.as_dict()}.")
                raise _RollBack
        except _RollBack:
            pass
        mirrored = [composed(qs) for qs in due_querysets(now).values()]
    queries = [q["sql"] for q in captured.captured_queries]
    selections = [q for q in queries if q in mirrored]
    if selections != mirrored:
        sys.exit(
            "error: the bench's copy of the due selections no longer matches the SQL "
            "sla_sweep sends; update due_querysets() from cases/sla/sweep.py.\n"
            + "\n".join(queries)
        )
    first, second = queries.index(mirrored[0]), queries.index(mirrored[1])
    per_row = [q for q in queries[first + 1 : second] if "SAVEPOINT" not in q]
    return Statements(selections=selections, per_row=per_row)


@dataclass
class Plan:
    name: str
    sql: str
    text: str

    @property
    def seq_scans(self) -> list[str]:
        return SEQ_SCAN.findall(self.text)

    @property
    def big_seq_scans(self) -> list[str]:
        return [table for table in self.seq_scans if table in BIG_TABLES]

    @property
    def execution_ms(self) -> float:
        found = re.search(r"Execution Time: ([\d.]+) ms", self.text)
        return float(found.group(1)) if found else 0.0


def explain_selections(now: datetime) -> list[Plan]:
    return [
        Plan(name, composed(qs), qs.explain(analyze=True, buffers=True))
        for name, qs in due_querysets(now).items()
    ]


def explain_row(statements: list[str]) -> list[Plan]:
    """EXPLAIN ANALYZE the statements of one breach, in order, in a transaction rolled back."""
    plans = []
    try:
        with transaction.atomic():
            for statement in statements:
                rows = sql(f"EXPLAIN (ANALYZE, BUFFERS) {statement}")
                plans.append(Plan(_label(statement), statement, "\n".join(r[0] for r in rows)))
            raise _RollBack
    except _RollBack:
        pass
    return plans


def _label(statement: str) -> str:
    verb = statement.split(None, 1)[0].upper()
    table = re.search(r'(?:FROM|INTO|UPDATE) "(\w+)"', statement)
    lock = " FOR UPDATE" if "FOR UPDATE" in statement else ""
    return f"{verb}{lock} {table.group(1) if table else '?'}"


# --- the timed sweep ------------------------------------------------------------------------

COUNTERS = """
SELECT pg_current_wal_lsn()::text,
       (SELECT wal_fpi FROM pg_stat_wal),
       (SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'cases_case'),
       (SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'cases_case'),
       blks_hit, blks_read, xact_commit
FROM pg_stat_database WHERE datname = current_database()
"""


@dataclass
class Counters:
    wal_bytes: int = 0
    wal_fpi: int = 0
    updates: int = 0
    hot_updates: int = 0
    blks_hit: int = 0
    blks_read: int = 0
    commits: int = 0


def _counters() -> tuple[str, list[int]]:
    sql("SELECT pg_stat_force_next_flush()")
    lsn, *numbers = sql(COUNTERS)[0]
    return lsn, [int(n or 0) for n in numbers]


def _counters_delta(before: tuple[str, list[int]], after: tuple[str, list[int]]) -> Counters:
    wal = int(scalar("SELECT pg_wal_lsn_diff(%s, %s)", [after[0], before[0]]))
    return Counters(wal, *(b - a for a, b in zip(before[1], after[1], strict=True)))


TICKS = os.sysconf("SC_CLK_TCK")


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy since boot (all but idle and iowait)."""
    try:
        total = [int(n) for n in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    return (sum(total[:8]) - total[3] - total[4]) / TICKS


def wait_for_idle(max_wait: float) -> None:
    """Wait (at most `max_wait` s) until the machine has been nearly idle for 10 s: the machine
    may be shared, and another process's CPU slows the sweep down."""
    cores, started = os.cpu_count() or 1, time.monotonic()
    while True:
        before = machine_busy()
        time.sleep(10)
        busy = (machine_busy() - before) / 10 / cores
        waited = time.monotonic() - started
        if busy <= 0.1 or waited >= max_wait:
            log(f"  CPU {busy:.0%} busy after waiting {waited:.0f} s for an idle machine")
            return


@dataclass
class Cpu:
    """CPU seconds: this process, its PostgreSQL backend, and the whole machine (/proc)."""

    bench: float = 0.0
    backend: float = 0.0
    machine: float = 0.0

    @classmethod
    def now(cls, backend_pid: int) -> Cpu:
        try:
            stat = Path(f"/proc/{backend_pid}/stat").read_text().rsplit(")", 1)[1].split()
            backend = (int(stat[11]) + int(stat[12])) / TICKS  # utime, stime
        except (OSError, IndexError, ValueError):
            backend = 0.0
        return cls(time.process_time(), backend, machine_busy())

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(
            self.bench - other.bench, self.backend - other.backend, self.machine - other.machine
        )

    @property
    def elsewhere(self) -> float:
        """Everything else the machine ran: Redis, WAL writer, checkpointer, other people."""
        return max(self.machine - self.bench - self.backend, 0.0)


@dataclass
class Run:
    seconds: float
    counters: Counters
    published: int
    load: float  # 1-minute load average of the machine when the sweep started
    cpu: Cpu


def timed_sweep(*, due: int, supervisors: int) -> Run:
    """Time one production-like sweep (`sla_sweep()`, its own clock) and check its outcome."""
    load = os.getloadavg()[0]
    backend_pid = int(scalar("SELECT pg_backend_pid()"))
    before = _counters()
    cpu = Cpu.now(backend_pid)
    started = time.perf_counter()
    result = sla_sweep()
    seconds = time.perf_counter() - started
    cpu = Cpu.now(backend_pid) - cpu
    counters = _counters_delta(before, _counters())
    published = int(celery_app.control.purge() or 0)
    expected = {"breached": due, "at_risk": 0, "auto_closed": 0, "reminded": 0, "released": 0}
    if result.as_dict() != {**expected, "failed": 0}:
        sys.exit(f"error: the sweep gave {result.as_dict()}; wanted {expected} and no failure.")
    stored = (
        Case.objects.exclude(sla_breached_at=None).count(),
        SlaClock.objects.exclude(breached_at=None).count(),
        CaseEvent.objects.count(),
        Notification.objects.count(),
    )
    if stored != (due, due, due, due * supervisors):
        sys.exit(
            f"error: after the sweep: {stored[0]} breached cases, {stored[1]} breached clocks, "
            f"{stored[2]} events, {stored[3]} notifications; wanted {due} each "
            f"({due * supervisors} notifications)."
        )
    return Run(seconds, counters, published, load, cpu)


# --- the benchmark --------------------------------------------------------------------------


@dataclass
class SizeResult:
    open_cases: int
    due: int
    builds: list[Build] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    discarded: list[Run] = field(default_factory=list)
    selections: list[Plan] = field(default_factory=list)
    per_row: list[Plan] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(run.seconds for run in self.runs)

    @property
    def cpu_median(self) -> float:
        """CPU seconds of the sweep itself (Python and its backend): what other load inflates
        least."""
        return statistics.median(run.cpu.bench + run.cpu.backend for run in self.runs)

    @property
    def median_run(self) -> Run:
        return sorted(self.runs, key=lambda run: run.seconds)[(len(self.runs) - 1) // 2]

    @property
    def big_seq_scans(self) -> list[str]:
        return [f"{p.name}: {t}" for p in self.selections + self.per_row for t in p.big_seq_scans]


def bench_once(size: SizeResult, scenario: Scenario) -> Run:
    """Build, explain and time one sweep over `size.open_cases` open cases."""
    now = timezone.now()
    size.builds.append(build(open_cases=size.open_cases, scenario=scenario, now=now))
    check_built(open_cases=size.open_cases, due=size.due, now=now)
    if scenario.wait_idle:
        wait_for_idle(scenario.wait_idle)
    # Start every timed sweep just after a checkpoint, not at a random point of one.
    size.builds[-1].checkpoint = _timed("CHECKPOINT", "CHECKPOINT")
    statements = sweep_statements(now)
    size.selections = explain_selections(now)
    size.per_row = explain_row(statements.per_row)
    if size.big_seq_scans:
        log(f"  SEQUENTIAL SCAN: {size.big_seq_scans}")
    run = timed_sweep(due=size.due, supervisors=scenario.supervisors)
    log(
        f"  sweep: {run.seconds:.2f} s ({size.due / run.seconds:,.0f} cases/s); CPU s: Python "
        f"{run.cpu.bench:.1f}, backend {run.cpu.backend:.1f}, elsewhere "
        f"{run.cpu.elsewhere:.1f}; load before {run.load:.2f}"
    )
    return run


def bench(open_sizes: list[int], scenario: Scenario, *, quiet: float | None) -> list[SizeResult]:
    """The sizes interleaved, repeat by repeat, so a change in the machine's load hits them all.
    With `quiet`, a sweep during which other processes used more CPU seconds than that is
    discarded and run again (at most twice per repeat)."""
    sizes = [SizeResult(open_cases, scenario.due) for open_cases in sorted(open_sizes)]
    for n in range(1, scenario.repeat + 1):
        for size in sizes:
            for attempt in range(3):
                log(f"{size.open_cases:,} open / {size.due:,} due, repeat {n}: building")
                run = bench_once(size, scenario)
                if quiet is None or run.cpu.elsewhere <= quiet or attempt == 2:
                    size.runs.append(run)
                    break
                size.discarded.append(run)
                log(f"  discarded: {run.cpu.elsewhere:.0f} CPU s elsewhere (> {quiet:g})")
    return sizes


# --- the report -----------------------------------------------------------------------------


def _run(command: list[str]) -> str:
    try:
        return subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine() -> dict[str, str]:
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    kib = re.search(r"MemTotal:\s+(\d+) kB", meminfo)
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    dirty = " (with uncommitted changes)" if _run(["git", "status", "--porcelain"]) else ""
    sweep_code = [
        "cases/sla/sweep.py",
        "cases/outbox.py",
        "cases/audit.py",
        "cases/notifications.py",
    ]
    changed = _run(["git", "status", "--porcelain", "--", *sweep_code])
    indexes = sql("SELECT indexname FROM pg_indexes WHERE tablename = 'cases_case' ORDER BY 1")
    pg_settings = dict(
        sql(
            "SELECT name, current_setting(name) FROM pg_settings WHERE name IN "
            "('shared_buffers', 'synchronous_commit', 'fsync', 'autovacuum', 'max_wal_size')"
        )
    )
    return {
        "CPU": f"{os.cpu_count()} cores ({model.group(1).strip() if model else '?'})",
        "RAM": f"{int(kib.group(1)) / 2**20:.1f} GiB" if kib else "unknown",
        "OS": platform.platform(),
        "PostgreSQL": str(scalar("SELECT version()")),
        "PostgreSQL settings": ", ".join(f"{k}={v}" for k, v in sorted(pg_settings.items())),
        "Python / Django": f"{platform.python_version()} / {django.get_version()}",
        "Date": timezone.localtime().strftime("%Y-%m-%d %H:%M %Z"),
        "Commit": _run(["git", "rev-parse", "--short", "HEAD"]) + dirty,
        "Sweep code": f"changed since the commit: {changed}" if changed else "as committed",
        "Schema": (
            f"cases migrations up to {scalar(LAST_MIGRATION)}; {len(indexes)} indexes on "
            f"cases_case ({', '.join(row[0] for row in indexes)})"
        ),
        "SLA_SWEEP_BATCH": str(settings.SLA_SWEEP_BATCH),
    }


LAST_MIGRATION = "SELECT max(name) FROM django_migrations WHERE app = 'cases'"


def _plan_lines(plan: Plan) -> list[str]:
    keep = ("Scan", "Limit", "Update on", "Insert on", "Sort", "Cond", "Filter", "Execution")
    return [line for line in plan.text.splitlines() if any(word in line for word in keep)]


def report(sizes: list[SizeResult], *, setup: dict[str, str], command: str, build_note: str) -> str:
    base = sizes[0]
    lines = ["### SLA sweep benchmark", ""]
    lines += [f"- {key}: {value}" for key, value in setup.items()]
    lines += [f"- Command: `{command}`", f"- Data: {build_note}", ""]
    lines += [
        "| open cases | due | sweep, median (s) | repeats (s) | cases/s | ratio vs "
        f"{base.open_cases:,} | sweep CPU, median (s) | CPU elsewhere per repeat (s) | "
        "build (s) | table + indexes (MB) |",
        "|---:|---:|---:|---|---:|---:|---:|---|---|---:|",
    ]
    for size in sizes:
        repeats = ", ".join(f"{run.seconds:.2f}" for run in size.runs)
        builds = ", ".join(f"{b.total:.0f}" for b in size.builds)
        elsewhere = ", ".join(f"{run.cpu.elsewhere:.0f}" for run in size.runs)
        if size.discarded:
            elsewhere += (
                " (discarded: "
                + ", ".join(
                    f"{run.seconds:.1f} s with {run.cpu.elsewhere:.0f}" for run in size.discarded
                )
                + ")"
            )
        last = size.builds[-1]
        lines.append(
            f"| {size.open_cases:,} | {size.due:,} | {size.median:.2f} | {repeats} | "
            f"{size.due / size.median:,.0f} | {size.median / base.median:.2f} | "
            f"{size.cpu_median:.1f} | {elsewhere} | {builds} | "
            f"{last.heap_mb:.0f} + {last.indexes_mb:.0f} |"
        )
    lines.append("")
    for size in sizes[1:]:
        ratio = size.median / base.median
        verdict = "met" if ratio <= GOAL_RATIO else "NOT met"
        lines.append(
            f"Ratio {size.open_cases:,} / {base.open_cases:,} open: **{ratio:.2f}** "
            f"(goal ≤ {GOAL_RATIO}: {verdict}); of the sweep's own CPU time: "
            f"{size.cpu_median / base.cpu_median:.2f}."
        )
    lines += ["", *_counters_table(sizes), "", *_plans(sizes[-1])]
    return "\n".join(lines)


def _counters_table(sizes: list[SizeResult]) -> list[str]:
    lines = [
        "Database work during the median sweep (pg_stat_*; WAL and FPI are cluster-wide):",
        "",
        "| open cases | commits | WAL (MB) | WAL/case (kB) | full-page images | case updates "
        "(HOT) | buffers hit / read | e-mails published | CPU s: Python / backend / elsewhere "
        "| load before |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        run = size.median_run
        c = run.counters
        lines.append(
            f"| {size.open_cases:,} | {c.commits:,} | {c.wal_bytes / 2**20:.0f} | "
            f"{c.wal_bytes / size.due / 1024:.1f} | {c.wal_fpi:,} | {c.updates:,} "
            f"({c.hot_updates:,}) | {c.blks_hit:,} / {c.blks_read:,} | {run.published:,} | "
            f"{run.cpu.bench:.1f} / {run.cpu.backend:.1f} / {run.cpu.elsewhere:.1f} | "
            f"{run.load:.2f} |"
        )
    return lines


def _plans(size: SizeResult) -> list[str]:
    lines = [f"Plans with {size.open_cases:,} open cases (EXPLAIN ANALYZE, BUFFERS; trimmed):", ""]
    scans = size.big_seq_scans
    lines.append(
        f"Sequential scans of {', '.join(BIG_TABLES)}: "
        + (f"**{'; '.join(scans)}**" if scans else "none")
        + "."
    )
    lines.append("")
    for plan in size.selections:
        lines += [f"{plan.name}:", "```", *_plan_lines(plan), "```"]
    lines += ["", "Statements of one breached case, in order:", ""]
    lines += ["| statement | plan | ms |", "|---|---|---:|"]
    for plan in size.per_row:
        nodes = [line.strip(" ->") for line in plan.text.splitlines() if "Scan" in line]
        summary = "; ".join(node.split("  (")[0] for node in nodes) or plan.text.split("  (")[0]
        lines.append(f"| {plan.name} | {summary} | {plan.execution_ms:.3f} |")
    claim = next((p for p in size.per_row if p.name == "UPDATE cases_case"), None)
    if claim is not None:
        lines += ["", "The claim:", "```", claim.sql, *_plan_lines(claim), "```"]
    return lines


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--open", type=int, help="open cases (one size)")
    group.add_argument("--sizes", help="open cases per run, comma-separated, smallest first")
    parser.add_argument("--due", type=int, default=10_000, help="due cases in every run")
    parser.add_argument("--repeat", type=int, default=3, help="sweeps per size (data rebuilt)")
    parser.add_argument("--supervisors", type=int, default=1, help="people told of each breach")
    parser.add_argument(
        "--clocks", choices=("due", "all"), default="due", help="which cases get an SLA clock"
    )
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0,
        metavar="SECONDS",
        help="before each sweep, wait at most this long for the CPUs to be idle for 10 s",
    )
    parser.add_argument(
        "--quiet",
        type=float,
        metavar="CPU_SECONDS",
        help="redo a sweep (twice at most) when other processes used more CPU than this meanwhile",
    )
    parser.add_argument(
        "--layout",
        choices=("spread", "clustered"),
        default="spread",
        help="due rows spread evenly through the table, or the oldest rows",
    )
    parser.add_argument(
        "--due-spread",
        type=float,
        default=300,
        help="seconds between the first and last due deadline (0: all due at one instant)",
    )
    args = parser.parse_args()
    args.sizes = (
        [args.open] if args.open else [int(s) for s in (args.sizes or "1000000").split(",")]
    )
    if args.due < 1 or any(size < args.due for size in args.sizes) or args.repeat < 1:
        parser.error("every size must be at least --due, and --due and --repeat at least 1")
    if args.due > settings.SLA_SWEEP_BATCH:
        parser.error(
            f"--due exceeds SLA_SWEEP_BATCH ({settings.SLA_SWEEP_BATCH}): one sweep "
            "would not take them all"
        )
    return args


def main() -> None:
    args = parse_args()
    # DEBUG=1 only lets the dev keys in; the sweep is timed without the debug cursor's query log,
    # as production runs it.
    settings.DEBUG = False
    name = check_database()
    log(f"database {name}: migrating")
    call_command("migrate", verbosity=0, interactive=False)
    scenario = Scenario(
        due=args.due,
        repeat=args.repeat,
        applicant=bench_people(args.supervisors),
        supervisors=args.supervisors,
        all_clocks=args.clocks == "all",
        clustered=args.layout == "clustered",
        spread=args.due_spread,
        wait_idle=args.wait_idle,
    )
    setup = machine()  # the commit and schema the sweeps ran on, not those at the end
    sizes = bench(args.sizes, scenario, quiet=args.quiet)
    command = shlex.join(["python", "bench/sla_sweep.py", *sys.argv[1:]])
    print(report(sizes, setup=setup, command=command, build_note=scenario.describe()))


if __name__ == "__main__":
    main()
