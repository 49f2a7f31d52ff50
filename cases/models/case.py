"""Cases, documents, reasons and events. The state graph is declared once, here; transition
bodies only set fields.

Nothing but cases/services.py calls a transition method, and nothing but cases/audit.py creates a
CaseEvent.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from django_fsm import Transition as FSMTransition

from cases import rules
from cases.fields import EncryptedTextField
from cases.states import (
    CLOSABLE_STATES,
    FREEZABLE_STATES,
    URGENT_FREEZE_REASONS,
    ActorType,
    CaseState,
    Decision,
    EventType,
    Priority,
    ProgramCode,
    ProposalStatus,
    ReasonCategory,
    ReasonOutcome,
    Slot,
    Transition,
    Verdict,
)

S = CaseState


class Program(models.Model):
    """A verification program (DESIGN §2): its material slots, limits and review target."""

    code = models.CharField(_("code"), max_length=20, primary_key=True, choices=ProgramCode)
    # [{"slot": "id_front", "required": true}, ...] in the order the applicant sees them.
    slots = models.JSONField(_("material slots"), default=list)
    attempt_limit = models.PositiveSmallIntegerField(
        _("attempt limit"), default=3, validators=[MinValueValidator(1)]
    )
    min_credit_score = models.PositiveSmallIntegerField(
        _("minimum credit score"), null=True, blank=True
    )
    review_target_days = models.PositiveSmallIntegerField(
        _("review target (business days)"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )
    approval_needs_four_eyes = models.BooleanField(
        _("approvals need a second signature"), default=False
    )
    is_active = models.BooleanField(_("accepting applications"), default=True)

    class Meta:
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        ordering = ("code",)

    def __str__(self) -> str:
        return str(ProgramCode(self.code).label)

    @property
    def slot_codes(self) -> list[str]:
        return [entry["slot"] for entry in self.slots]

    @property
    def required_slots(self) -> list[str]:
        return [entry["slot"] for entry in self.slots if entry.get("required", True)]


class ReasonCode(models.Model):
    """One entry of the reason catalogue (DESIGN §4). Reasons are data, not strings in code."""

    code = models.CharField(_("code"), max_length=40, primary_key=True)
    category = models.CharField(_("category"), max_length=20, choices=ReasonCategory)
    outcome = models.CharField(_("outcome"), max_length=10, choices=ReasonOutcome)
    # Decision values this reason may justify (reject, request_materials, freeze, ...).
    decisions = models.JSONField(_("usable for"), default=list)
    message_zh_hans = models.TextField(_("applicant message (Chinese)"))
    message_en = models.TextField(_("applicant message (English)"))
    guidance_zh_hans = models.TextField(_("reviewer guidance (Chinese)"), blank=True)
    guidance_en = models.TextField(_("reviewer guidance (English)"), blank=True)
    slots = models.JSONField(_("slots to re-request"), default=list, blank=True)
    counts_as_attempt = models.BooleanField(_("counts as an attempt"), default=True)
    needs_second_signature = models.BooleanField(_("needs a second signature"), default=False)
    sla_penalty = models.BooleanField(
        _("counts against the SLA"),
        default=True,
        help_text=_("Off for our own failures: the time is not held against the review target."),
    )
    # Fraud reasons are never explained to the applicant (no tipping-off).
    disclosed_to_applicant = models.BooleanField(_("shown to the applicant"), default=True)
    cooloff_days = models.PositiveSmallIntegerField(
        _("days before a new application"), null=True, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("reason code")
        verbose_name_plural = _("reason codes")
        ordering = ("category", "code")

    def __str__(self) -> str:
        return self.code

    def applicant_message(self, language: str | None = None) -> str:
        language = language or translation.get_language() or settings.LANGUAGE_CODE
        return self.message_en if language.startswith("en") else self.message_zh_hans

    def guidance(self, language: str | None = None) -> str:
        language = language or translation.get_language() or settings.LANGUAGE_CODE
        return self.guidance_en if language.startswith("en") else self.guidance_zh_hans

    @property
    def is_retryable(self) -> bool:
        return self.outcome == ReasonOutcome.RETRY


def reasons_told(
    codes: Iterable[str], *, frozen: bool, catalogue: Mapping[str, ReasonCode] | None = None
) -> list[ReasonCode]:
    """The reasons the applicant (and the wallet, which may pass them on) may learn, in order.

    The one "no tipping-off" rule (DESIGN §3): a freeze names only the reasons marked
    `disclosed_to_applicant`; other decisions name all of theirs. Unknown codes are dropped.
    `catalogue` (code → ReasonCode) saves a query per call when the caller holds one.
    """
    codes = list(codes)
    if catalogue is None:
        catalogue = ReasonCode.objects.in_bulk(codes)
    return [
        catalogue[code]
        for code in codes
        if code in catalogue and (catalogue[code].disclosed_to_applicant or not frozen)
    ]


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
        conditions=[_has_required_slots],
        permission=rules.may_submit,
    )
    def submit(self, *, now: datetime) -> None:
        self.submitted_at = now
        self.queued_at = now

    @transition(field=state, source=S.SUBMITTED, target=S.REVIEWING, permission=rules.may_claim)
    def claim(self, *, reviewer: Any) -> None:
        self.assignee = reviewer
        self.preferred_reviewer = reviewer

    @transition(
        field=state,
        source=[S.SUBMITTED, S.REVIEWING],
        target=S.REVIEWING,
        permission=rules.may_assign,
    )
    def assign(self, *, reviewer: Any) -> None:
        self.assignee = reviewer
        self.preferred_reviewer = reviewer

    @transition(field=state, source=S.REVIEWING, target=S.SUBMITTED, permission=rules.may_release)
    def release(self) -> None:
        self.assignee = None

    @transition(
        field=state,
        source=S.REVIEWING,
        target=S.NEEDS_MATERIALS,
        conditions=[_no_pending_proposal],
        permission=rules.may_decide,
    )
    def request_materials(self) -> None:
        self.assignee = None
        self.resubmitted = False

    @transition(
        field=state,
        source=S.NEEDS_MATERIALS,
        target=S.SUBMITTED,
        conditions=[_requested_slots_renewed],
        permission=rules.may_resubmit,
    )
    def resubmit(self, *, now: datetime) -> None:
        self.queued_at = now
        self.resubmitted = True

    @transition(
        field=state,
        source=S.REVIEWING,
        target=S.APPROVED,
        conditions=[_all_current_documents_accepted],
        permission=rules.may_decide,
    )
    def approve(self, *, now: datetime) -> None:
        self.decided_at = now
        self.assignee = None
        self.state_reason = ""

    @transition(field=state, source=S.REVIEWING, target=S.REJECTED, permission=rules.may_decide)
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
        conditions=[_may_reapply],
        permission=rules.may_resubmit,
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
        permission=rules.may_freeze,
    )
    def freeze(self, *, reason: ReasonCode) -> None:
        self.assignee = None
        self.state_reason = reason.code
        if reason.code in URGENT_FREEZE_REASONS:
            self.priority = Priority.URGENT

    @transition(
        field=state, source=S.ACCOUNT_FROZEN, target=S.REVIEWING, permission=rules.may_unfreeze
    )
    def unfreeze(self, *, reviewer: Any) -> None:
        self.assignee = reviewer
        self.decided_at = None
        self.state_reason = ""

    @transition(
        field=state, source=list(CLOSABLE_STATES), target=S.CLOSED, permission=rules.may_close
    )
    def close(self, *, now: datetime, reason: ReasonCode) -> None:
        self.closed_at = now
        self.assignee = None
        self.state_reason = reason.code


def document_upload_path(instance: Document, filename: str) -> str:
    """A random name: neither the applicant's filename nor anything guessable reaches the disk."""
    token = secrets.token_hex(16)
    return f"documents/{token[:2]}/{token}"


class Document(models.Model):
    """One version of one material slot. A new upload is a new row; nothing is overwritten."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="documents")
    slot = models.CharField(_("slot"), max_length=40, choices=Slot)
    version = models.PositiveSmallIntegerField(_("version"))
    file = models.FileField(_("file"), upload_to=document_upload_path, max_length=255)
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    # A small JPEG for the reviewers' lists, made from the cleaned image; none for PDFs and video.
    thumbnail = models.FileField(
        _("thumbnail"), upload_to=document_upload_path, max_length=255, blank=True
    )
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveBigIntegerField(_("size in bytes"))
    original_name = models.CharField(_("original file name"), max_length=255, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    uploaded_by_label = models.CharField(max_length=254)
    uploaded_at = models.DateTimeField(_("uploaded"), default=timezone.now)
    verdict = models.CharField(
        _("verdict"), max_length=20, choices=Verdict, default=Verdict.PENDING
    )
    verdict_reason = models.ForeignKey(
        ReasonCode, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verdict_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verdict_at = models.DateTimeField(null=True, blank=True)
    # For the automatic checks (DESIGN §6): a 256-bit difference hash of the stored image (hex),
    # and the software named in the original file's metadata, recorded before it was stripped.
    perceptual_hash = models.CharField(max_length=64, blank=True, default="")
    source_software = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ("case", "slot", "-version")
        constraints = [
            models.UniqueConstraint(fields=["case", "slot", "version"], name="document_version"),
        ]
        indexes = [
            # The duplicate check's exact matches (cases/checks.py, similar_pictures).
            models.Index(
                fields=["perceptual_hash"],
                condition=~Q(perceptual_hash=""),
                name="document_perceptual_hash",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.slot} v{self.version}"


class MaterialRequest(models.Model):
    """What the applicant must provide again: after request_materials, or before reapplying."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="material_requests")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason_codes = models.JSONField(default=list)
    slots = models.JSONField(default=list)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("material request")
        verbose_name_plural = _("material requests")
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(resolved_at=None), name="one_open_request_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case}: {', '.join(self.slots)}"

    def missing_slots(self) -> list[str]:
        """Requested slots that have no version newer than this request."""
        renewed = set(
            self.case.documents.filter(uploaded_at__gte=self.created_at).values_list(
                "slot", flat=True
            )
        )
        updated = self.case.declared_data_updated_at
        if updated is not None and updated >= self.created_at:
            renewed.add(Slot.DECLARED_DATA)
        return [slot for slot in self.slots if slot not in renewed]


class DecisionProposal(models.Model):
    """The first signature of a four-eyes decision; the countersignature performs it."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="proposals")
    decision = models.CharField(
        max_length=20,
        choices=[
            (d.value, d.label) for d in (Decision.APPROVE, Decision.REJECT, Decision.UNFREEZE)
        ],
    )
    reason_codes = models.JSONField(default=list, blank=True)
    slots = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    note = models.TextField(_("internal note"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=20, choices=ProposalStatus, default=ProposalStatus.PENDING)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    check_note = models.TextField(blank=True)

    class Meta:
        verbose_name = _("four-eyes proposal")
        verbose_name_plural = _("four-eyes proposals")
        indexes = [
            # The Four-eyes queue: the oldest request for a second signature first.
            models.Index(
                fields=["proposed_at", "id"],
                condition=Q(status=ProposalStatus.PENDING),
                name="proposal_pending_queue",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(status=ProposalStatus.PENDING),
                name="one_pending_proposal_per_case",
            ),
            # The database itself refuses a maker who is also the checker.
            models.CheckConstraint(
                condition=Q(checked_by=None) | ~Q(checked_by=F("proposed_by")),
                name="maker_is_not_checker",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case}: {self.decision} ({self.status})"


class AuditTrailImmutable(Exception):
    """Raised when code tries to change or delete a recorded case event."""


class CaseEventQuerySet(models.QuerySet["CaseEvent"]):
    def update(self, **kwargs: Any) -> int:
        raise AuditTrailImmutable("Case events are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AuditTrailImmutable("Case events are append-only.")


class CaseEvent(models.Model):
    """One change to a case, hash-chained to the one before. Written only by audit.py."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField(_("sequence number"))
    event_type = models.CharField(_("event"), max_length=40, choices=EventType)
    actor_type = models.CharField(_("actor type"), max_length=20, choices=ActorType)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("actor"), max_length=254)
    from_state = models.CharField(_("from"), max_length=20, blank=True)
    to_state = models.CharField(_("to"), max_length=20, blank=True)
    reason_codes = models.JSONField(_("reasons"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    data = models.JSONField(_("data"), default=dict, blank=True)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("time"))
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = CaseEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("case event")
        verbose_name_plural = _("case events")
        ordering = ("case", "seq")
        constraints = [models.UniqueConstraint(fields=["case", "seq"], name="event_seq_per_case")]
        indexes = [models.Index(fields=["created_at"], name="caseevent_created")]

    def __str__(self) -> str:
        return f"{self.case_id}#{self.seq} {self.event_type}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditTrailImmutable("Case events are append-only.")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AuditTrailImmutable("Case events are append-only.")

    def reasons_told(self, catalogue: Mapping[str, ReasonCode] | None = None) -> list[ReasonCode]:
        """This event's reasons that the applicant may learn (see `reasons_told`)."""
        return reasons_told(
            self.reason_codes, frozen=self.event_type == EventType.FROZEN, catalogue=catalogue
        )

    @property
    def message_told(self) -> str:
        """The event's message as the applicant may read it: none for a freeze."""
        return "" if self.event_type == EventType.FROZEN else self.message


class Notification(models.Model):
    """An outbox row: written with the event, sent after commit, never sent twice."""

    event = models.ForeignKey(CaseEvent, on_delete=models.PROTECT, related_name="notifications")
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    channel = models.CharField(max_length=20, default="email")
    language = models.CharField(max_length=10)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(
                fields=["event", "recipient", "channel"], name="one_notification_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.recipient}"
