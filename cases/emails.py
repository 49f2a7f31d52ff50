"""How an e-mail about a case reads: its subject and body, in the recipient's language, from the
event it tells of (the instants as the event recorded them). Reads only: the outbox sends
(cases/notifications.py); the review screen previews, and the auditors' timeline shows, the same
text."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.dateparse import parse_datetime

from cases.models import CaseEvent, Notification
from cases.states import STAFF_EVENTS, CaseState, Slot


def _reason_lines(event: CaseEvent, language: str) -> list[str]:
    """What the applicant may learn of the event's reasons (the one rule: reasons_told), in the
    order the reviewer gave them, as the portal lists them."""
    return [reason.applicant_message(language) for reason in event.reasons_told()]


def _instant(value: Any) -> datetime | None:
    return parse_datetime(value) if isinstance(value, str) else None


def render_notification(notification: Notification) -> tuple[str, str]:
    """(subject, body) of the e-mail the notification sends, as the recipient reads it."""
    event = notification.event
    case = event.case
    with translation.override(notification.language):
        context: dict[str, Any] = {
            "case": case,
            "event": event,
            "state_label": CaseState(event.to_state).label if event.to_state else "",
            "reasons": _reason_lines(event, notification.language),
            "slots": [Slot(slot).label for slot in event.data.get("slots", []) if slot in Slot],
            "message": event.message_told,
            "recipient": notification.recipient,
        }
        template = "staff_sla" if event.event_type in STAFF_EVENTS else "case_event"
        # Instants as the event recorded them: the case may have moved on when the mail goes out.
        context["due"] = _instant(event.data.get("due"))
        context["auto_close_at"] = _instant(event.data.get("auto_close_at"))
        subject = render_to_string(f"emails/{template}_subject.txt", context).strip()
        body = render_to_string(f"emails/{template}.txt", context)
    return " ".join(subject.split()), body
