"""Random sequences of service calls by random actors keep the case invariants (issue 2 §5).

A Hypothesis rule-based state machine opens a few cases of random programs (moved through the
services to a random point of the graph, so that short runs reach decisions), then calls the
services of `cases.services` with random actors and random but plausible arguments: reason codes
from the catalogue whether or not they fit the decision, slots of the program and of other
programs, empty messages. Every call either succeeds or raises a CaseActionError; anything else
fails the test. After every step:

- the number of case events equals the number of successful calls (case_create included), and
  each success wrote exactly one event, on its own case;
- every audit chain verifies;
- a closed case accepts nothing and stays closed;
- no case's attempt exceeds its program's limit;
- no four-eyes decision has the same maker and checker, and every decision that needs two
  signatures (per the program and the catalogue) names two different people;
- a failed call changes nothing: the case row, its documents, requests and proposals, and the row
  counts of every table the services write (checked around each call);
- only a case waiting on the applicant (or frozen while it was) has an open material request.

Each Hypothesis example runs inside its own savepoint of the test's transaction and rolls it back
at teardown, so every example starts from the same users and seeded catalogue.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models import F
from hypothesis import HealthCheck, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from cases import services
from cases.actors import SYSTEM, IntegrationActor
from cases.audit import verify_audit_chains
from cases.errors import CaseActionError
from cases.models import (
    Case,
    CaseEvent,
    DecisionProposal,
    Document,
    MaterialRequest,
    Notification,
    Program,
    ReasonCode,
)
from cases.states import (
    APPLICANT_EDITABLE_STATES,
    CLOSABLE_STATES,
    FILE_SLOTS,
    FREEZABLE_STATES,
    SLOT_KINDS,
    CaseState,
    Decision,
    EventType,
    MaterialKind,
    ProgramCode,
    ProposalStatus,
    Slot,
    Verdict,
)
from tests.factories import VALID_CREDIT_CODE, VALID_ID_NUMBER, declared_for, png_bytes

S = CaseState
WALLET = IntegrationActor("wallet")
MAX_CASES = 3

PEOPLE = (
    "applicant",
    "other_applicant",
    "reviewer",
    "other_reviewer",
    "senior",
    "supervisor",
    "other_supervisor",
    "auditor",
)
ACTORS = (*PEOPLE, "system", "integration")
# Symbolic actors, resolved against the case when the step runs.
ANYONE = (*ACTORS, "assignee", "owner", "maker")
OWNER, ASSIGNEE = ("owner",), ("assignee",)
SUPERVISORS = ("supervisor", "other_supervisor")
SIGNERS = ("senior", *SUPERVISORS)
CHECKERS = (*SIGNERS, "maker")
# Per call: the states in which it exists and who would normally make it. Half of the draws of
# case and actor come from these (as a person working a queue would pick), the other half from
# every case and every actor, so wrong states and wrong people are tried all the time.
PLAUSIBLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "document_upload": (APPLICANT_EDITABLE_STATES, OWNER),
    "case_update_declared_data": (APPLICANT_EDITABLE_STATES, OWNER),
    "case_submit": ((S.DRAFT,), OWNER),
    "case_resubmit": ((S.NEEDS_MATERIALS,), OWNER),
    "case_reapply": ((S.REJECTED,), OWNER),
    "case_claim": ((S.SUBMITTED,), ("reviewer", "other_reviewer", "senior", "supervisor")),
    "case_assign": ((S.SUBMITTED, S.REVIEWING), SUPERVISORS),
    "case_release": ((S.REVIEWING,), (*ASSIGNEE, *SUPERVISORS, "system")),
    "document_set_verdict": ((S.REVIEWING,), ASSIGNEE),
    "case_request_materials": ((S.REVIEWING,), ASSIGNEE),
    "case_approve": ((S.REVIEWING,), ASSIGNEE),
    "case_reject": ((S.REVIEWING,), ASSIGNEE),
    "case_freeze": (FREEZABLE_STATES, (*ASSIGNEE, *OWNER, *SUPERVISORS, "system", "integration")),
    "case_unfreeze": ((S.ACCOUNT_FROZEN,), SUPERVISORS),
    "case_close": (CLOSABLE_STATES, (*OWNER, *SUPERVISORS, "system")),
    # Empty states: the plausible cases are those with a proposal waiting for a signature.
    "case_countersign": ((), CHECKERS),
    "case_send_back": ((), CHECKERS),
}
REVIEWERS = ("reviewer", "other_reviewer", "senior", "supervisor")
# Cases start at one of these points, reached through the services like everything else.
STAGES = (
    "empty",
    "declared",
    "filled",
    "submitted",
    "reviewing",
    "accepted",
    "needs_materials",
    "rejected",
    "approved",
)

MESSAGES = ("", "   ", "Please upload a sharper photo.", "请在光线充足处重新拍摄。")
NOTES = ("", "Checked against the wallet profile.", "已电话核实本人。")
# Besides the catalogue: nothing, something unknown, and a known code written in lower case.
ODD_REASON_CODES = ("", "NOT_IN_CATALOGUE", "doc_unreadable")

DECLARED_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "full_name": st.sampled_from(["张三", "Li Si", ""]),
        "id_number": st.sampled_from(
            [VALID_ID_NUMBER, " 11010519491231002x ", "110105194912310021", ""]
        ),
        "phone": st.sampled_from(["13800138000", "+86 139 0000 0000", ""]),
        "company_name": st.sampled_from(["示例科技有限公司", ""]),
        "credit_code": st.sampled_from([VALID_CREDIT_CODE, "91350100M000100Y4X", ""]),
        "contact_email": st.sampled_from(["finance@example.com", ""]),
        "credit_score": st.integers(min_value=300, max_value=900),
        "device_risk_flags": st.sampled_from([[], ["rooted"], ["emulator", "malware"]]),
    },
)
# Mostly fields the service knows; now and then one it does not.
DECLARED = st.one_of(
    DECLARED_FIELDS, DECLARED_FIELDS, DECLARED_FIELDS, st.just({"nickname": "not a field"})
)


@functools.cache
def _png() -> bytes:
    return png_bytes()


def _content_for(slot: str) -> tuple[bytes, str]:
    kinds = SLOT_KINDS.get(slot, (MaterialKind.IMAGE,))
    if MaterialKind.IMAGE in kinds:
        return _png(), "image/png"
    if MaterialKind.PDF in kinds:
        return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf"
    return b"\x1aE\xdf\xa3\x9fB\x86\x81\x01webm", "video/webm"


# A service call: its name, who makes it, and its keyword arguments.
Step = tuple[str, str, dict[str, Any]]


@dataclass(frozen=True)
class Snapshot:
    """What a failed call must leave exactly as it was."""

    case_row: dict[str, Any]
    documents: tuple[tuple[Any, ...], ...]
    requests: tuple[tuple[Any, ...], ...]
    proposals: tuple[tuple[Any, ...], ...]
    # The case's events, then every row of every table a service writes to.
    counts: tuple[int, ...]

    @property
    def events(self) -> int:
        return self.counts[0]

    @property
    def all_events(self) -> int:
        return self.counts[1]


def _counts(case_pk: int) -> tuple[int, ...]:
    # One query: the snapshot is taken twice around every call.
    tables = [
        connection.ops.quote_name(model._meta.db_table)
        for model in (CaseEvent, Case, Document, MaterialRequest, DecisionProposal, Notification)
    ]
    selects = [f"(SELECT COUNT(*) FROM {tables[0]} WHERE case_id = %s)"]
    selects += [f"(SELECT COUNT(*) FROM {table})" for table in tables]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(selects), [case_pk])
        return tuple(cursor.fetchone())


def _snapshot(case_pk: int) -> Snapshot:
    row = Case.objects.values(
        "state",
        "assignee_id",
        "attempt",
        "event_seq",
        "event_head",
        "updated_at",
        "decided_at",
        "closed_at",
        "declared_data_updated_at",
        "rejection_reasons",
    ).get(pk=case_pk)
    return Snapshot(
        case_row=row,
        documents=tuple(
            Document.objects.filter(case_id=case_pk)
            .order_by("pk")
            .values_list("pk", "verdict", "verdict_reason_id", "verdict_by_id")
        ),
        requests=tuple(
            MaterialRequest.objects.filter(case_id=case_pk)
            .order_by("pk")
            .values_list("pk", "resolved_at")
        ),
        proposals=tuple(
            DecisionProposal.objects.filter(case_id=case_pk)
            .order_by("pk")
            .values_list("pk", "status", "checked_by_id")
        ),
        counts=_counts(case_pk),
    )


class CaseServicesMachine(RuleBasedStateMachine):
    """Drives the case services; the users and the catalogue are set on the class by the test."""

    people: dict[str, Any] = {}
    # decision → the catalogue's codes that fit it; "" → every code.
    reason_codes: dict[str, list[str]] = {}
    # Codes whose rejections need a second signature.
    second_signature: set[str] = set()

    def __init__(self) -> None:
        super().__init__()
        # Everything an example writes is undone at teardown; the users stay.
        self._savepoint = transaction.savepoint()
        self.cases: list[int] = []
        self.closed: set[int] = set()
        self.successes = 0

    def teardown(self) -> None:
        transaction.savepoint_rollback(self._savepoint)

    # --- picking --------------------------------------------------------------------------

    def _actor(self, name: str) -> Any:
        return {"system": SYSTEM, "integration": WALLET}.get(name) or self.people[name]

    def _resolve(self, pick: str, case: Case) -> tuple[str, Any]:
        if pick == "assignee":
            user = case.assignee or case.preferred_reviewer or self.people["reviewer"]
            return f"assignee ({user.email})", user
        if pick == "maker":
            proposal = case.pending_proposal()
            if proposal is not None:
                return f"maker ({proposal.proposed_by.email})", proposal.proposed_by
            return self._resolve("assignee", case)
        if pick == "owner":
            if case.integration:
                return f"owner ({case.integration})", IntegrationActor(case.integration)
            return f"owner ({case.applicant.email})", case.applicant
        return pick, self._actor(pick)

    def _pick(self, data: st.DataObject, what: str) -> tuple[Case, str, Any]:
        """A case and an actor for the call `what` (see PLAUSIBLE)."""
        states, likely = PLAUSIBLE[what]
        mine = Case.objects.filter(pk__in=self.cases)
        if states:
            mine = mine.filter(state__in=states)
        else:
            mine = mine.filter(proposals__status=ProposalStatus.PENDING)
        fitting = list(mine.order_by("pk").values_list("pk", flat=True))
        every = st.sampled_from(self.cases)
        pk = data.draw(st.sampled_from(fitting) | every if fitting else every, label="case")
        case = Case.objects.select_related("program", "applicant", "assignee").get(pk=pk)
        pick = data.draw(st.sampled_from(likely) | st.sampled_from(ANYONE), label="actor")
        label, actor = self._resolve(pick, case)
        return case, label, actor

    def _code(self, decision: str) -> st.SearchStrategy[str]:
        """Mostly a code that fits the decision, often any code of the catalogue, sometimes
        something that is not a code at all."""
        fitting = st.sampled_from(self.reason_codes[decision])
        return fitting | fitting | st.sampled_from([*self.reason_codes[""], *ODD_REASON_CODES])

    def _reason(self, data: st.DataObject, decision: str) -> str:
        return data.draw(self._code(decision), label="reason")

    def _reasons(self, data: st.DataObject, decision: str) -> list[str]:
        some = st.lists(self._code(decision), min_size=1, max_size=2)
        return data.draw(some | some | st.just([]), label="reasons")

    def _slots(self, data: st.DataObject, case: Case) -> list[str] | None:
        own = st.sampled_from([*case.program.slot_codes])
        anything = st.sampled_from(Slot.values)
        return data.draw(
            st.none() | st.lists(own, min_size=1, max_size=2) | st.lists(anything, max_size=2),
            label="slots",
        )

    def _text(self, data: st.DataObject, choices: tuple[str, ...], label: str) -> str:
        return data.draw(st.sampled_from(choices), label=label)

    # --- calling --------------------------------------------------------------------------

    def _call(self, what: str, case_pk: int, actor_label: str, action: Callable[[], Any]) -> bool:
        """Run one service call and check that it wrote exactly one event or nothing at all."""
        before = _snapshot(case_pk)
        state = before.case_row["state"]
        try:
            action()
        except CaseActionError as exc:
            after = _snapshot(case_pk)
            note(f"{what} on case {case_pk} ({state}) by {actor_label}: {type(exc).__name__}")
            assert after == before, f"{what} failed with {exc!r} but changed {before} → {after}"
            return False
        after = _snapshot(case_pk)
        note(f"{what} on case {case_pk} ({state}) by {actor_label}: ok → {after.case_row['state']}")
        assert state != S.CLOSED, f"{what} by {actor_label} succeeded on a closed case"
        assert after.events == before.events + 1, f"{what} wrote {after.events - before.events}"
        assert after.all_events == before.all_events + 1, f"{what} wrote events on other cases"
        self.successes += 1
        if after.case_row["state"] == S.CLOSED:
            self.closed.add(case_pk)
        return True

    # --- opening cases --------------------------------------------------------------------

    def _setup(self, what: str, on: Case, who: str, /, **kwargs: Any) -> None:
        """One set-up call through the services; it must succeed, and it counts like any other."""
        action = functools.partial(getattr(services, what), **kwargs)
        assert self._call(what, on.pk, who, action), f"set-up step {what} by {who} failed"

    def _open(self, data: st.DataObject, owner: str) -> None:
        """Open a case of a random program and move it, through the services, to a random
        point of the graph, so that short runs start from every state."""
        program = Program.objects.get(code=data.draw(st.sampled_from(ProgramCode.values)))
        stage = data.draw(st.sampled_from(STAGES), label="stage")
        creator_name = data.draw(st.sampled_from([owner, "integration"]), label="created by")
        creator = self._actor(creator_name)
        declared = declared_for(program.code) if stage != "empty" else {}
        before = CaseEvent.objects.count()
        case = services.case_create(
            program=program, applicant=self.people[owner], actor=creator, declared=declared
        )
        assert CaseEvent.objects.filter(case=case).count() == 1
        assert CaseEvent.objects.count() == before + 1
        self.successes += 1
        self.cases.append(case.pk)
        note(f"opened case {case.pk}: {program.code} of {owner} by {creator_name}, at {stage}")
        path = STAGES[: STAGES.index(stage) + 1]
        name = "reviewer"
        if "filled" in path:
            for slot in program.required_slots:
                if slot in FILE_SLOTS:
                    content, content_type = _content_for(slot)
                    self._setup(
                        "document_upload", case, creator_name, case=case, actor=creator, slot=slot,
                        content=content, content_type=content_type,
                    )  # fmt: skip
        if "submitted" in path:
            self._setup("case_submit", case, creator_name, case=case, actor=creator)
        if "reviewing" in path:
            name = data.draw(st.sampled_from(REVIEWERS), label="claimed by")
            self._setup("case_claim", case, name, case=case, actor=self.people[name])
        if "accepted" in path:
            reviewer = self.people[name]
            for document in Case.objects.get(pk=case.pk).current_documents():
                self._setup(
                    "document_set_verdict", case, name, document=document, actor=reviewer,
                    verdict=Verdict.ACCEPTED,
                )  # fmt: skip
        if stage in ("needs_materials", "rejected", "approved"):
            self._decide(data, case, stage, name)
        frozen = data.draw(st.sampled_from([False, False, True]), label="then frozen")
        if stage != "empty" and frozen:
            state = Case.objects.get(pk=case.pk).state
            if state in FREEZABLE_STATES:
                self._setup(
                    "case_freeze", case, "supervisor", case=case, actor=self.people["supervisor"],
                    reason_code="INFO_TAMPERED",
                )  # fmt: skip

    def _decide(self, data: st.DataObject, case: Case, stage: str, name: str) -> None:
        reviewer = self.people[name]
        if stage == "needs_materials":
            code = data.draw(st.sampled_from(self.reason_codes[Decision.REQUEST_MATERIALS]))
            slot = data.draw(st.sampled_from(case.program.slot_codes), label="slot")
            self._setup(
                "case_request_materials", case, name, case=case, actor=reviewer,
                reason_codes=[code], slots=[slot], message="Please provide this again.",
            )  # fmt: skip
            return
        if stage == "rejected":
            code = data.draw(st.sampled_from(self.reason_codes[Decision.REJECT]))
            slot = data.draw(st.sampled_from(case.program.slot_codes), label="slot")
            self._setup(
                "case_reject", case, name, case=case, actor=reviewer, reason_codes=[code],
                slots=[slot], message="Sorry.",
            )  # fmt: skip
        else:
            self._setup("case_approve", case, name, case=case, actor=reviewer)
        if DecisionProposal.objects.filter(case=case, status=ProposalStatus.PENDING).exists():
            checker = "senior" if name != "senior" else "other_supervisor"
            self._setup("case_countersign", case, checker, case=case, actor=self.people[checker])

    @initialize(data=st.data())
    def first_case(self, data: st.DataObject) -> None:
        self._open(data, "applicant")

    @precondition(lambda self: len(self.cases) < MAX_CASES)
    @rule(data=st.data(), owner=st.sampled_from(["applicant", "applicant", "other_applicant"]))
    def another_case(self, data: st.DataObject, owner: str) -> None:
        self._open(data, owner)

    # --- the next step a diligent person would take -----------------------------------------

    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        """Take the step that moves a random case along (renew what is wanted, submit, claim,
        accept, decide, countersign, unfreeze, close), so runs reach the far parts of the graph
        where the random calls of the other rules then poke around. It may still fail (a final
        rejection cannot be reapplied for), and is checked like any other call."""
        pk = data.draw(st.sampled_from(self.cases), label="case")
        case = Case.objects.select_related("program", "applicant", "assignee").get(pk=pk)
        if case.pending_proposal() is not None:
            what, who, kwargs = self._next_signature(data, case)
        elif case.state in APPLICANT_EDITABLE_STATES:
            what, who, kwargs = self._next_for_applicant(data, case)
        elif case.state == S.REVIEWING:
            what, who, kwargs = self._next_review(data, case)
        else:
            what, who, kwargs = self._next_elsewhere(data, case)
        self._call(what, pk, who, functools.partial(getattr(services, what), **kwargs))

    def _next_signature(self, data: st.DataObject, case: Case) -> Step:
        proposal = case.pending_proposal()
        assert proposal is not None
        others = [n for n in SIGNERS if self.people[n].pk != proposal.proposed_by_id]
        who = data.draw(st.sampled_from(others), label="checker")
        what = data.draw(st.sampled_from(["case_countersign"] * 3 + ["case_send_back"]))
        return what, who, {"case": case, "actor": self.people[who], "note": "Checked twice."}

    def _next_for_applicant(self, data: st.DataObject, case: Case) -> Step:
        who, owner = self._resolve("owner", case)
        request = case.open_material_request()
        wanted = [*case.missing_required_slots(), *(request.missing_slots() if request else [])]
        if Slot.DECLARED_DATA in wanted:
            declared = declared_for(case.program_id)
            return "case_update_declared_data", who, {"case": case, "actor": owner,
                                                      "declared": declared}  # fmt: skip
        if wanted:
            content, content_type = _content_for(wanted[0])
            return "document_upload", who, {"case": case, "actor": owner, "slot": wanted[0],
                                            "content": content,
                                            "content_type": content_type}  # fmt: skip
        if case.state == S.REJECTED and data.draw(st.booleans(), label="close instead"):
            return "case_close", who, {"case": case, "actor": owner,
                                       "reason_code": "CLOSURE_REQUESTED"}  # fmt: skip
        what = {S.DRAFT: "case_submit", S.NEEDS_MATERIALS: "case_resubmit"}.get(
            case.state, "case_reapply"
        )
        return what, who, {"case": case, "actor": owner}

    def _next_review(self, data: st.DataObject, case: Case) -> Step:
        who, reviewer = self._resolve("assignee", case)
        pending = [doc for doc in case.current_documents() if doc.verdict != Verdict.ACCEPTED]
        if pending:
            return "document_set_verdict", who, {"document": pending[0], "actor": reviewer,
                                                 "verdict": Verdict.ACCEPTED}  # fmt: skip
        what = data.draw(
            st.sampled_from(["case_approve"] * 2 + ["case_reject", "case_request_materials"]),
            label="decision",
        )
        if what == "case_approve":
            return what, who, {"case": case, "actor": reviewer}
        decision = Decision.REJECT if what == "case_reject" else Decision.REQUEST_MATERIALS
        code = data.draw(st.sampled_from(self.reason_codes[decision]), label="reason")
        slot = data.draw(st.sampled_from(case.program.slot_codes), label="slot")
        return what, who, {"case": case, "actor": reviewer, "reason_codes": [code],
                           "slots": [slot], "message": "Please provide this again."}  # fmt: skip

    def _next_elsewhere(self, data: st.DataObject, case: Case) -> Step:
        if case.state == S.SUBMITTED:
            who = data.draw(st.sampled_from(REVIEWERS), label="claimed by")
            return "case_claim", who, {"case": case, "actor": self.people[who]}
        who = data.draw(st.sampled_from(SUPERVISORS), label="supervisor")
        supervisor = self.people[who]
        if case.state == S.ACCOUNT_FROZEN and data.draw(st.booleans(), label="unfreeze"):
            code = data.draw(st.sampled_from(self.reason_codes[Decision.UNFREEZE]))
            return "case_unfreeze", who, {"case": case, "actor": supervisor, "reason_code": code,
                                          "note": "The owner called back."}  # fmt: skip
        if case.state == S.APPROVED and data.draw(st.booleans(), label="freeze"):
            return "case_freeze", who, {"case": case, "actor": supervisor,
                                        "reason_code": "INFO_TAMPERED"}  # fmt: skip
        # Closed cases get a close as well: it must fail and change nothing.
        return "case_close", who, {"case": case, "actor": supervisor,
                                   "reason_code": "SUPERVISOR_CLOSED"}  # fmt: skip

    # --- the applicant's side -------------------------------------------------------------

    @rule(data=st.data())
    def upload(self, data: st.DataObject) -> None:
        case, who, actor = self._pick(data, "document_upload")
        request = case.open_material_request()
        wanted = [*case.missing_required_slots(), *(request.missing_slots() if request else [])]
        missing = [s for s in wanted if s in FILE_SLOTS]
        slot = data.draw(
            st.sampled_from(missing or case.program.slot_codes) | st.sampled_from(Slot.values),
            label="slot",
        )
        content, content_type = _content_for(slot)
        if data.draw(st.integers(0, 9), label="empty file if 0") == 0:
            content = b""
        self._call(
            "document_upload",
            case.pk,
            who,
            lambda: services.document_upload(
                case=case, actor=actor, slot=slot, content=content, content_type=content_type
            ),
        )

    @rule(data=st.data(), declared=DECLARED)
    def update_declared_data(self, data: st.DataObject, declared: dict[str, Any]) -> None:
        case, who, actor = self._pick(data, "case_update_declared_data")
        self._call(
            "case_update_declared_data",
            case.pk,
            who,
            lambda: services.case_update_declared_data(case=case, actor=actor, declared=declared),
        )

    @rule(data=st.data())
    def submit(self, data: st.DataObject) -> None:
        case, who, actor = self._pick(data, "case_submit")
        self._call(
            "case_submit", case.pk, who, lambda: services.case_submit(case=case, actor=actor)
        )

    @rule(data=st.data())
    def resubmit(self, data: st.DataObject) -> None:
        case, who, actor = self._pick(data, "case_resubmit")
        self._call(
            "case_resubmit", case.pk, who, lambda: services.case_resubmit(case=case, actor=actor)
        )

    @rule(data=st.data())
    def reapply(self, data: st.DataObject) -> None:
        case, who, actor = self._pick(data, "case_reapply")
        self._call(
            "case_reapply", case.pk, who, lambda: services.case_reapply(case=case, actor=actor)
        )

    # --- the reviewer's side --------------------------------------------------------------

    @rule(data=st.data())
    def claim(self, data: st.DataObject) -> None:
        case, who, actor = self._pick(data, "case_claim")
        self._call("case_claim", case.pk, who, lambda: services.case_claim(case=case, actor=actor))

    @rule(data=st.data(), reviewer=st.sampled_from(ACTORS))
    def assign(self, data: st.DataObject, reviewer: str) -> None:
        case, who, actor = self._pick(data, "case_assign")
        self._call(
            "case_assign",
            case.pk,
            who,
            lambda: services.case_assign(case=case, actor=actor, reviewer=self._actor(reviewer)),
        )

    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        case, who, actor = self._pick(data, "case_release")
        reason = self._text(data, MESSAGES, "reason")
        self._call(
            "case_release",
            case.pk,
            who,
            lambda: services.case_release(case=case, actor=actor, reason=reason),
        )

    @rule(
        data=st.data(),
        verdict=st.sampled_from([Verdict.ACCEPTED] * 3 + ["reupload_requested", "maybe"]),
    )
    def set_verdict(self, data: st.DataObject, verdict: str) -> None:
        case, who, actor = self._pick(data, "document_set_verdict")
        current = [doc.pk for doc in case.current_documents()]
        every = list(case.documents.order_by("pk").values_list("pk", flat=True))
        if not every:
            return  # nothing to review on this case; the step is a no-op
        pk = data.draw(st.sampled_from(current) | st.sampled_from(every), label="document")
        document = Document.objects.get(pk=pk)
        reason = self._reason(data, Decision.REUPLOAD)
        self._call(
            "document_set_verdict",
            case.pk,
            who,
            lambda: services.document_set_verdict(
                document=document, actor=actor, verdict=verdict, reason_code=reason
            ),
        )

    @rule(data=st.data())
    def request_materials(self, data: st.DataObject) -> None:
        case, who, actor = self._pick(data, "case_request_materials")
        codes = self._reasons(data, Decision.REQUEST_MATERIALS)
        slots = self._slots(data, case)
        message = self._text(data, MESSAGES, "message")
        self._call(
            "case_request_materials",
            case.pk,
            who,
            lambda: services.case_request_materials(
                case=case, actor=actor, reason_codes=codes, message=message, slots=slots
            ),
        )

    @rule(data=st.data())
    def approve(self, data: st.DataObject) -> None:
        case, who, actor = self._pick(data, "case_approve")
        note_text = self._text(data, NOTES, "note")
        self._call(
            "case_approve",
            case.pk,
            who,
            lambda: services.case_approve(case=case, actor=actor, note=note_text),
        )

    @rule(data=st.data())
    def reject(self, data: st.DataObject) -> None:
        case, who, actor = self._pick(data, "case_reject")
        codes, slots = self._reasons(data, Decision.REJECT), self._slots(data, case)
        message = self._text(data, MESSAGES, "message")
        self._call(
            "case_reject",
            case.pk,
            who,
            lambda: services.case_reject(
                case=case, actor=actor, reason_codes=codes, message=message, slots=slots
            ),
        )

    @rule(data=st.data())
    def freeze(self, data: st.DataObject) -> None:
        case, who, actor = self._pick(data, "case_freeze")
        reason = self._reason(data, Decision.FREEZE)
        self._call(
            "case_freeze",
            case.pk,
            who,
            lambda: services.case_freeze(case=case, actor=actor, reason_code=reason),
        )

    @rule(data=st.data(), reviewer=st.none() | st.sampled_from(ACTORS))
    def unfreeze(self, data: st.DataObject, reviewer: str | None) -> None:
        case, who, actor = self._pick(data, "case_unfreeze")
        reason = self._reason(data, Decision.UNFREEZE)
        note_text = self._text(data, NOTES, "note")
        self._call(
            "case_unfreeze",
            case.pk,
            who,
            lambda: services.case_unfreeze(
                case=case,
                actor=actor,
                reason_code=reason,
                note=note_text,
                reviewer=self._actor(reviewer) if reviewer else None,
            ),
        )

    @rule(data=st.data())
    def close(self, data: st.DataObject) -> None:
        case, who, actor = self._pick(data, "case_close")
        reason = self._reason(data, Decision.CLOSE)
        self._call(
            "case_close",
            case.pk,
            who,
            lambda: services.case_close(case=case, actor=actor, reason_code=reason),
        )

    @rule(data=st.data())
    def countersign(self, data: st.DataObject) -> None:
        case, who, actor = self._pick(data, "case_countersign")
        note_text = self._text(data, NOTES, "note")
        self._call(
            "case_countersign",
            case.pk,
            who,
            lambda: services.case_countersign(case=case, actor=actor, note=note_text),
        )

    @rule(data=st.data())
    def send_back(self, data: st.DataObject) -> None:
        case, who, actor = self._pick(data, "case_send_back")
        note_text = self._text(data, NOTES, "note")
        self._call(
            "case_send_back",
            case.pk,
            who,
            lambda: services.case_send_back(case=case, actor=actor, note=note_text),
        )

    # --- invariants -----------------------------------------------------------------------

    @invariant()
    def one_event_per_successful_call(self) -> None:
        assert CaseEvent.objects.count() == self.successes

    @invariant()
    def every_chain_verifies(self) -> None:
        report = verify_audit_chains()
        assert report.ok, [str(link) for link in report.broken or []]

    @invariant()
    def closed_cases_stay_closed(self) -> None:
        still = set(
            Case.objects.filter(pk__in=self.closed, state=S.CLOSED).values_list("pk", flat=True)
        )
        assert still == self.closed

    @invariant()
    def attempts_within_the_program_limit(self) -> None:
        assert not Case.objects.filter(attempt__gt=F("program__attempt_limit")).exists()
        assert not Case.objects.filter(attempt__lt=1).exists()

    @invariant()
    def only_waiting_cases_have_an_open_material_request(self) -> None:
        # An open request is what resubmit/reapply ask for; a case under review or in the queue
        # holding one would make the next request for materials collide with it.
        stray = MaterialRequest.objects.filter(resolved_at=None).exclude(
            case__state__in=(S.NEEDS_MATERIALS, S.REJECTED, S.ACCOUNT_FROZEN)
        )
        assert not stray.exists(), [(r.case_id, r.case.state, r.slots) for r in stray]

    @invariant()
    def makers_never_check_their_own_decisions(self) -> None:
        assert not DecisionProposal.objects.filter(checked_by=F("proposed_by")).exists()
        proposals = {
            p.pk: (p.proposed_by_id, p.checked_by_id)
            for p in DecisionProposal.objects.filter(case_id__in=self.cases)
        }
        decisions = CaseEvent.objects.filter(
            event_type__in=[EventType.APPROVED, EventType.REJECTED, EventType.UNFROZEN]
        ).select_related("case__program")
        for event in decisions:
            countersigned = "maker" in event.data or "checker" in event.data
            needs_two = (
                event.event_type == EventType.UNFROZEN
                or (
                    event.event_type == EventType.APPROVED
                    and event.case.program.approval_needs_four_eyes
                )
                or (
                    event.event_type == EventType.REJECTED
                    and bool(self.second_signature & set(event.reason_codes))
                )
            )
            assert countersigned or not needs_two, f"{event} needed a second signature"
            if not countersigned:
                continue
            maker, checker = event.data.get("maker"), event.data.get("checker")
            assert maker and checker and maker != checker, (
                f"{event}: maker {maker}, checker {checker}"
            )
            assert event.actor_user_id == checker, f"{event} was not performed by its checker"
            assert proposals[event.data["proposal"]] == (maker, checker)


@pytest.mark.slow
def test_random_service_calls_keep_the_case_invariants(
    db: None,
    applicant: Any,
    other_applicant: Any,
    reviewer: Any,
    other_reviewer: Any,
    senior: Any,
    supervisor: Any,
    other_supervisor: Any,
    auditor: Any,
) -> None:
    CaseServicesMachine.people = {
        "applicant": applicant,
        "other_applicant": other_applicant,
        "reviewer": reviewer,
        "other_reviewer": other_reviewer,
        "senior": senior,
        "supervisor": supervisor,
        "other_supervisor": other_supervisor,
        "auditor": auditor,
    }
    catalogue = ReasonCode.objects.filter(is_active=True).order_by("code")
    CaseServicesMachine.reason_codes = {
        decision: [r.code for r in catalogue if not decision or decision in r.decisions]
        for decision in ("", *Decision.values)
    }
    CaseServicesMachine.second_signature = {r.code for r in catalogue if r.needs_second_signature}
    assert CaseEvent.objects.count() == 0
    run_state_machine_as_test(
        CaseServicesMachine,
        settings=settings(
            max_examples=60,
            stateful_step_count=30,
            deadline=None,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.data_too_large,
            ],
        ),
    )
