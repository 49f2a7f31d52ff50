"""The case domain (cases/models/case.py) and its SLA configuration and clocks (sla.py)."""

from cases.models.case import (
    AuditTrailImmutable,
    Case,
    CaseEvent,
    CaseEventQuerySet,
    DecisionProposal,
    Document,
    MaterialRequest,
    Notification,
    Program,
    ReasonCode,
    document_upload_path,
)
from cases.models.sla import CalendarOverride, ConfigChange, SlaClock, SlaPolicy, SlaSegment

__all__ = [
    "AuditTrailImmutable",
    "CalendarOverride",
    "Case",
    "CaseEvent",
    "CaseEventQuerySet",
    "ConfigChange",
    "DecisionProposal",
    "Document",
    "MaterialRequest",
    "Notification",
    "Program",
    "ReasonCode",
    "SlaClock",
    "SlaPolicy",
    "SlaSegment",
    "document_upload_path",
]
