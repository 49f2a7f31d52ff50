"""Two people acting on the same case at the same moment: exactly one wins, the other gets a clean
error, and the audit trail records exactly one decision.

Real threads with their own database connections, started together by a barrier, many rounds
so the race is real. PostgreSQL serializes them with the row lock of `select_for_update()`;
SQLite with IMMEDIATE transactions (the whole database is the lock), so the tests run on both.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import pytest
from django.db import connection

from accounts.models import User
from cases import services
from cases.audit import verify_audit_chains
from cases.errors import ConcurrentChange, InvalidState
from cases.models import Case, CaseEvent
from cases.states import CaseState, EventType
from tests.factories import accept_all, reviewing_case, submitted_case

ROUNDS = 20
PROJECT_APPS = {"accounts", "cases"}
DECISIONS = {EventType.APPROVED, EventType.REJECTED, EventType.FROZEN}
# The loser is told the case moved on: InvalidState after the lock, ConcurrentChange when a
# transition's conditional save finds the state already changed.
CLEAN_LOSS = (InvalidState, ConcurrentChange)

pytestmark = pytest.mark.slow


@dataclass
class Outcome:
    name: str
    result: Any = None
    error: BaseException | None = None


@dataclass
class Race:
    """Runs each action in its own thread, released at the same instant."""

    actions: dict[str, Callable[[], Any]]
    outcomes: dict[str, Outcome] = field(default_factory=dict)

    def run(self, timeout: float = 60) -> dict[str, Outcome]:
        barrier = threading.Barrier(len(self.actions))
        self.outcomes = {name: Outcome(name) for name in self.actions}

        def contender(name: str, action: Callable[[], Any]) -> None:
            outcome = self.outcomes[name]
            try:
                barrier.wait(timeout=timeout)
                outcome.result = action()
            except BaseException as exc:  # reported to the test, never lost in the thread
                outcome.error = exc
            finally:
                # Each thread opened its own connection; leave none behind for the teardown.
                connection.close()

        threads = [
            threading.Thread(target=contender, args=(name, action), name=f"race-{name}")
            for name, action in self.actions.items()
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout)
            assert not thread.is_alive(), f"{thread.name} is still running after {timeout}s"
        return self.outcomes


def assert_one_winner(outcomes: dict[str, Outcome]) -> tuple[Outcome, Outcome]:
    """Exactly one action succeeded; every other failed with a clean, expected error."""
    winners = [o for o in outcomes.values() if o.error is None]
    losers = [o for o in outcomes.values() if o.error is not None]
    for loser in losers:
        # Anything else (a database error, "database is locked", an IntegrityError on the chain)
        # would be a 500 in the admin: fail with the real exception.
        if not isinstance(loser.error, CLEAN_LOSS):
            raise AssertionError(f"{loser.name} failed uncleanly") from loser.error
        assert loser.error.message  # something a person can read and act on
    assert len(winners) == 1, {o.name: repr(o.error) for o in outcomes.values()}
    assert len(losers) == len(outcomes) - 1
    return winners[0], losers[0]


def decision_events(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case, event_type__in=DECISIONS).order_by("seq"))


def assert_chain_intact(case: Case) -> None:
    report = verify_audit_chains(case=case)
    assert report.ok, [str(link) for link in report.broken or []]
    fresh = Case.objects.get(pk=case.pk)
    assert fresh.event_seq == CaseEvent.objects.filter(case=case).count()


def test_approve_and_reject_at_once_one_decision_wins(
    committed_db: None, applicant: User, reviewer: User
) -> None:
    for round_no in range(ROUNDS):
        case = accept_all(reviewing_case(applicant, reviewer), reviewer)
        seq_before = case.event_seq

        outcomes = Race(
            {
                "approve": partial(services.case_approve, case=case, actor=reviewer),
                "reject": partial(
                    services.case_reject,
                    case=case,
                    actor=reviewer,
                    reason_codes=["DOC_UNREADABLE"],
                    message="The photo is too blurry.",
                ),
            }
        ).run()

        winner, _loser = assert_one_winner(outcomes)
        case.refresh_from_db()
        expected = {"approve": CaseState.APPROVED, "reject": CaseState.REJECTED}[winner.name]
        assert case.state == expected, round_no
        assert case.event_seq == seq_before + 1  # the loser wrote nothing
        decided = [e for e in decision_events(case) if e.from_state == CaseState.REVIEWING]
        assert [e.pk for e in decided] == [winner.result.pk]
        assert decided[0].to_state == expected
        assert_chain_intact(case)


def test_two_reviewers_claiming_one_case_only_one_gets_it(
    committed_db: None, applicant: User, reviewer: User, other_reviewer: User
) -> None:
    wins = {"rita": 0, "rob": 0}
    for round_no in range(ROUNDS):
        case = submitted_case(applicant)

        outcomes = Race(
            {
                "rita": partial(services.case_claim, case=case, actor=reviewer),
                "rob": partial(services.case_claim, case=case, actor=other_reviewer),
            }
        ).run()

        winner, _loser = assert_one_winner(outcomes)
        wins[winner.name] += 1
        case.refresh_from_db()
        assert case.state == CaseState.REVIEWING, round_no
        assert case.assignee == {"rita": reviewer, "rob": other_reviewer}[winner.name]
        claims = CaseEvent.objects.filter(case=case, event_type=EventType.CLAIMED)
        assert list(claims.values_list("pk", "actor_user")) == [
            (winner.result.pk, case.assignee_id)
        ]
        assert_chain_intact(case)
    assert sum(wins.values()) == ROUNDS


def test_a_freeze_racing_an_approval_leaves_one_consistent_outcome(
    committed_db: None, applicant: User, reviewer: User, supervisor: User
) -> None:
    """Freeze is allowed from approved too, so here both may succeed in either order; what must
    hold is that neither is lost, the chain never forks and the final state fits the order."""
    for round_no in range(ROUNDS // 2):
        case = accept_all(reviewing_case(applicant, reviewer), reviewer)
        seq_before = case.event_seq

        outcomes = Race(
            {
                "approve": partial(services.case_approve, case=case, actor=reviewer),
                "freeze": partial(
                    services.case_freeze,
                    case=case,
                    actor=supervisor,
                    reason_code="SUSPICIOUS_BEHAVIOUR",
                ),
            }
        ).run()

        failed = {o.name: o.error for o in outcomes.values() if o.error is not None}
        for name, error in failed.items():
            if not isinstance(error, CLEAN_LOSS):
                raise AssertionError(f"{name} failed uncleanly") from error
        # Freeze first → the approval finds a frozen case; approve first → the freeze follows.
        assert "freeze" not in failed, (round_no, failed)
        case.refresh_from_db()
        assert case.state == CaseState.ACCOUNT_FROZEN
        events = [e for e in decision_events(case) if e.seq > seq_before]
        types = [e.event_type for e in events]
        assert types in ([EventType.APPROVED, EventType.FROZEN], [EventType.FROZEN]), types
        assert (EventType.APPROVED in types) == ("approve" not in failed)
        assert case.event_seq == seq_before + len(events)
        assert_chain_intact(case)
