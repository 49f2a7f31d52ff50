"""Claim-next (cases.services.case_claim_next): the best case, to exactly one reviewer."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime
from typing import Any

import pytest
import time_machine
from django.db import connection

from accounts.models import User
from accounts.roles import Role
from cases import services
from cases.errors import NotPermitted
from cases.models import Case, CaseEvent
from cases.states import CaseState, EventType, Priority, Slot
from tests.factories import ask_again, submitted_case, upload
from tests.helpers import at, fresh, make_user, submit_at


def queued(applicant: User, when: datetime, priority: int = Priority.NORMAL) -> Case:
    """A case submitted at `when`, at `priority`."""
    case = submit_at(applicant, when)
    Case.objects.filter(pk=case.pk).update(priority=priority)
    return fresh(case)


def resubmitted_by(case: Case, reviewer: User, applicant: User, when: datetime) -> Case:
    with time_machine.travel(when, tick=False):
        ask_again(case, reviewer)
        upload(case, Slot.ID_FRONT, applicant, colour="#225588")
        services.case_resubmit(case=case, actor=applicant)
    return Case.objects.get(pk=case.pk)


def claimed(event: CaseEvent | None) -> Case | None:
    return None if event is None else Case.objects.get(pk=event.case_id)


def test_claim_next_takes_resubmitted_then_priority_then_earliest_due(
    db: None, applicant: User, reviewer: User, other_reviewer: User
) -> None:
    normal_early = queued(applicant, at(3, 2, 10))
    normal_late = queued(applicant, at(3, 3, 10))
    urgent = queued(applicant, at(3, 4, 10), Priority.URGENT)
    back = resubmitted_by(queued(applicant, at(3, 5, 10)), other_reviewer, applicant, at(3, 5, 11))
    order = [claimed(services.case_claim_next(actor=reviewer)) for _ in range(4)]
    assert order == [back, urgent, normal_early, normal_late]
    assert services.case_claim_next(actor=reviewer) is None
    for case in order:
        assert case is not None and case.state == CaseState.REVIEWING
        assert case.assignee == reviewer


def test_a_resubmitted_case_goes_back_to_the_reviewer_who_handled_it(
    db: None, applicant: User, reviewer: User, other_reviewer: User
) -> None:
    mine = resubmitted_by(queued(applicant, at(3, 2, 10)), reviewer, applicant, at(3, 2, 11))
    theirs = resubmitted_by(queued(applicant, at(3, 2, 9)), other_reviewer, applicant, at(3, 2, 12))
    # theirs is older, and would come first in the plain queue order; each gets their own.
    assert claimed(services.case_claim_next(actor=reviewer)) == mine
    assert claimed(services.case_claim_next(actor=other_reviewer)) == theirs


def test_only_reviewers_claim(db: None, applicant: User, auditor: User) -> None:
    queued(applicant, at(3, 2, 10))
    for person in (applicant, auditor):
        with pytest.raises(NotPermitted):
            services.case_claim_next(actor=person)
    assert not CaseEvent.objects.filter(event_type=EventType.CLAIMED).exists()


@pytest.mark.postgres
@pytest.mark.slow
def test_sixteen_reviewers_pressing_claim_next_at_once_each_case_claimed_once(
    transactional_db: None,
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED under real concurrency is PostgreSQL's")
    applicant = make_user("many@example.com", Role.APPLICANT)
    cases = [submitted_case(applicant) for _ in range(500)]
    reviewers = [make_user(f"r{n}@example.com", Role.REVIEWER) for n in range(16)]
    barrier = threading.Barrier(len(reviewers))
    got: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def press(reviewer: User) -> None:
        mine: list[int] = []
        try:
            barrier.wait()
            for _ in range(50):
                event = services.case_claim_next(actor=reviewer)
                if event is not None:
                    mine.append(event.case_id)
        except BaseException as exc:
            errors.append(exc)
        finally:
            got[reviewer.pk] = mine
            connection.close()

    threads = [threading.Thread(target=press, args=(r,)) for r in reviewers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(300)
    assert errors == []
    claims = Counter(pk for mine in got.values() for pk in mine)
    assert set(claims) == {case.pk for case in cases}
    assert max(claims.values()) == 1
    events = Counter(
        CaseEvent.objects.filter(event_type=EventType.CLAIMED).values_list("case_id", flat=True)
    )
    assert len(events) == 500 and set(events.values()) == {1}
    by_reviewer: dict[Any, int] = Counter(
        Case.objects.filter(state=CaseState.REVIEWING).values_list("assignee", flat=True)
    )
    assert sum(by_reviewer.values()) == 500
    assert all(by_reviewer[r.pk] == len(got[r.pk]) for r in reviewers)
