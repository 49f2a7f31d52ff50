"""Every change to a case: lock → check → transition → save → audit, in one transaction.

Admin, portal, API and tasks call these functions and nothing else; none of them calls a
transition method or sets `state`. Each function writes exactly one CaseEvent and schedules its
side effects (notifications) on commit. Errors are raised before anything is written.
"""

from cases.services._common import four_eyes_required
from cases.services.checks import case_run_checks, signal_clear
from cases.services.four_eyes import case_countersign, case_send_back
from cases.services.intake import (
    case_create,
    case_reapply,
    case_resubmit,
    case_submit,
    case_update_declared_data,
    document_upload,
    document_upload_file,
)
from cases.services.review import (
    case_approve,
    case_assign,
    case_claim,
    case_claim_next,
    case_close,
    case_freeze,
    case_reject,
    case_release,
    case_request_materials,
    case_unfreeze,
    document_set_verdict,
)

__all__ = [
    "case_approve",
    "case_assign",
    "case_claim",
    "case_claim_next",
    "case_close",
    "case_countersign",
    "case_create",
    "case_freeze",
    "case_reapply",
    "case_reject",
    "case_release",
    "case_request_materials",
    "case_resubmit",
    "case_run_checks",
    "case_send_back",
    "case_submit",
    "case_unfreeze",
    "case_update_declared_data",
    "document_set_verdict",
    "document_upload",
    "document_upload_file",
    "four_eyes_required",
    "signal_clear",
]
