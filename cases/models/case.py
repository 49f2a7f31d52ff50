"""The case and its state graph (DESIGN §3), declared once, here; transition bodies only set
fields.

Nothing but the case services (cases/services/transitions.py) calls a transition method.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from django_fsm import Transition as FSMTransition

from cases import rules
from cases.actors import Actor
from cases.fields import EncryptedTextField
from cases.models.catalogue import Program, ReasonCode

# Migration 0009 names the upload path by this module's path.
from cases.models.documents import document_upload_path  # noqa: F401
from cases.states import (
    CLOSABLE_STATES,
    FREEZABLE_STATES,
    URGENT_FREEZE_REASONS,
    CaseState,
    Priority,
    ProgramCode,
    ProposalStatus,
    Slot,
    Transition,
    Verdict,
)

if TYPE_CHECKING:
    from accounts.models import User
    from cases.models.documents import Document, MaterialRequest
    from cases.models.four_eyes import DecisionProposal

S = CaseState


def _has_required_slots(case: Case) -> bool:
    return not case.missing_required_slots()


def _requested_slots_renewed(case: Case) -> bool:
    request = case.open_material_request()
    return request is not None and not request.missing_slots()


def _all_current_documents_accepted(case: Case) -> bool:
    current = case.current_documents()
    return bool(current) and all(doc.verdict == Verdict.ACCEPTED for doc in current)


def _may_reapply(case: Case) -> bool:
    if not case.rejection_retryable:
        return False
    if case.rejection_counts_attempt and case.attempt >= case.program.attempt_limit:
        return False
    request = case.open_material_request()
    return request is None or not request.missing_slots()


def _no_pending_proposal(case: Case) -> bool:
    return case.pending_proposal() is None


# django-fsm-2 types a condition as (Model) -> bool and a permission as (Model, user) -> bool. Ours
# read a Case, and a permission accepts any actor (a person, the system, an integration), which no
# protocol can make a subtype of those (parameters are contravariant). These two adapters say so
# once; at run time they return what they are given.
def _when(*conditions: Callable[[Case], bool]) -> list[Callable[[models.Model], bool]]:
    return [cast(Callable[[models.Model], bool], condition) for condition in conditions]


def _by(permission: Callable[[Case, Actor], bool]) -> Callable[[models.Model, Any], bool]:
    return cast(Callable[[models.Model, Any], bool], permission)


# The review queue's order (claim-next and the Unassigned queue): resubmitted cases first, then
# priority, then the earliest due; an index with the same columns serves it.
QUEUE_ORDER = (
    F("resubmitted").desc(),
    F("priority").desc(),
    F("sla_due_at").asc(nulls_last=True),
    F("queued_at").asc(),
    F("id").asc(),
)


class Case(ConcurrentTransitionMixin, models.Model):
    """One application for verification, and the state graph it moves through."""

    uuid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    # NULL until the row has its id (the reference is derived from it); NULLs never collide.
    reference = models.CharField(  # noqa: DJ001
        _("reference"), max_length=20, unique=True, null=True
    )
    program = models.ForeignKey(Program, on_delete=models.PROTECT, verbose_name=_("program"))
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="cases",
        verbose_name=_("applicant"),
    )
    integration = models.CharField(
        _("created by integration"), max_length=100, blank=True, default=""
    )
    state = FSMField(
        _("state"), default=S.DRAFT, choices=CaseState.choices, protected=True, db_index=True
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_cases",
        verbose_name=_("assignee"),
    )
    # Who handled the case last: a resubmission goes back to them when they are free.
    preferred_reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("preferred reviewer"),
    )
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority, default=Priority.NORMAL
    )
    attempt = models.PositiveSmallIntegerField(_("attempt"), default=1)

    # Declared data. ID number and phone are encrypted; the ID number has a blind index.
    full_name = models.CharField(_("name"), max_length=200, blank=True)
    id_number = EncryptedTextField(_("resident ID number"), blank=True, default="")
    id_number_index = models.CharField(max_length=64, blank=True, default="", db_index=True)
    phone = EncryptedTextField(_("phone"), blank=True, default="")
    company_name = models.CharField(_("company name"), max_length=200, blank=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    credit_score = models.PositiveSmallIntegerField(_("credit score"), null=True, blank=True)
    device_risk_flags = models.JSONField(_("device risk flags"), default=list, blank=True)
    declared_data_updated_at = models.DateTimeField(null=True, blank=True)
    # Set when the automatic checks must run (after a submission or an upload), cleared by the
    # run; the periodic task runs any the broker lost (DESIGN §5: timers are rows).
    checks_requested_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    # When the case last (re)entered the queue; resubmitted cases go to its front.
    queued_at = models.DateTimeField(null=True, blank=True)
    resubmitted = models.BooleanField(default=False)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    previous_case = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="later_cases",
        verbose_name=_("earlier case"),
    )

    # The current rejection, as the reapply condition needs it.
    rejection_reasons = models.JSONField(default=list, blank=True)
    rejection_retryable = models.BooleanField(default=False)
    rejection_counts_attempt = models.BooleanField(default=True)
    may_apply_again_after = models.DateTimeField(null=True, blank=True)
    state_reason = models.CharField(_("reason for the state"), max_length=40, blank=True)

    # SLA timers (DESIGN §5): the instants the sweep looks for, each NULL when nothing is due, so
    # each partial index holds only the rows that can fire. The clock ledger is SlaClock.
    sla_due_at = models.DateTimeField(_("review due"), null=True, blank=True)
    sla_at_risk_at = models.DateTimeField(null=True, blank=True)
    sla_at_risk_since = models.DateTimeField(_("at risk since"), null=True, blank=True)
    sla_breached_at = models.DateTimeField(_("deadline missed at"), null=True, blank=True)
    applicant_reminder_at = models.DateTimeField(null=True, blank=True)
    applicant_reminders_sent = models.PositiveSmallIntegerField(default=0)
    auto_close_at = models.DateTimeField(_("closes without an answer at"), null=True, blank=True)
    # Last reviewer activity while the case is in `reviewing`; NULL otherwise, and while a
    # four-eyes proposal waits for its second signature (the reviewer is not idle then).
    reviewer_activity_at = models.DateTimeField(null=True, blank=True)

    # Head of the audit chain, moved in the same transaction as each event (see audit.py).
    event_seq = models.PositiveIntegerField(default=0, editable=False)
    event_head = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        verbose_name = _("case")
        verbose_name_plural = _("cases")
        ordering = ("-created_at",)
        permissions = [
            ("apply_for_verification", _("Can apply for verification")),
            ("review_case", _("Can claim and decide assigned cases")),
            ("countersign_case", _("Can give the second signature")),
            ("assign_case", _("Can assign cases to others")),
            ("unfreeze_case", _("Can propose unfreezing an account")),
            ("close_case", _("Can close cases")),
            ("view_all_cases", _("Can read every case")),
            ("export_case", _("Can export case evidence")),
            ("place_legal_hold", _("Can place and lift legal holds")),
            ("configure_programs", _("Can configure programs and SLA policies")),
        ]
        indexes = [
            models.Index(fields=["state", "assignee"], name="case_state_assignee"),
            models.Index(fields=["applicant", "state"], name="case_applicant_state"),
            models.Index(
                F("resubmitted").desc(),
                F("priority").desc(),
                # ASC is NULLS LAST on PostgreSQL; SQLite refuses NULLS LAST in an index.
                F("sla_due_at").asc(),
                F("queued_at").asc(),
                F("id").asc(),
                condition=Q(state=S.SUBMITTED, assignee=None),
                name="case_queue_order",
            ),
            # The workbench queues' orders (cases/selectors.py, queue_for).
            models.Index(fields=["assignee", "sla_due_at", "id"], name="case_my_queue"),
            # At risk and Breached hold running cases only (decided cases keep their SLA
            # history); the visibility columns make the reviewer's OR an index-only check.
            models.Index(
                fields=["sla_due_at", "id", "assignee", "state", "preferred_reviewer"],
                condition=Q(
                    state__in=[S.SUBMITTED, S.REVIEWING],
                    sla_at_risk_since__isnull=False,
                    sla_breached_at=None,
                ),
                name="case_at_risk_running",
            ),
            models.Index(
                fields=["sla_due_at", "id", "assignee", "state", "preferred_reviewer"],
                condition=Q(state__in=[S.SUBMITTED, S.REVIEWING], sla_breached_at__isnull=False),
                name="case_breached_running",
            ),
            # Waiting on the applicant: everyone's (supervisors) and one reviewer's.
            models.Index(
                fields=["auto_close_at", "id"],
                condition=Q(state=S.NEEDS_MATERIALS),
                name="case_waiting_queue",
            ),
            models.Index(
                fields=["preferred_reviewer", "auto_close_at", "id"],
                condition=Q(state=S.NEEDS_MATERIALS),
                name="case_waiting_reviewer",
            ),
            models.Index(fields=["state", "-updated_at", "-id"], name="case_state_updated"),
            models.Index(fields=["-created_at", "-id"], name="case_all_queue"),
            # The API's list: an integration's cases, newest first (cursor on the id).
            models.Index(fields=["integration", "-id"], name="case_integration_id"),
            models.Index(
                fields=["sla_at_risk_at"],
                condition=Q(sla_at_risk_at__isnull=False),
                name="case_sla_at_risk_due",
            ),
            models.Index(
                fields=["sla_due_at"],
                condition=Q(sla_due_at__isnull=False, sla_breached_at__isnull=True),
                name="case_sla_breach_due",
            ),
            models.Index(
                fields=["applicant_reminder_at"],
                condition=Q(applicant_reminder_at__isnull=False),
                name="case_applicant_reminder_due",
            ),
            models.Index(
                fields=["auto_close_at"],
                condition=Q(auto_close_at__isnull=False),
                name="case_auto_close_due",
            ),
            models.Index(
                fields=["checks_requested_at"],
                condition=Q(checks_requested_at__isnull=False),
                name="case_checks_requested",
            ),
            models.Index(
                fields=["reviewer_activity_at"],
                condition=Q(reviewer_activity_at__isnull=False),
                name="case_reviewer_activity",
            ),
            # The backlog report: open cases by program, state and age (index-only on PostgreSQL).
            models.Index(
                fields=["program", "state", "submitted_at"],
                condition=Q(state__in=[S.SUBMITTED, S.REVIEWING, S.NEEDS_MATERIALS]),
                name="case_backlog",
            ),
            # The retention purge: closed cases of a program, oldest closure first.
            models.Index(
                fields=["program", "closed_at"],
                condition=Q(state=S.CLOSED),
                name="case_closed_retention",
            ),
        ]

    def __str__(self) -> str:
        return self.reference or str(self.uuid)

    # --- reads the conditions use -------------------------------------------------------------

    def current_documents(self) -> list[Document]:
        """The newest version of each slot."""
        newest: dict[str, Document] = {}
        for doc in self.documents.order_by("slot", "-version"):
            newest.setdefault(doc.slot, doc)
        return list(newest.values())

    def missing_required_slots(self) -> list[str]:
        filled = set(self.documents.values_list("slot", flat=True))
        missing = []
        for slot in self.program.required_slots:
            if slot == Slot.DECLARED_DATA:
                if not self.has_declared_data():
                    missing.append(slot)
            elif slot not in filled:
                missing.append(slot)
        return missing

    def has_declared_data(self) -> bool:
        if self.program_id == ProgramCode.BUSINESS:
            return bool(self.company_name and self.credit_code and self.full_name)
        return bool(self.full_name and self.id_number and self.phone)

    def open_material_request(self) -> MaterialRequest | None:
        return self.material_requests.filter(resolved_at=None).order_by("-created_at").first()

    def pending_proposal(self) -> DecisionProposal | None:
        return self.proposals.filter(status=ProposalStatus.PENDING).first()

    def declared_transition(self, transition: Transition) -> FSMTransition | None:
        """The state graph's `transition` from the case's current state (its source, target,
        conditions and permission), or None when the graph has none from here."""
        return next(
            (
                declared
                for declared in self.get_all_state_transitions()  # type: ignore[attr-defined]
                if declared.name == transition and declared.source == self.state
            ),
            None,
        )

    # --- the state graph ----------------------------------------------------------------------

    @transition(
        field=state,
        source=S.DRAFT,
        target=S.SUBMITTED,
        conditions=_when(_has_required_slots),
        permission=_by(rules.may_submit),
    )
    def submit(self, *, now: datetime) -> None:
        self.submitted_at = now
        self.queued_at = now

    @transition(
        field=state, source=S.SUBMITTED, target=S.REVIEWING, permission=_by(rules.may_claim)
    )
    def claim(self, *, reviewer: User) -> None:
        self.assignee = reviewer
        self.preferred_reviewer = reviewer

    @transition(
        field=state,
        source=[S.SUBMITTED, S.REVIEWING],
        target=S.REVIEWING,
        permission=_by(rules.may_assign),
    )
    def assign(self, *, reviewer: User) -> None:
        self.assignee = reviewer
        self.preferred_reviewer = reviewer

    @transition(
        field=state, source=S.REVIEWING, target=S.SUBMITTED, permission=_by(rules.may_release)
    )
    def release(self) -> None:
        self.assignee = None

    @transition(
        field=state,
        source=S.REVIEWING,
        target=S.NEEDS_MATERIALS,
        conditions=_when(_no_pending_proposal),
        permission=_by(rules.may_decide),
    )
    def request_materials(self) -> None:
        self.assignee = None
        self.resubmitted = False

    @transition(
        field=state,
        source=S.NEEDS_MATERIALS,
        target=S.SUBMITTED,
        conditions=_when(_requested_slots_renewed),
        permission=_by(rules.may_resubmit),
    )
    def resubmit(self, *, now: datetime) -> None:
        self.queued_at = now
        self.resubmitted = True

    @transition(
        field=state,
        source=S.REVIEWING,
        target=S.APPROVED,
        conditions=_when(_all_current_documents_accepted),
        permission=_by(rules.may_decide),
    )
    def approve(self, *, now: datetime) -> None:
        self.decided_at = now
        self.assignee = None
        self.state_reason = ""

    @transition(
        field=state, source=S.REVIEWING, target=S.REJECTED, permission=_by(rules.may_decide)
    )
    def reject(
        self,
        *,
        now: datetime,
        reasons: list[ReasonCode],
        may_apply_again_after: datetime | None,
    ) -> None:
        self.decided_at = now
        self.assignee = None
        self.rejection_reasons = [reason.code for reason in reasons]
        self.rejection_retryable = all(reason.is_retryable for reason in reasons)
        self.rejection_counts_attempt = any(reason.counts_as_attempt for reason in reasons)
        self.may_apply_again_after = may_apply_again_after
        self.state_reason = reasons[0].code

    @transition(
        field=state,
        source=S.REJECTED,
        target=S.SUBMITTED,
        conditions=_when(_may_reapply),
        permission=_by(rules.may_resubmit),
    )
    def reapply(self, *, now: datetime) -> None:
        if self.rejection_counts_attempt:
            self.attempt += 1
        self.rejection_reasons = []
        self.rejection_retryable = False
        self.decided_at = None
        self.queued_at = now
        self.resubmitted = True
        self.state_reason = ""

    @transition(
        field=state,
        source=list(FREEZABLE_STATES),
        target=S.ACCOUNT_FROZEN,
        permission=_by(rules.may_freeze),
    )
    def freeze(self, *, reason: ReasonCode) -> None:
        self.assignee = None
        self.state_reason = reason.code
        if reason.code in URGENT_FREEZE_REASONS:
            self.priority = Priority.URGENT

    @transition(
        field=state, source=S.ACCOUNT_FROZEN, target=S.REVIEWING, permission=_by(rules.may_unfreeze)
    )
    def unfreeze(self, *, reviewer: User) -> None:
        self.assignee = reviewer
        self.decided_at = None
        self.state_reason = ""

    @transition(
        field=state, source=list(CLOSABLE_STATES), target=S.CLOSED, permission=_by(rules.may_close)
    )
    def close(self, *, now: datetime, reason: ReasonCode) -> None:
        self.closed_at = now
        self.assignee = None
        self.state_reason = reason.code
