"""Every model of the app, split by topic; import them from here.

- `catalogue`: Program, ReasonCode (and the no-tipping-off rule, reasons_told);
- `case`: Case and its state graph; `queues`: the workbench queues (proxies of Case);
- `documents`: Document versions, MaterialRequest; `four_eyes`: DecisionProposal;
- `events`: CaseEvent (append-only, hash-chained), Notification (the e-mail outbox);
- `sla`: SlaPolicy, CalendarOverride, SlaClock, SlaSegment; `config`: ConfigChange;
- `checks`: Signal, DocumentHashBand; `access`: AccessLog; `append_only`: what the audit rows
  share; `compliance`: ChainVerification, LegalHold, EvidenceExport, ReportWeek and ReportFact (the
  reports' summary table), AuditCase (the auditors' list);
- `api`: integrations, API keys, idempotency, webhook subscriptions and deliveries.
"""

from cases.models.access import AccessKind, AccessLog
from cases.models.api import (
    ApiKey,
    ApiScope,
    DeliveryStatus,
    ExternalApplicant,
    IdempotencyRecord,
    Integration,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from cases.models.append_only import AuditTrailImmutable
from cases.models.case import QUEUE_ORDER, Case
from cases.models.catalogue import Program, ReasonCode, reasons_told
from cases.models.checks import DocumentHashBand, Signal
from cases.models.compliance import (
    AuditCase,
    ChainVerification,
    EvidenceExport,
    LegalHold,
    ReportFact,
    ReportWeek,
)
from cases.models.config import ConfigChange
from cases.models.documents import Document, MaterialRequest, document_upload_path
from cases.models.events import CaseEvent, CaseEventQuerySet, Notification
from cases.models.four_eyes import DecisionProposal
from cases.models.queues import (
    AtRiskCase,
    BreachedCase,
    FourEyesCase,
    FrozenCase,
    MyCase,
    UnassignedCase,
    WaitingCase,
)
from cases.models.sla import CalendarOverride, SlaClock, SlaPolicy, SlaSegment

__all__ = [
    "QUEUE_ORDER",
    "AccessKind",
    "AccessLog",
    "ApiKey",
    "ApiScope",
    "AtRiskCase",
    "AuditCase",
    "AuditTrailImmutable",
    "BreachedCase",
    "CalendarOverride",
    "Case",
    "CaseEvent",
    "CaseEventQuerySet",
    "ChainVerification",
    "ConfigChange",
    "DecisionProposal",
    "DeliveryStatus",
    "Document",
    "DocumentHashBand",
    "EvidenceExport",
    "ExternalApplicant",
    "FourEyesCase",
    "FrozenCase",
    "IdempotencyRecord",
    "Integration",
    "LegalHold",
    "MaterialRequest",
    "MyCase",
    "Notification",
    "Program",
    "ReasonCode",
    "ReportFact",
    "ReportWeek",
    "Signal",
    "SlaClock",
    "SlaPolicy",
    "SlaSegment",
    "UnassignedCase",
    "WaitingCase",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "document_upload_path",
    "reasons_told",
]
