"""The case domain (cases/models/case.py) and its SLA configuration and clocks (sla.py)."""

from cases.models.access import AccessKind, AccessLog
from cases.models.case import (
    QUEUE_ORDER,
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
from cases.models.queues import (
    AtRiskCase,
    BreachedCase,
    FourEyesCase,
    FrozenCase,
    MyCase,
    UnassignedCase,
    WaitingCase,
)
from cases.models.sla import CalendarOverride, ConfigChange, SlaClock, SlaPolicy, SlaSegment

__all__ = [
    "QUEUE_ORDER",
    "AccessKind",
    "AccessLog",
    "AtRiskCase",
    "AuditTrailImmutable",
    "BreachedCase",
    "CalendarOverride",
    "Case",
    "CaseEvent",
    "CaseEventQuerySet",
    "ConfigChange",
    "DecisionProposal",
    "Document",
    "FourEyesCase",
    "FrozenCase",
    "MaterialRequest",
    "MyCase",
    "Notification",
    "Program",
    "ReasonCode",
    "SlaClock",
    "SlaPolicy",
    "SlaSegment",
    "UnassignedCase",
    "WaitingCase",
    "document_upload_path",
]
