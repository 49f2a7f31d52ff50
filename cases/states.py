"""States, transitions, event types, decisions, material slots and their groups (DESIGN §2–§4),
each defined once."""

from __future__ import annotations

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class CaseState(models.TextChoices):
    # DESIGN §3's "(new)": the applicant is still filling the slots; no clock, no queue.
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    REVIEWING = "reviewing", _("Under review")
    NEEDS_MATERIALS = "needs_materials", _("Waiting for materials")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    ACCOUNT_FROZEN = "account_frozen", _("Account frozen")
    CLOSED = "closed", _("Closed")


S = CaseState
FREEZABLE_STATES = (S.SUBMITTED, S.REVIEWING, S.NEEDS_MATERIALS, S.APPROVED, S.REJECTED)
CLOSABLE_STATES = (S.APPROVED, S.REJECTED, S.NEEDS_MATERIALS, S.ACCOUNT_FROZEN)
# States in which the applicant may still add documents or correct declared data.
APPLICANT_EDITABLE_STATES = (S.DRAFT, S.NEEDS_MATERIALS, S.REJECTED)
OPEN_STATES = (S.DRAFT, S.SUBMITTED, S.REVIEWING, S.NEEDS_MATERIALS)
# A stolen account is the reviewers' most urgent work.
URGENT_FREEZE_REASONS = ("THEFT_REPORTED",)


class Transition(StrEnum):
    """The transitions of the case state graph, by the name of their method on `Case`."""

    SUBMIT = "submit"
    CLAIM = "claim"
    ASSIGN = "assign"
    RELEASE = "release"
    REQUEST_MATERIALS = "request_materials"
    RESUBMIT = "resubmit"
    APPROVE = "approve"
    REJECT = "reject"
    REAPPLY = "reapply"
    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    CLOSE = "close"


class EventType(models.TextChoices):
    CREATED = "created", _("Application started")
    DECLARED_DATA_UPDATED = "declared_data_updated", _("Declared data updated")
    DOCUMENT_UPLOADED = "document_uploaded", _("Document uploaded")
    DOCUMENT_VERDICT = "document_verdict", _("Document reviewed")
    SUBMITTED = "submitted", _("Submitted")
    CLAIMED = "claimed", _("Claimed")
    ASSIGNED = "assigned", _("Assigned")
    RELEASED = "released", _("Released to the queue")
    MATERIALS_REQUESTED = "materials_requested", _("Materials requested")
    RESUBMITTED = "resubmitted", _("Resubmitted")
    DECISION_PROPOSED = "decision_proposed", _("Decision proposed for a second signature")
    DECISION_SENT_BACK = "decision_sent_back", _("Proposed decision sent back")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    REAPPLIED = "reapplied", _("Applied again")
    FROZEN = "frozen", _("Account frozen")
    UNFROZEN = "unfrozen", _("Account unfrozen")
    CLOSED = "closed", _("Closed")
    SLA_AT_RISK = "sla_at_risk", _("Review deadline at risk")
    SLA_BREACHED = "sla_breached", _("Review deadline missed; escalated")
    SLA_RETARGETED = "sla_retargeted", _("Review target changed")
    APPLICANT_REMINDED = "applicant_reminded", _("Applicant reminded to upload materials")
    CHECKS_UPDATED = "checks_updated", _("Automatic checks raised or resolved signals")
    SIGNAL_CLEARED = "signal_cleared", _("Signal cleared by a reviewer")
    LEGAL_HOLD_PROPOSED = "legal_hold_proposed", _("Legal hold proposed")
    LEGAL_HOLD_PLACED = "legal_hold_placed", _("Legal hold placed (countersigned)")
    LEGAL_HOLD_LIFT_PROPOSED = "legal_hold_lift_proposed", _("Lifting the legal hold proposed")
    LEGAL_HOLD_LIFTED = "legal_hold_lifted", _("Legal hold lifted (countersigned)")
    LEGAL_HOLD_DECLINED = "legal_hold_declined", _("Legal hold proposal declined")
    DOCUMENTS_PURGED = "documents_purged", _("Document files purged after the retention period")


T, E = Transition, EventType
# The one event each transition writes.
TRANSITION_EVENTS: dict[Transition, EventType] = {
    T.SUBMIT: E.SUBMITTED,
    T.CLAIM: E.CLAIMED,
    T.ASSIGN: E.ASSIGNED,
    T.RELEASE: E.RELEASED,
    T.REQUEST_MATERIALS: E.MATERIALS_REQUESTED,
    T.RESUBMIT: E.RESUBMITTED,
    T.APPROVE: E.APPROVED,
    T.REJECT: E.REJECTED,
    T.REAPPLY: E.REAPPLIED,
    T.FREEZE: E.FROZEN,
    T.UNFREEZE: E.UNFROZEN,
    T.CLOSE: E.CLOSED,
}

# --- event groups: what follows an event (cases/outbox.py) and who reads it --------------------

# The applicant is e-mailed about these (DESIGN §3, "applicant hears").
APPLICANT_EVENTS = frozenset(
    {
        E.SUBMITTED,
        E.MATERIALS_REQUESTED,
        E.RESUBMITTED,
        E.APPROVED,
        E.REJECTED,
        E.REAPPLIED,
        E.FROZEN,
        E.UNFROZEN,
        E.CLOSED,
        E.APPLICANT_REMINDED,
    }
)
# Reviewers and supervisors are e-mailed about these (DESIGN §5).
STAFF_EVENTS = frozenset({E.SLA_AT_RISK, E.SLA_BREACHED})
# The applicant's history, in the portal and through the API: what they are e-mailed about and
# what they did themselves.
HISTORY_EVENTS = APPLICANT_EVENTS | {E.CREATED, E.DOCUMENT_UPLOADED, E.DECLARED_DATA_UPDATED}
# The changes of state a webhook subscription may pick (in this order); none picked means all.
WEBHOOK_EVENTS = (
    E.SUBMITTED,
    E.CLAIMED,
    E.ASSIGNED,
    E.RELEASED,
    E.MATERIALS_REQUESTED,
    E.RESUBMITTED,
    E.APPROVED,
    E.REJECTED,
    E.REAPPLIED,
    E.FROZEN,
    E.UNFROZEN,
    E.CLOSED,
)
# The automatic checks run after these (DESIGN §6: after submission and after every upload).
CHECKED_EVENTS = frozenset({E.SUBMITTED, E.RESUBMITTED, E.REAPPLIED, E.DOCUMENT_UPLOADED})


class Decision(models.TextChoices):
    """What a reason code may justify, and what a four-eyes proposal may carry."""

    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    REQUEST_MATERIALS = "request_materials", _("Request materials")
    REUPLOAD = "reupload", _("Request a new upload of a document")
    FREEZE = "freeze", _("Freeze")
    UNFREEZE = "unfreeze", _("Unfreeze")
    CLOSE = "close", _("Close")


FOUR_EYES_DECISIONS = (Decision.APPROVE, Decision.REJECT, Decision.UNFREEZE)


class ActorType(models.TextChoices):
    USER = "user", _("Person")
    SYSTEM = "system", _("System")
    INTEGRATION = "integration", _("Integration")


class Priority(models.IntegerChoices):
    LOW = 0, _("Low")
    NORMAL = 1, _("Normal")
    HIGH = 2, _("High")
    URGENT = 3, _("Urgent")


class Verdict(models.TextChoices):
    PENDING = "pending", _("Not yet reviewed")
    ACCEPTED = "accepted", _("Accepted")
    REUPLOAD_REQUESTED = "reupload_requested", _("New upload requested")


class ProgramCode(models.TextChoices):
    REAL_NAME = "real_name", _("Real-name verification")
    VIDEO = "video", _("Video verification")
    CREDIT = "credit", _("Credit-based verification")
    BUSINESS = "business", _("Business verification")


class MaterialKind(models.TextChoices):
    IMAGE = "image", _("Image")
    PDF = "pdf", _("PDF")
    VIDEO = "video", _("Video")
    DATA = "data", _("Declared data")


class Slot(models.TextChoices):
    """Typed material slots. `declared_data` is the form the applicant filled in, not a file."""

    DECLARED_DATA = "declared_data", _("Personal information")
    ID_FRONT = "id_front", _("ID card, front")
    ID_BACK = "id_back", _("ID card, back")
    SELFIE_WITH_ID = "selfie_with_id", _("Selfie holding the ID card")
    LIVENESS_VIDEO = "liveness_video", _("Liveness video")
    LEGAL_REP_ID_FRONT = "legal_rep_id_front", _("Legal representative's ID card, front")
    LEGAL_REP_ID_BACK = "legal_rep_id_back", _("Legal representative's ID card, back")
    BUSINESS_LICENCE = "business_licence", _("Business licence")
    FINANCIAL_STATEMENTS = "financial_statements", _("Financial statements")
    TAX_REGISTRATION = "tax_registration", _("Tax registration certificate")
    PERSONAL_INFO_FORM = "personal_info_form", _("Personal information form")


SLOT_KINDS: dict[str, tuple[str, ...]] = {
    Slot.DECLARED_DATA: (MaterialKind.DATA,),
    Slot.ID_FRONT: (MaterialKind.IMAGE,),
    Slot.ID_BACK: (MaterialKind.IMAGE,),
    Slot.SELFIE_WITH_ID: (MaterialKind.IMAGE,),
    Slot.LIVENESS_VIDEO: (MaterialKind.VIDEO,),
    Slot.LEGAL_REP_ID_FRONT: (MaterialKind.IMAGE,),
    Slot.LEGAL_REP_ID_BACK: (MaterialKind.IMAGE,),
    Slot.BUSINESS_LICENCE: (MaterialKind.IMAGE, MaterialKind.PDF),
    Slot.FINANCIAL_STATEMENTS: (MaterialKind.PDF,),
    Slot.TAX_REGISTRATION: (MaterialKind.PDF,),
    Slot.PERSONAL_INFO_FORM: (MaterialKind.PDF, MaterialKind.IMAGE),
}

FILE_SLOTS = tuple(slot for slot, kinds in SLOT_KINDS.items() if MaterialKind.DATA not in kinds)


class ReasonCategory(models.TextChoices):
    INFORMATION = "information", _("Information")
    MATERIALS = "materials", _("Materials")
    BIOMETRIC = "biometric", _("Biometric")
    FRAUD = "fraud", _("Fraud")
    ELIGIBILITY = "eligibility", _("Eligibility")
    TECHNICAL = "technical", _("Technical")
    ACCOUNT = "account", _("Account")
    PROCESS = "process", _("Process")


class ReasonOutcome(models.TextChoices):
    RETRY = "retry", _("May try again")
    FINAL = "final", _("Final")
    NONE = "none", _("Not a rejection reason")


class ProposalStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a second signature")
    COUNTERSIGNED = "countersigned", _("Countersigned")
    SENT_BACK = "sent_back", _("Sent back")
    SUPERSEDED = "superseded", _("Superseded")


class HoldStatus(models.TextChoices):
    """A legal hold's life: proposed by one supervisor, placed when a second countersigns;
    lifting it takes the same two signatures. Every status but the last two stops the purge."""

    PROPOSED = "proposed", _("Proposed, waiting for a countersignature")
    ACTIVE = "active", _("In force")
    LIFT_PROPOSED = "lift_proposed", _("In force; lifting proposed")
    LIFTED = "lifted", _("Lifted")
    DECLINED = "declined", _("Declined")


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Waiting for a worker")
    RUNNING = "running", _("Being built")
    READY = "ready", _("Ready to download")
    FAILED = "failed", _("Failed")
    EXPIRED = "expired", _("Deleted after its time")


# The holds that keep a case's files (a proposed one already does: evidence is kept while the
# second supervisor looks).
HOLDING = frozenset({HoldStatus.PROPOSED, HoldStatus.ACTIVE, HoldStatus.LIFT_PROPOSED})


class ClockStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused while waiting for the applicant")
    MET = "met", _("Met")
    BREACHED = "breached", _("Breached")


class SegmentKind(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")


class SignalKind(models.TextChoices):
    """What an automatic check found (DESIGN §6). Signals inform a reviewer; they never decide."""

    ID_NUMBER = "id_number", _("Resident ID number fails its checks")
    CREDIT_CODE = "credit_code", _("Unified social credit code fails its checks")
    PROFILE_MISMATCH = "profile_mismatch", _("Declared name differs from the wallet account")
    CREDIT_SCORE = "credit_score", _("Credit score below the program minimum")
    DEVICE_RISK = "device_risk", _("Risky device reported by the wallet")
    IMAGE_QUALITY = "image_quality", _("Poor image quality")
    DUPLICATE_IMAGE = "duplicate_image", _("Same image used by another applicant")
    EDITING_SOFTWARE = "editing_software", _("Image saved by editing software")


class SignalSeverity(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class SignalStatus(models.TextChoices):
    OPEN = "open", _("Open")
    CLEARED = "cleared", _("Cleared by a reviewer")
    RESOLVED = "resolved", _("No longer found")
