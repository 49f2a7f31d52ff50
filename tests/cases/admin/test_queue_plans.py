"""Every workbench queue is read in an index's order (issue 4: "indexes that match each queue's
ordering"), checked on PostgreSQL's own plans.

The data is small, so the planner is told that sorting and sequential scans are prohibitively
expensive (`enable_sort`, `enable_seqscan` off): where an index gives a queue its order the plan
has no Sort node; where none does, the Sort stays. The timings at a million cases are in
BENCHMARKS.md ("Workbench queues", `bench/queues.py`).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases import services
from cases.models import Case
from cases.states import Slot
from tests.factories import reviewing_case, submitted_case
from tests.helpers import signed_in

pytestmark = pytest.mark.postgres

PAGES = {
    "reviewer": ["mycase", "unassignedcase", "atriskcase", "breachedcase", "waitingcase"],
    "senior": ["unassignedcase", "atriskcase", "breachedcase", "foureyescase"],
    "supervisor": [
        "unassignedcase",
        "atriskcase",
        "breachedcase",
        "waitingcase",
        "foureyescase",
        "frozencase",
        "case",
    ],
}


def _nodes(plan: dict[str, Any]) -> Any:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


def _plan(sql: str) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        (row,) = cursor.fetchone()
    document = json.loads(row) if isinstance(row, str) else row
    return document[0]["Plan"]


@pytest.fixture
def queues(db: None, applicant: User, reviewer: User, supervisor: User) -> None:
    now = timezone.now()
    waiting_room = [submitted_case(applicant) for _ in range(3)]
    # Unassigned ones too: every reviewer sees those in At risk and Breached.
    Case.objects.filter(pk=waiting_room[0].pk).update(sla_at_risk_since=now, sla_due_at=now)
    Case.objects.filter(pk=waiting_room[1].pk).update(sla_breached_at=now, sla_due_at=now)
    risky = reviewing_case(applicant, reviewer)
    late = reviewing_case(applicant, reviewer)
    Case.objects.filter(pk=risky.pk).update(sla_at_risk_since=now, sla_due_at=now)
    Case.objects.filter(pk=late.pk).update(sla_breached_at=now, sla_due_at=now - timedelta(hours=1))
    waiting = reviewing_case(applicant, reviewer)
    services.case_request_materials(
        case=waiting,
        actor=reviewer,
        reason_codes=["DOC_UNREADABLE"],
        message="Blurry.",
        slots=[Slot.ID_FRONT],
    )
    forged = reviewing_case(applicant, reviewer)
    services.case_reject(case=forged, actor=reviewer, reason_codes=["DOC_FORGED"])
    frozen = submitted_case(applicant)
    services.case_freeze(case=frozen, actor=supervisor, reason_code="DOC_FORGED")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def test_every_queue_page_reads_its_rows_in_an_index_order(
    request: Any, queues: None, django_db_blocker: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the plans are PostgreSQL's")
    checked = 0
    for role, pages in PAGES.items():
        client = signed_in(request.getfixturevalue(role))
        for page in pages:
            with CaptureQueriesContext(connection) as captured:
                response = client.get(reverse(f"admin:cases_{page}_changelist"))
            assert response.status_code == 200, (role, page)
            assert response.context["cl"].result_list, (role, page)
            for query in captured.captured_queries:
                sql = query["sql"]
                ordered_cases = sql.startswith("SELECT") and " ORDER BY " in sql
                staff = 'FROM "accounts_user"' in sql and '"is_staff"' in sql
                if not (ordered_cases and 'FROM "cases_case"' in sql) and not staff:
                    continue
                plan = _plan(sql)
                sorts = [n for n in _nodes(plan) if n["Node Type"] == "Sort"]
                assert not sorts, (role, page, sql, sorts)
                scans = [n for n in _nodes(plan) if n["Node Type"] == "Seq Scan"]
                assert not scans, (role, page, sql, scans)
                checked += 1
    # Every page's rows, plus the staff lists of the assignee filter and the reassign form.
    assert checked >= sum(len(p) for p in PAGES.values()) * 2
