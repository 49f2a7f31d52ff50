"""Every transition of DESIGN §3, per role: allowed ones record exactly one event with the right
from/to/actor/reasons; forbidden ones raise a clear error and record nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from accounts.models import User
from cases import services
from cases.actors import SYSTEM, IntegrationActor
from cases.errors import (
    CaseActionError,
    FourEyesConflict,
    InvalidInput,
    InvalidState,
    NotPermitted,
)
from cases.models import Case, CaseEvent, DecisionProposal
from cases.states import CaseState, EventType, ProgramCode, ProposalStatus, Slot, Verdict
from tests.factories import accept_all, draft_case, reviewing_case, submitted_case, upload
from tests.helpers import fresh

S = CaseState
WALLET = IntegrationActor("wallet")


@dataclass
class People:
    applicant: Any
    other_applicant: Any
    reviewer: Any
    other_reviewer: Any
    senior: Any
    supervisor: Any
    other_supervisor: Any
    auditor: Any

    def get(self, name: str) -> Any:
        return {"system": SYSTEM, "integration": WALLET}.get(name) or getattr(self, name)


@pytest.fixture
def people(
    applicant: User,
    other_applicant: User,
    reviewer: User,
    other_reviewer: User,
    senior: User,
    supervisor: User,
    other_supervisor: User,
    auditor: User,
) -> People:
    return People(
        applicant,
        other_applicant,
        reviewer,
        other_reviewer,
        senior,
        supervisor,
        other_supervisor,
        auditor,
    )


# --- cases in each state, built through the services -----------------------------------------


def in_draft(p: People) -> Case:
    return draft_case(p.applicant)


def in_submitted(p: People) -> Case:
    return submitted_case(p.applicant)


def in_reviewing(p: People) -> Case:
    return accept_all(reviewing_case(p.applicant, p.reviewer), p.reviewer)


def in_needs_materials(p: People, *, renewed: bool = True) -> Case:
    case = reviewing_case(p.applicant, p.reviewer)
    services.case_request_materials(
        case=case,
        actor=p.reviewer,
        reason_codes=["DOC_UNREADABLE"],
        slots=[Slot.ID_FRONT],
        message="The photo is blurred.",
    )
    if renewed:
        upload(fresh(case), Slot.ID_FRONT, colour="#112233")
    return fresh(case)


def in_approved(p: People) -> Case:
    case = in_reviewing(p)
    services.case_approve(case=case, actor=p.reviewer)
    return fresh(case)


def in_rejected(p: People, *, renewed: bool = True) -> Case:
    case = reviewing_case(p.applicant, p.reviewer)
    services.case_reject(case=case, actor=p.reviewer, reason_codes=["INFO_MISMATCH"])
    case = fresh(case)
    if renewed:
        services.case_update_declared_data(
            case=case, actor=p.applicant, declared={"full_name": "张三丰"}
        )
        upload(fresh(case), Slot.ID_FRONT, colour="#445566")
    return fresh(case)


def in_frozen(p: People) -> Case:
    case = in_submitted(p)
    services.case_freeze(case=case, actor=p.supervisor, reason_code="INFO_TAMPERED")
    return fresh(case)


def in_closed(p: People) -> Case:
    case = in_approved(p)
    services.case_close(case=case, actor=p.applicant, reason_code="CLOSURE_REQUESTED")
    return fresh(case)


BUILDERS: dict[str, Callable[[People], Case]] = {
    S.DRAFT: in_draft,
    S.SUBMITTED: in_submitted,
    S.REVIEWING: in_reviewing,
    S.NEEDS_MATERIALS: in_needs_materials,
    S.APPROVED: in_approved,
    S.REJECTED: in_rejected,
    S.ACCOUNT_FROZEN: in_frozen,
    S.CLOSED: in_closed,
}

# --- the actions ------------------------------------------------------------------------------

FREEZE_REASON = {
    "applicant": "THEFT_REPORTED",
    "reviewer": "DOC_FORGED",
    "supervisor": "SUSPICIOUS_BEHAVIOUR",
    "system": "INFO_TAMPERED",
    "integration": "INFO_TAMPERED",
}
CLOSE_REASON = {"applicant": "CLOSURE_REQUESTED", "system": "APPLICANT_NO_RESPONSE"}


def act(action: str, case: Case, actor_name: str, p: People) -> CaseEvent:
    actor = p.get(actor_name)
    calls: dict[str, Callable[[], CaseEvent]] = {
        "submit": lambda: services.case_submit(case=case, actor=actor),
        "claim": lambda: services.case_claim(case=case, actor=actor),
        "assign": lambda: services.case_assign(case=case, actor=actor, reviewer=p.other_reviewer),
        "release": lambda: services.case_release(case=case, actor=actor, reason="Out sick"),
        "request_materials": lambda: services.case_request_materials(
            case=case,
            actor=actor,
            reason_codes=["DOC_UNREADABLE"],
            slots=[Slot.ID_BACK],
            message="Glare on the back.",
        ),
        "resubmit": lambda: services.case_resubmit(case=case, actor=actor),
        "approve": lambda: services.case_approve(case=case, actor=actor),
        "reject": lambda: services.case_reject(
            case=case, actor=actor, reason_codes=["DOC_EXPIRED"], slots=[Slot.ID_FRONT]
        ),
        "reapply": lambda: services.case_reapply(case=case, actor=actor),
        "freeze": lambda: services.case_freeze(
            case=case, actor=actor, reason_code=FREEZE_REASON.get(actor_name, "INFO_TAMPERED")
        ),
        "unfreeze": lambda: services.case_unfreeze(
            case=case, actor=actor, reason_code="OWNER_VERIFIED", note="Called the owner back."
        ),
        "close": lambda: services.case_close(
            case=case, actor=actor, reason_code=CLOSE_REASON.get(actor_name, "SUPERVISOR_CLOSED")
        ),
    }
    return calls[action]()


# action: (source state used, target state, event type, reason codes recorded)
ACTIONS: dict[str, tuple[str, str, str, list[str]]] = {
    "submit": (S.DRAFT, S.SUBMITTED, EventType.SUBMITTED, []),
    "claim": (S.SUBMITTED, S.REVIEWING, EventType.CLAIMED, []),
    "assign": (S.SUBMITTED, S.REVIEWING, EventType.ASSIGNED, []),
    "release": (S.REVIEWING, S.SUBMITTED, EventType.RELEASED, []),
    "request_materials": (
        S.REVIEWING,
        S.NEEDS_MATERIALS,
        EventType.MATERIALS_REQUESTED,
        ["DOC_UNREADABLE"],
    ),
    "resubmit": (S.NEEDS_MATERIALS, S.SUBMITTED, EventType.RESUBMITTED, []),
    "approve": (S.REVIEWING, S.APPROVED, EventType.APPROVED, []),
    "reject": (S.REVIEWING, S.REJECTED, EventType.REJECTED, ["DOC_EXPIRED"]),
    "reapply": (S.REJECTED, S.SUBMITTED, EventType.REAPPLIED, []),
    "freeze": (S.REVIEWING, S.ACCOUNT_FROZEN, EventType.FROZEN, ["<freeze>"]),
    # Every unfreeze is four-eyes: the first signature is a proposal, the state stays.
    "unfreeze": (
        S.ACCOUNT_FROZEN,
        S.ACCOUNT_FROZEN,
        EventType.DECISION_PROPOSED,
        ["OWNER_VERIFIED"],
    ),
    "close": (S.APPROVED, S.CLOSED, EventType.CLOSED, ["<close>"]),
}

ALL_ACTORS = (
    "applicant",
    "other_applicant",
    "reviewer",
    "other_reviewer",
    "senior",
    "supervisor",
    "auditor",
    "system",
    "integration",
)
ALLOWED: dict[str, set[str]] = {
    "submit": {"applicant"},
    "claim": {"reviewer", "other_reviewer", "senior", "supervisor"},
    "assign": {"supervisor"},
    "release": {"reviewer", "supervisor", "system"},  # reviewer is the assignee
    "request_materials": {"reviewer"},
    "resubmit": {"applicant"},
    "approve": {"reviewer"},
    "reject": {"reviewer"},
    "reapply": {"applicant"},
    "freeze": {"applicant", "reviewer", "supervisor", "system"},
    "unfreeze": {"supervisor"},
    "close": {"applicant", "supervisor"},
}

MATRIX = [(action, actor, actor in ALLOWED[action]) for action in ACTIONS for actor in ALL_ACTORS]


@pytest.mark.parametrize(("action", "actor_name", "allowed"), MATRIX)
def test_transition_per_role(people: People, action: str, actor_name: str, allowed: bool) -> None:
    source, target, event_type, reasons = ACTIONS[action]
    case = BUILDERS[source](people)
    before = case.events.count()

    if not allowed:
        with pytest.raises(NotPermitted) as excinfo:
            act(action, case, actor_name, people)
        assert "not allowed" in excinfo.value.message
        assert fresh(case).state == source
        assert fresh(case).events.count() == before
        return

    event = act(action, case, actor_name, people)
    case = fresh(case)
    assert case.state == target
    assert case.events.count() == before + 1
    assert (event.event_type, event.from_state, event.to_state) == (event_type, source, target)
    expected_label = (
        people.get(actor_name).name
        if actor_name in ("system", "integration")
        else (people.get(actor_name).email)
    )
    assert event.actor_label == expected_label
    expected_reasons = {
        "<freeze>": [FREEZE_REASON.get(actor_name, "")],
        "<close>": [CLOSE_REASON.get(actor_name, "SUPERVISOR_CLOSED")],
    }
    wanted = [code for r in reasons for code in expected_reasons.get(r, [r])]
    assert event.reason_codes == wanted


SOURCES = {
    "submit": {S.DRAFT},
    "claim": {S.SUBMITTED},
    "assign": {S.SUBMITTED, S.REVIEWING},
    "release": {S.REVIEWING},
    "request_materials": {S.REVIEWING},
    "resubmit": {S.NEEDS_MATERIALS},
    "approve": {S.REVIEWING},
    "reject": {S.REVIEWING},
    "reapply": {S.REJECTED},
    "freeze": {S.SUBMITTED, S.REVIEWING, S.NEEDS_MATERIALS, S.APPROVED, S.REJECTED},
    "unfreeze": {S.ACCOUNT_FROZEN},
    "close": {S.APPROVED, S.REJECTED, S.NEEDS_MATERIALS, S.ACCOUNT_FROZEN},
}
# The actor that would be allowed if the state were right.
CAPABLE = {
    "submit": "applicant",
    "claim": "reviewer",
    "assign": "supervisor",
    "release": "supervisor",
    "request_materials": "reviewer",
    "resubmit": "applicant",
    "approve": "reviewer",
    "reject": "reviewer",
    "reapply": "applicant",
    "freeze": "supervisor",
    "unfreeze": "supervisor",
    "close": "supervisor",
}
WRONG_STATE = [
    (action, state) for action in ACTIONS for state in BUILDERS if state not in SOURCES[action]
]


@pytest.mark.parametrize(("action", "state"), WRONG_STATE)
def test_transition_from_a_wrong_state_is_refused(people: People, action: str, state: str) -> None:
    case = BUILDERS[state](people)
    before = case.events.count()
    with pytest.raises(InvalidState) as excinfo:
        act(action, case, CAPABLE[action], people)
    assert "cannot be" in excinfo.value.message or "cannot" in excinfo.value.message
    assert fresh(case).state == state
    assert fresh(case).events.count() == before


def test_closed_accepts_nothing(people: People) -> None:
    case = in_closed(people)
    before = case.events.count()
    for action in ACTIONS:
        for actor_name in ALL_ACTORS:
            with pytest.raises(CaseActionError):
                act(action, fresh(case), actor_name, people)
    with pytest.raises(CaseActionError):
        upload(fresh(case), Slot.ID_FRONT)
    assert fresh(case).state == S.CLOSED
    assert fresh(case).events.count() == before


def test_only_the_assignee_decides(people: People) -> None:
    case = in_reviewing(people)
    for name in ("other_reviewer", "senior", "supervisor"):
        for action in ("approve", "reject", "request_materials"):
            with pytest.raises(NotPermitted):
                act(action, fresh(case), name, people)
    assert fresh(case).state == S.REVIEWING


# --- conditions -------------------------------------------------------------------------------


def test_submit_needs_every_required_slot(people: People) -> None:
    case = services.case_create(
        program=draft_case(people.applicant).program,
        applicant=people.applicant,
        actor=people.applicant,
        declared={"full_name": "张三", "id_number": "11010519491231002X", "phone": "13800138000"},
    )
    upload(case, Slot.ID_FRONT)
    with pytest.raises(InvalidInput) as excinfo:
        services.case_submit(case=fresh(case), actor=people.applicant)
    assert excinfo.value.field_errors["slots"] == [Slot.ID_BACK]
    assert fresh(case).state == S.DRAFT


def test_approve_needs_every_current_document_accepted(people: People) -> None:
    case = reviewing_case(people.applicant, people.reviewer)
    first = case.current_documents()[0]
    services.document_set_verdict(document=first, actor=people.reviewer, verdict=Verdict.ACCEPTED)
    before = fresh(case).events.count()
    with pytest.raises(InvalidInput) as excinfo:
        services.case_approve(case=fresh(case), actor=people.reviewer)
    assert "Accept every current document" in excinfo.value.message
    assert fresh(case).events.count() == before


def test_resubmit_needs_a_new_version_of_every_requested_item(people: People) -> None:
    case = in_needs_materials(people, renewed=False)
    before = case.events.count()
    with pytest.raises(InvalidInput) as excinfo:
        services.case_resubmit(case=case, actor=people.applicant)
    assert excinfo.value.field_errors["slots"] == [Slot.ID_FRONT]
    assert fresh(case).events.count() == before
    upload(fresh(case), Slot.ID_FRONT)
    services.case_resubmit(case=fresh(case), actor=people.applicant)
    case = fresh(case)
    assert case.state == S.SUBMITTED
    assert case.resubmitted
    assert case.preferred_reviewer == people.reviewer


def test_a_new_upload_never_overwrites_the_old_version(people: People) -> None:
    case = in_needs_materials(people)
    versions = list(case.documents.filter(slot=Slot.ID_FRONT).order_by("version"))
    assert [d.version for d in versions] == [1, 2]
    assert versions[0].sha256 != versions[1].sha256
    assert versions[0].file.read() != versions[1].file.read()


def test_reapply_only_when_every_reason_is_retryable(people: People) -> None:
    case = reviewing_case(people.applicant, people.reviewer)
    services.case_reject(
        case=case, actor=people.reviewer, reason_codes=["INFO_MISMATCH", "CREDIT_SCORE_LOW"]
    )
    case = fresh(case)
    assert not case.rejection_retryable
    assert case.may_apply_again_after is not None
    with pytest.raises(InvalidState) as excinfo:
        services.case_reapply(case=case, actor=people.applicant)
    assert "final" in excinfo.value.message


def test_reapply_needs_the_re_requested_items(people: People) -> None:
    case = in_rejected(people, renewed=False)
    with pytest.raises(InvalidInput) as excinfo:
        services.case_reapply(case=case, actor=people.applicant)
    assert set(excinfo.value.field_errors["slots"]) == {Slot.DECLARED_DATA, Slot.ID_FRONT}


def test_reapply_stops_at_the_attempt_limit(people: People) -> None:
    case = reviewing_case(people.applicant, people.reviewer)
    limit = case.program.attempt_limit
    for attempt in range(1, limit + 1):
        assert fresh(case).attempt == attempt
        services.case_reject(
            case=fresh(case),
            actor=people.reviewer,
            reason_codes=["DOC_EXPIRED"],
            slots=[Slot.ID_FRONT],
        )
        upload(fresh(case), Slot.ID_FRONT, colour=f"#0000{attempt:02d}")
        if attempt < limit:
            services.case_reapply(case=fresh(case), actor=people.applicant)
            services.case_claim(case=fresh(case), actor=people.reviewer)
    before = fresh(case).events.count()
    with pytest.raises(InvalidState) as excinfo:
        services.case_reapply(case=fresh(case), actor=people.applicant)
    assert "attempts" in excinfo.value.message
    assert fresh(case).attempt == limit
    assert fresh(case).events.count() == before


def test_reasons_that_do_not_count_leave_the_attempt_alone(people: People) -> None:
    case = reviewing_case(people.applicant, people.reviewer)
    services.case_reject(case=case, actor=people.reviewer, reason_codes=["SYSTEM_FAILURE"])
    services.case_reapply(case=fresh(case), actor=people.applicant)
    assert fresh(case).attempt == 1


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (
            lambda c, p: services.case_reject(case=c, actor=p.reviewer, reason_codes=[]),
            "reason_codes",
        ),
        (
            lambda c, p: services.case_reject(case=c, actor=p.reviewer, reason_codes=["NOPE"]),
            "reason_codes",
        ),
        (
            lambda c, p: services.case_reject(
                case=c, actor=p.reviewer, reason_codes=["THEFT_REPORTED"]
            ),
            "reason_codes",
        ),
        (
            lambda c, p: services.case_request_materials(
                case=c, actor=p.reviewer, reason_codes=[], message="x"
            ),
            "reason_codes",
        ),
        (
            lambda c, p: services.case_request_materials(
                case=c,
                actor=p.reviewer,
                reason_codes=["DOC_UNREADABLE"],
                slots=[Slot.ID_FRONT],
                message="  ",
            ),
            "message",
        ),
        (
            lambda c, p: services.case_request_materials(
                case=c, actor=p.reviewer, reason_codes=["DOC_UNREADABLE"], slots=[], message="x"
            ),
            "slots",
        ),
        (
            lambda c, p: services.case_request_materials(
                case=c,
                actor=p.reviewer,
                reason_codes=["DOC_UNREADABLE"],
                slots=[Slot.BUSINESS_LICENCE],
                message="x",
            ),
            "slots",
        ),
        (lambda c, p: services.case_release(case=c, actor=p.reviewer, reason=""), "reason"),
        (
            lambda c, p: services.case_freeze(case=c, actor=p.reviewer, reason_code=""),
            "reason_codes",
        ),
    ],
)
def test_a_decision_without_a_valid_reason_changes_nothing(
    people: People, call: Any, field: str
) -> None:
    case = in_reviewing(people)
    before = case.events.count()
    with pytest.raises(InvalidInput) as excinfo:
        call(case, people)
    assert field in excinfo.value.field_errors
    assert excinfo.value.message
    case = fresh(case)
    assert case.state == S.REVIEWING
    assert case.events.count() == before
    assert not case.material_requests.exists()


def test_who_may_freeze_with_which_reason(people: People) -> None:
    case = in_reviewing(people)
    with pytest.raises(NotPermitted):  # the applicant can only report theft
        services.case_freeze(case=case, actor=people.applicant, reason_code="DOC_FORGED")
    with pytest.raises(NotPermitted):  # the assignee freezes for fraud only
        services.case_freeze(case=case, actor=people.reviewer, reason_code="INFO_TAMPERED")
    with pytest.raises(NotPermitted):  # the applicant closes only by asking for closure
        services.case_close(
            case=in_approved(people), actor=people.applicant, reason_code="SUPERVISOR_CLOSED"
        )
    assert fresh(case).state == S.REVIEWING


# --- four-eyes --------------------------------------------------------------------------------


def business_case_ready(p: People) -> Case:
    case = reviewing_case(p.applicant, p.reviewer, program=ProgramCode.BUSINESS)
    return accept_all(case, p.reviewer)


def test_business_approval_needs_a_second_signature(people: People) -> None:
    case = business_case_ready(people)
    proposal_event = services.case_approve(case=case, actor=people.reviewer)
    assert proposal_event.event_type == EventType.DECISION_PROPOSED
    assert fresh(case).state == S.REVIEWING

    event = services.case_countersign(case=fresh(case), actor=people.senior)
    case = fresh(case)
    assert case.state == S.APPROVED
    assert event.event_type == EventType.APPROVED
    assert event.actor_user == people.senior
    assert event.data["maker"] == people.reviewer.pk
    assert event.data["checker"] == people.senior.pk
    proposal = DecisionProposal.objects.get(case=case)
    assert proposal.status == ProposalStatus.COUNTERSIGNED


def test_the_maker_cannot_countersign(people: People) -> None:
    senior_case = reviewing_case(people.applicant, people.senior, program=ProgramCode.BUSINESS)
    senior_case = accept_all(senior_case, people.senior)
    services.case_approve(case=senior_case, actor=people.senior)
    before = fresh(senior_case).events.count()
    with pytest.raises(FourEyesConflict) as excinfo:
        services.case_countersign(case=fresh(senior_case), actor=people.senior)
    assert "different person" in excinfo.value.message
    assert fresh(senior_case).state == S.REVIEWING
    assert fresh(senior_case).events.count() == before


def test_a_non_senior_cannot_countersign(people: People) -> None:
    case = business_case_ready(people)
    services.case_approve(case=case, actor=people.reviewer)
    before = fresh(case).events.count()
    for name in ("other_reviewer", "auditor", "applicant", "system"):
        with pytest.raises(NotPermitted):
            services.case_countersign(case=fresh(case), actor=people.get(name))
    assert fresh(case).events.count() == before


def test_send_back_returns_the_case_to_the_maker(people: People) -> None:
    case = business_case_ready(people)
    services.case_approve(case=case, actor=people.reviewer)
    with pytest.raises(InvalidInput):
        services.case_send_back(case=fresh(case), actor=people.senior, note="")
    event = services.case_send_back(case=fresh(case), actor=people.senior, note="Licence is a scan")
    case = fresh(case)
    assert event.event_type == EventType.DECISION_SENT_BACK
    assert case.state == S.REVIEWING
    assert case.assignee == people.reviewer
    assert case.pending_proposal() is None
    # The maker can decide again, e.g. ask for materials.
    services.case_request_materials(
        case=case,
        actor=people.reviewer,
        reason_codes=["LICENSE_INVALID"],
        message="Upload the original licence.",
    )
    assert fresh(case).state == S.NEEDS_MATERIALS


def test_a_pending_proposal_blocks_other_decisions(people: People) -> None:
    case = business_case_ready(people)
    services.case_approve(case=case, actor=people.reviewer)
    with pytest.raises(FourEyesConflict):
        services.case_reject(case=fresh(case), actor=people.reviewer, reason_codes=["DOC_EXPIRED"])
    with pytest.raises(FourEyesConflict):
        services.case_approve(case=fresh(case), actor=people.reviewer)


def test_fraud_rejection_needs_a_second_signature(people: People) -> None:
    case = reviewing_case(people.applicant, people.reviewer)
    services.case_reject(case=case, actor=people.reviewer, reason_codes=["DOC_FORGED"])
    assert fresh(case).state == S.REVIEWING
    event = services.case_countersign(case=fresh(case), actor=people.supervisor)
    case = fresh(case)
    assert case.state == S.REJECTED
    assert event.reason_codes == ["DOC_FORGED"]
    assert not case.rejection_retryable


def test_approval_with_a_device_risk_flag_needs_a_second_signature(people: People) -> None:
    case = accept_all(
        reviewing_case(people.applicant, people.reviewer, device_risk_flags=["rooted"]),
        people.reviewer,
    )
    event = services.case_approve(case=case, actor=people.reviewer)
    assert event.event_type == EventType.DECISION_PROPOSED


def test_unfreeze_needs_a_second_person(people: People) -> None:
    case = in_frozen(people)
    services.case_unfreeze(
        case=case,
        actor=people.supervisor,
        reason_code="OWNER_VERIFIED",
        note="ID checked by video",
        reviewer=people.reviewer,
    )
    with pytest.raises(FourEyesConflict):
        services.case_countersign(case=fresh(case), actor=people.supervisor)
    assert fresh(case).state == S.ACCOUNT_FROZEN
    event = services.case_countersign(case=fresh(case), actor=people.other_supervisor)
    case = fresh(case)
    assert event.event_type == EventType.UNFROZEN
    assert case.state == S.REVIEWING
    assert case.assignee == people.reviewer


def test_freezing_supersedes_a_pending_proposal(people: People) -> None:
    case = business_case_ready(people)
    services.case_approve(case=case, actor=people.reviewer)
    services.case_freeze(
        case=fresh(case), actor=people.supervisor, reason_code="SUSPICIOUS_BEHAVIOUR"
    )
    assert DecisionProposal.objects.get(case=case).status == ProposalStatus.SUPERSEDED
    with pytest.raises(InvalidState):
        services.case_countersign(case=fresh(case), actor=people.senior)


def test_countersigned_approval_still_needs_accepted_documents(people: People) -> None:
    """The checker signs what is true now, not what was true at proposal time."""
    case = business_case_ready(people)
    services.case_approve(case=case, actor=people.reviewer)
    assert fresh(case).state == S.REVIEWING
    # Nothing can change documents while reviewing except verdicts; a verdict back to
    # re-upload makes the countersignature fail cleanly.
    doc = fresh(case).current_documents()[0]
    services.document_set_verdict(
        document=doc,
        actor=people.reviewer,
        verdict=Verdict.REUPLOAD_REQUESTED,
        reason_code="DOC_UNREADABLE",
    )
    before = fresh(case).events.count()
    with pytest.raises(InvalidInput):
        services.case_countersign(case=fresh(case), actor=people.senior)
    assert fresh(case).state == S.REVIEWING
    assert fresh(case).events.count() == before
