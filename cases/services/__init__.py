"""Every change to a case: lock → check → transition → save → audit → outbox, in one transaction.

Admin, portal, API and tasks call these functions and nothing else; none of them calls a
transition method or sets `state`. Each function writes exactly one CaseEvent, hands it to the
outbox (cases/outbox.py) for what follows it after commit, and names its side effects in its
docstring. Errors are raised before anything is written.

- `intake`: the applicant's side (create, declared data, uploads, submit, resubmit, reapply);
- `review`: the reviewer's side (claim, assign, release, verdicts, decisions, freeze, close);
- `four_eyes`: when a second signature is needed, the proposal, countersign and send back;
- `decisions`: how an approval or a rejection is carried out, and the material requests;
- `transitions`: running one transition with its clock, event and outbox;
- `reasons`: the catalogue reasons and re-requested items a decision names;
- `config`: saving configuration, each change recorded.

Every writer locks and checks through cases/guards.py. The SLA's own services are in cases/sla/
(the clock, the sweep, re-targeting), the checks' in cases/checks/run.py (run them, clear a
signal) and the webhooks' in cases/integrations/webhooks.py.
"""

from cases.services.four_eyes import case_countersign, case_send_back, four_eyes_required
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
    "case_send_back",
    "case_submit",
    "case_unfreeze",
    "case_update_declared_data",
    "document_set_verdict",
    "document_upload",
    "document_upload_file",
    "four_eyes_required",
]
