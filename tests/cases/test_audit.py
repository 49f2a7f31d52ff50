"""The audit trail (DESIGN §7, issue 2 §3): events are hash-chained and written in the same
transaction as the change; the database refuses UPDATE and DELETE; `verify_audit_chain` finds
every kind of tampering and names the first broken link. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import io
import itertools
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.utils import timezone

from cases import services
from cases.audit import GENESIS_HASH, chain_keys, event_hash, verify_audit_chains
from cases.db_triggers import (
    audit_triggers_installed,
    drop_audit_triggers,
)
from cases.errors import InvalidInput
from cases.models import AuditTrailImmutable, Case, CaseEvent
from cases.states import ActorType, CaseState, EventType
from tests.factories import approved_case, reviewing_case, submitted_case

EVENTS = CaseEvent._meta.db_table


# --- helpers --------------------------------------------------------------------------------


def verify_ok(*args: str) -> str:
    out = io.StringIO()
    call_command("verify_audit_chain", *args, stdout=out)
    return out.getvalue()


def verify_broken(*args: str) -> str:
    """Run the command, require the non-zero exit (CommandError), return everything it said."""
    out = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("verify_audit_chain", *args, stdout=out)
    return out.getvalue() + "\n" + str(failure.value)


def first_broken(case: Case, seq: int) -> str:
    return f"{case.reference}: first broken link at event #{seq}:"


def raw(sql: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return int(cursor.rowcount)


def raw_insert(event: CaseEvent) -> None:
    """INSERT a row behind the application's back (no record_case_event, no chain head)."""
    columns = [
        "case_id", "seq", "event_type", "actor_type", "actor_user_id", "actor_label",
        "from_state", "to_state", "reason_codes", "message", "data", "file_sha256",
        "created_at", "prev_hash", "hash", "key_id",
    ]  # fmt: skip
    values = [
        event.case_id, event.seq, event.event_type, event.actor_type, event.actor_user_id,
        event.actor_label, event.from_state, event.to_state, json.dumps(event.reason_codes),
        event.message, json.dumps(event.data), event.file_sha256,
        connection.ops.adapt_datetimefield_value(event.created_at), event.prev_hash, event.hash,
        event.key_id,
    ]  # fmt: skip
    placeholders = ", ".join(["%s"] * len(columns))
    raw(f"INSERT INTO {EVENTS} ({', '.join(columns)}) VALUES ({placeholders})", values)


def forged_approval(case: Case, *, prev: CaseEvent, actor: Any) -> CaseEvent:
    """An 'approved' event that looks like the application wrote it, chained to `prev` (hashed
    with the real chain key: the forger is assumed to hold it, the worst case)."""
    event = CaseEvent(
        case=case,
        seq=prev.seq + 1,
        event_type=EventType.APPROVED,
        actor_type=ActorType.USER,
        actor_user=actor,
        actor_label=actor.email,
        from_state=CaseState.REVIEWING,
        to_state=CaseState.APPROVED,
        reason_codes=[],
        message="",
        data={},
        file_sha256="",
        created_at=prev.created_at + timedelta(minutes=1),
        prev_hash=prev.hash,
        key_id=next(iter(chain_keys())),
    )
    event.hash = event_hash(event, case_uuid=str(case.uuid), prev_hash=prev.hash)
    return event


@pytest.fixture
def two_cases(applicant: Any, other_applicant: Any, reviewer: Any) -> tuple[Case, Case]:
    """A case under review (created, two uploads, submitted, claimed) and a submitted one."""
    first = reviewing_case(applicant, reviewer)
    second = submitted_case(other_applicant)
    assert first.event_seq >= 5
    assert second.event_seq >= 4
    return first, second


@pytest.fixture
def no_triggers(db: None) -> Iterator[None]:
    """Drop the append-only triggers inside the test's transaction; its rollback restores them."""
    drop_audit_triggers(connection)
    assert not audit_triggers_installed(connection)
    yield


def events_of(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case).order_by("seq"))


# --- the chain ------------------------------------------------------------------------------


def test_each_event_links_to_the_one_before_and_seq_runs_from_one(
    applicant: Any, reviewer: Any
) -> None:
    case = approved_case(applicant, reviewer)
    events = events_of(case)

    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == GENESIS_HASH
    for before, event in itertools.pairwise(events):
        assert event.prev_hash == before.hash
    for event in events:
        assert event.hash == event_hash(event, case_uuid=str(case.uuid), prev_hash=event.prev_hash)
    assert len({e.hash for e in events}) == len(events)
    case.refresh_from_db()
    assert (case.event_seq, case.event_head) == (len(events), events[-1].hash)
    assert [e.event_type for e in events][-1] == EventType.APPROVED


def test_an_untouched_database_verifies_with_exit_status_zero(
    two_cases: tuple[Case, Case],
) -> None:
    first, second = two_cases
    report = verify_audit_chains()
    assert report.ok
    assert (report.cases_checked, report.events_checked) == (2, first.event_seq + second.event_seq)

    output = verify_ok()
    assert f"Checked 2 cases, {first.event_seq + second.event_seq} events: 0 broken chains" in (
        output
    )
    assert "first broken link" not in output


def test_verify_one_case_by_reference_or_uuid(two_cases: tuple[Case, Case]) -> None:
    first, _second = two_cases
    for given in (str(first), str(first).lower(), str(first.uuid)):
        output = verify_ok("--case", given)
        assert f"Checked 1 case, {first.event_seq} events: 0 broken chains" in output


def test_an_unknown_case_is_a_clear_error(two_cases: tuple[Case, Case]) -> None:
    for given in ("KYC-1999-999999", str(uuid.uuid4())):
        with pytest.raises(CommandError, match="No case has the reference or id"):
            call_command("verify_audit_chain", "--case", given, stdout=io.StringIO())


# --- tampering is detected (triggers dropped) -----------------------------------------------


def test_an_edited_message_breaks_the_chain_at_that_event(
    two_cases: tuple[Case, Case], no_triggers: None
) -> None:
    first, second = two_cases
    assert raw(f"UPDATE {EVENTS} SET message = %s WHERE case_id = %s AND seq = 3", [
        "nothing to see here", first.pk,
    ]) == 1  # fmt: skip

    output = verify_broken()
    assert first_broken(first, 3) in output
    assert "altered" in output
    assert "1 broken chain" in output
    assert str(second) not in output


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("event_type", EventType.APPROVED.value),
        ("actor_type", ActorType.SYSTEM.value),
        ("actor_label", "someone-else@example.com"),
        ("from_state", CaseState.CLOSED.value),
        ("to_state", CaseState.APPROVED.value),
        ("reason_codes", json.dumps(["DOC_FORGED"])),
        ("data", json.dumps({"slot": "selfie"})),
        ("file_sha256", "0" * 64),
        ("prev_hash", "1" * 64),
        ("hash", "2" * 64),
    ],
)
def test_editing_any_recorded_field_breaks_the_chain(
    two_cases: tuple[Case, Case], no_triggers: None, column: str, value: str
) -> None:
    first, _second = two_cases
    raw(f"UPDATE {EVENTS} SET {column} = %s WHERE case_id = %s AND seq = 2", [value, first.pk])
    assert first_broken(first, 2) in verify_broken()


def test_an_edited_time_or_actor_breaks_the_chain(
    two_cases: tuple[Case, Case], no_triggers: None, other_reviewer: Any
) -> None:
    first, second = two_cases
    event = CaseEvent.objects.get(case=first, seq=4)
    moved = connection.ops.adapt_datetimefield_value(event.created_at - timedelta(hours=3))
    raw(f"UPDATE {EVENTS} SET created_at = %s WHERE id = %s", [moved, event.pk])
    raw(f"UPDATE {EVENTS} SET actor_user_id = %s WHERE case_id = %s AND seq = 2", [
        other_reviewer.pk, second.pk,
    ])  # fmt: skip

    output = verify_broken()
    assert first_broken(first, 4) in output
    assert first_broken(second, 2) in output
    assert "2 broken chains" in output


def test_a_deleted_middle_event_breaks_the_chain_where_it_was(
    two_cases: tuple[Case, Case], no_triggers: None
) -> None:
    first, _second = two_cases
    assert raw(f"DELETE FROM {EVENTS} WHERE case_id = %s AND seq = 3", [first.pk]) == 1

    output = verify_broken()
    assert first_broken(first, 3) in output
    assert "missing" in output


def test_a_deleted_last_event_breaks_the_chain_at_its_end(
    two_cases: tuple[Case, Case], no_triggers: None
) -> None:
    first, _second = two_cases
    last = first.event_seq
    assert raw(f"DELETE FROM {EVENTS} WHERE case_id = %s AND seq = %s", [first.pk, last]) == 1

    assert first_broken(first, last) in verify_broken()


def test_deleting_every_event_of_a_case_is_detected(
    two_cases: tuple[Case, Case], no_triggers: None
) -> None:
    _first, second = two_cases
    # The outbox rows point at the events; a thorough tamperer removes them too.
    raw(
        f"DELETE FROM cases_notification WHERE event_id IN "
        f"(SELECT id FROM {EVENTS} WHERE case_id = %s)",
        [second.pk],
    )
    raw(f"DELETE FROM {EVENTS} WHERE case_id = %s", [second.pk])

    assert first_broken(second, 1) in verify_broken()


def test_an_inserted_event_with_a_correctly_computed_hash_is_detected(
    two_cases: tuple[Case, Case], no_triggers: None, reviewer: Any
) -> None:
    first, _second = two_cases
    last = events_of(first)[-1]
    forged = forged_approval(first, prev=last, actor=reviewer)
    raw_insert(forged)

    # The forged event chains perfectly onto the last one; only the case's head betrays it.
    output = verify_broken()
    assert first_broken(first, last.seq + 1) in output
    assert "outside the application" in output


def test_an_inserted_event_with_a_bad_hash_is_detected(
    two_cases: tuple[Case, Case], no_triggers: None, reviewer: Any
) -> None:
    first, _second = two_cases
    last = events_of(first)[-1]
    forged = forged_approval(first, prev=last, actor=reviewer)
    forged.hash = "f" * 64
    raw_insert(forged)

    output = verify_broken()
    assert first_broken(first, last.seq + 1) in output
    assert "altered" in output


def test_an_event_inserted_into_the_middle_is_detected(
    two_cases: tuple[Case, Case], no_triggers: None, reviewer: Any
) -> None:
    first, _second = two_cases
    # Make room for a new #3 by renumbering the tail, then slip a forged event in.
    raw(f"UPDATE {EVENTS} SET seq = seq + 100 WHERE case_id = %s AND seq >= 3", [first.pk])
    forged = forged_approval(first, prev=events_of(first)[1], actor=reviewer)
    raw_insert(forged)

    assert first_broken(first, 4) in verify_broken()


def test_a_rewritten_and_rehashed_last_event_is_named(
    two_cases: tuple[Case, Case], no_triggers: None, reviewer: Any
) -> None:
    first, _second = two_cases
    events = events_of(first)
    last = events[-1]
    forged = forged_approval(first, prev=events[-2], actor=reviewer)
    raw(f"DELETE FROM {EVENTS} WHERE id = %s", [last.pk])
    raw_insert(forged)

    assert first_broken(first, last.seq) in verify_broken()


def test_verify_one_case_checks_only_that_case(
    two_cases: tuple[Case, Case], no_triggers: None
) -> None:
    first, second = two_cases
    raw(f"UPDATE {EVENTS} SET message = 'x' WHERE case_id = %s AND seq = 1", [second.pk])

    output = verify_ok("--case", str(first))
    assert "Checked 1 case" in output
    assert "0 broken chains" in output

    output = verify_broken("--case", str(second.uuid))
    assert first_broken(second, 1) in output
    assert str(first) not in output


def test_the_command_line_exits_with_status_one_when_a_chain_is_broken(
    two_cases: tuple[Case, Case], no_triggers: None, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _second = two_cases
    raw(f"DELETE FROM {EVENTS} WHERE case_id = %s AND seq = 2", [first.pk])

    with pytest.raises(SystemExit) as exit_:
        execute_from_command_line(["manage.py", "verify_audit_chain"])

    assert exit_.value.code == 1
    captured = capsys.readouterr()
    assert first_broken(first, 2) in captured.out
    assert "audit chain is broken" in captured.err


# --- the table refuses change (triggers in place) -------------------------------------------


def test_the_append_only_triggers_are_installed(db: None) -> None:
    assert audit_triggers_installed(connection)


def test_the_orm_refuses_to_change_or_delete_an_event(two_cases: tuple[Case, Case]) -> None:
    first, _second = two_cases
    event = CaseEvent.objects.get(case=first, seq=2)
    before = (event.message, event.hash)

    event.message = "rewritten"
    with pytest.raises(AuditTrailImmutable):
        event.save()
    with pytest.raises(AuditTrailImmutable):
        event.delete()
    with pytest.raises(AuditTrailImmutable):
        CaseEvent.objects.filter(pk=event.pk).update(message="rewritten")
    with pytest.raises(AuditTrailImmutable):
        CaseEvent.objects.filter(case=first).delete()
    with pytest.raises(AuditTrailImmutable):
        first.events.update(message="rewritten")
    # bulk_update runs in an atomic block without a savepoint: give it one of its own.
    with pytest.raises(AuditTrailImmutable), transaction.atomic():
        CaseEvent.objects.bulk_update([event], ["message"])

    fresh = CaseEvent.objects.get(pk=event.pk)
    assert (fresh.message, fresh.hash) == before
    assert CaseEvent.objects.filter(case=first).count() == first.event_seq
    assert verify_audit_chains().ok


def test_the_database_refuses_what_slips_past_the_orm(two_cases: tuple[Case, Case]) -> None:
    first, _second = two_cases
    count = CaseEvent.objects.count()
    # _raw_delete skips the queryset's guard and goes straight to SQL: only the trigger stops it.
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        CaseEvent.objects.filter(case=first)._raw_delete(connection.alias)
    assert CaseEvent.objects.count() == count


@pytest.mark.parametrize(
    "sql",
    [
        f"UPDATE {EVENTS} SET message = 'rewritten' WHERE seq = 2",
        f"UPDATE {EVENTS} SET hash = prev_hash",
        f"DELETE FROM {EVENTS} WHERE seq = 3",
        f"DELETE FROM {EVENTS}",
    ],
)
def test_raw_sql_update_and_delete_are_refused(two_cases: tuple[Case, Case], sql: str) -> None:
    snapshot = list(CaseEvent.objects.order_by("pk").values_list("pk", "message", "hash"))

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(sql)

    assert list(CaseEvent.objects.order_by("pk").values_list("pk", "message", "hash")) == snapshot
    assert verify_audit_chains().ok


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="TRUNCATE is PostgreSQL's")
def test_truncate_is_refused_on_postgresql(two_cases: tuple[Case, Case]) -> None:
    # Run the deferred foreign-key checks of this test's inserts now: PostgreSQL refuses to
    # TRUNCATE a table with pending trigger events, which would hide what we test.
    raw("SET CONSTRAINTS ALL IMMEDIATE")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        # With every table that references the events, so only the trigger can refuse.
        raw(f"TRUNCATE {EVENTS}, cases_notification, cases_webhookdelivery, cases_webhookattempt")


# --- one transaction with the change --------------------------------------------------------


class Boom(Exception):
    pass


def test_a_change_rolled_back_after_the_service_leaves_no_event(
    applicant: Any, reviewer: Any
) -> None:
    case = submitted_case(applicant)
    seq_before = case.event_seq

    with pytest.raises(Boom), transaction.atomic():
        services.case_claim(case=case, actor=reviewer)
        assert CaseEvent.objects.filter(case=case).count() == seq_before + 1
        raise Boom

    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.SUBMITTED
    assert case.assignee is None
    assert case.event_seq == seq_before
    assert CaseEvent.objects.filter(case=case).count() == seq_before
    assert verify_audit_chains(case=case).ok


def test_a_failure_while_writing_the_event_undoes_the_state_change(
    applicant: Any, reviewer: Any
) -> None:
    """The transition and save succeed, then the event INSERT fails: nothing may persist."""
    case = submitted_case(applicant)
    seq_before = case.event_seq
    # Occupy the next sequence number (INSERT is allowed), so record_case_event's insert fails.
    squatter = forged_approval(case, prev=events_of(case)[-1], actor=reviewer)
    raw_insert(squatter)

    with pytest.raises(IntegrityError):
        services.case_claim(case=case, actor=reviewer)

    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.SUBMITTED
    assert case.assignee is None
    assert case.event_seq == seq_before
    assert list(
        CaseEvent.objects.filter(case=case, seq__gt=seq_before).values_list("hash", flat=True)
    ) == [squatter.hash]


def test_a_refused_service_call_records_nothing(applicant: Any, reviewer: Any) -> None:
    case = reviewing_case(applicant, reviewer)
    seq_before = case.event_seq

    with pytest.raises(InvalidInput, match="Unknown reason code"):
        services.case_reject(case=case, actor=reviewer, reason_codes=["NO_SUCH_REASON"])

    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.REVIEWING
    assert case.event_seq == seq_before == CaseEvent.objects.filter(case=case).count()


def test_events_commit_with_the_change_in_a_real_transaction(
    committed_db: None, applicant: Any, reviewer: Any
) -> None:
    case = submitted_case(applicant)
    services.case_claim(case=case, actor=reviewer)

    case = Case.objects.get(pk=case.pk)
    last = CaseEvent.objects.get(case=case, seq=case.event_seq)
    assert (last.event_type, last.to_state, last.actor_user_id) == (
        EventType.CLAIMED,
        CaseState.REVIEWING,
        reviewer.pk,
    )
    assert last.created_at <= timezone.now()
    assert audit_triggers_installed(connection)
    assert verify_ok("--case", str(case)).count("0 broken chains") == 1
