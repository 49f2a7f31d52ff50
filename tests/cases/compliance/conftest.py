"""What the compliance tests share: a case that went through every state (one step per business
hour of March 2026), with a snapshot of what the database said after each step."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
import time_machine

from accounts.models import User
from cases import services
from cases.models import Case
from cases.sla.calendar import business_calendar
from cases.sla.selectors import open_clock, remaining
from cases.states import CaseState, Slot
from tests.factories import accept_all, draft_case, upload
from tests.helpers import at, fresh

Snapshot = dict[str, Any]


def snapshot(case: Case, when: datetime) -> Snapshot:
    """What the database says the case is now (at `when`), for the as-of comparison."""
    case = fresh(case)
    request = case.open_material_request()
    clock = open_clock(case)
    documents = {d.slot: (d.version, d.verdict) for d in case.current_documents()}
    return {
        "when": when,
        "state": case.state,
        "assignee": case.assignee_id,
        "documents": documents,
        "request": sorted(request.slots) if request else None,
        "remaining": remaining(clock, now=when, calendar=business_calendar()) if clock else None,
    }


@pytest.fixture
def lived(
    db: None,
    applicant: User,
    reviewer: User,
    senior: User,
    supervisor: User,
    other_supervisor: User,
) -> tuple[Case, list[Snapshot]]:
    """A real-name case through every state, one step per business hour of March 2026, with a
    snapshot after each step."""
    snaps: list[Snapshot] = []
    hours = iter(
        [at(3, d, h) for d in (9, 10, 11, 12, 13, 16, 17, 18) for h in (9, 10, 11, 12, 14, 15, 16)]
    )

    def step(action: Any) -> None:
        when = next(hours)
        with time_machine.travel(when, tick=False):
            action()
        later = when + timedelta(minutes=30)
        with time_machine.travel(later, tick=False):
            snaps.append(snapshot(case, later))

    with time_machine.travel(at(3, 9, 8), tick=False):
        case = draft_case(applicant)
    step(lambda: services.case_submit(case=case, actor=applicant))
    step(lambda: services.case_claim(case=case, actor=reviewer))
    step(
        lambda: services.case_request_materials(
            case=case,
            actor=reviewer,
            reason_codes=["DOC_UNREADABLE"],
            message="Blurred.",
            slots=[Slot.ID_FRONT],
        )
    )
    step(lambda: upload(case, Slot.ID_FRONT, applicant, colour="#112233"))
    step(lambda: services.case_resubmit(case=case, actor=applicant))
    step(lambda: services.case_claim(case=case, actor=reviewer))
    step(
        lambda: services.case_reject(
            case=case, actor=reviewer, reason_codes=["INFO_MISMATCH"], message="Check the name."
        )
    )
    step(
        lambda: services.case_update_declared_data(
            case=case, actor=applicant, declared={"full_name": "张三"}
        )
    )
    step(lambda: upload(case, Slot.ID_FRONT, applicant, colour="#445566"))
    step(lambda: services.case_reapply(case=case, actor=applicant))
    step(lambda: services.case_assign(case=case, actor=supervisor, reviewer=reviewer))
    step(lambda: accept_all(case, reviewer))
    step(lambda: services.case_approve(case=case, actor=reviewer))
    step(lambda: services.case_freeze(case=case, actor=supervisor, reason_code="INFO_TAMPERED"))
    step(
        lambda: services.case_unfreeze(
            case=case, actor=supervisor, reason_code="OWNER_VERIFIED", note="Owner called back."
        )
    )
    step(lambda: services.case_countersign(case=case, actor=other_supervisor, note="Agreed."))
    step(lambda: services.case_release(case=case, actor=supervisor, reason="Back to the queue."))
    step(lambda: services.case_claim(case=case, actor=reviewer))
    step(lambda: services.case_freeze(case=case, actor=supervisor, reason_code="INFO_TAMPERED"))
    step(lambda: services.case_close(case=case, actor=supervisor, reason_code="SUPERVISOR_CLOSED"))
    visited = {snap["state"] for snap in snaps} | {CaseState.DRAFT}
    assert visited == set(CaseState.values), visited
    return fresh(case), snaps
