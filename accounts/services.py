"""What an applicant does to their own account (report it stolen, close it, take their data), and
the enrolment codes that let staff set up their second factor."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from cases import services
from cases.models import Case, CaseEvent, ReasonCode
from cases.states import APPLICANT_EVENTS, CLOSABLE_STATES, FREEZABLE_STATES, CaseState


@transaction.atomic
def account_report_theft(*, user: User) -> list[Case]:
    """Freeze the account and every case that can be frozen, at once, as urgent work.

    Side effects: `frozen_at` on the user; each case frozen with THEFT_REPORTED (one event each,
    priority urgent, the applicant e-mailed). Drafts cannot change while the account is frozen.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.frozen_at is None:
        user.frozen_at = timezone.now()
        user.save(update_fields=["frozen_at"])
    frozen = []
    for case in Case.objects.filter(applicant=user, state__in=FREEZABLE_STATES).order_by("pk"):
        services.case_freeze(case=case, actor=user, reason_code="THEFT_REPORTED")
        frozen.append(case)
    return frozen


@transaction.atomic
def account_close(*, user: User) -> list[Case]:
    """Close the account: every case that can be closed is closed with CLOSURE_REQUESTED, and the
    person can no longer sign in. The real-name record and every history stay (DESIGN §7).

    Cases a reviewer is deciding right now (submitted, under review) keep their course.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    closed = []
    for case in Case.objects.filter(applicant=user, state__in=CLOSABLE_STATES).order_by("pk"):
        if case.state == CaseState.ACCOUNT_FROZEN:
            continue  # a frozen account is closed by a supervisor, after the check
        services.case_close(case=case, actor=user, reason_code="CLOSURE_REQUESTED")
        closed.append(case)
    user.closed_at = timezone.now()
    user.is_active = False
    user.save(update_fields=["closed_at", "is_active"])
    return closed


def account_export(*, user: User) -> dict[str, Any]:
    """Everything we hold about the person that they may see, as JSON-ready data."""
    reasons = {r.code: r for r in ReasonCode.objects.all()}
    cases = []
    for case in Case.objects.filter(applicant=user).select_related("program").order_by("pk"):
        events = CaseEvent.objects.filter(case=case, event_type__in=APPLICANT_EVENTS)
        cases.append(
            {
                "reference": case.reference,
                "id": str(case.uuid),
                "program": case.program_id,
                "state": case.state,
                "attempt": case.attempt,
                "created_at": case.created_at.isoformat(),
                "declared": {
                    "full_name": case.full_name,
                    "id_number": case.id_number,
                    "phone": case.phone,
                    "company_name": case.company_name,
                    "credit_code": case.credit_code,
                    "contact_email": case.contact_email,
                },
                "documents": [
                    {
                        "slot": d.slot,
                        "version": d.version,
                        "sha256": d.sha256,
                        "content_type": d.content_type,
                        "uploaded_at": d.uploaded_at.isoformat(),
                        # Deleted under the retention rule: the row and its hash stay.
                        "file_deleted_at": d.purged_at.isoformat() if d.purged_at else None,
                    }
                    for d in case.documents.order_by("slot", "version")
                ],
                "history": [
                    {
                        "time": e.created_at.isoformat(),
                        "event": e.event_type,
                        "state": e.to_state,
                        # What the applicant was told, never the codes (no tipping-off).
                        "reasons": [
                            r.applicant_message(user.preferred_language)
                            for r in e.reasons_told(reasons)
                        ],
                    }
                    for e in events.order_by("seq")
                ],
            }
        )
    return {
        "account": {
            "email": user.email,
            "full_name": user.full_name,
            "language": user.preferred_language,
            "joined": user.date_joined.isoformat(),
            "frozen_at": user.frozen_at.isoformat() if user.frozen_at else None,
        },
        "sign_ins": [
            {"time": r.at.isoformat(), "ip": r.ip, "device": r.user_agent}
            for r in user.sign_ins.all()[:200]
        ],
        "cases": cases,
    }


ENROLMENT_CODE_VALID = timedelta(hours=72)


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.strip().upper().replace("-", "").encode()).hexdigest()


@transaction.atomic
def staff_issue_enrolment_code(*, user: User) -> str:
    """A one-time code (shown once, valid 72 h) with which `user` enrols a new authenticator.

    Side effects: every authenticator the user had is removed (a lost phone is replaced this
    way), and the code's hash and expiry are stored.
    """
    from django_otp.plugins.otp_totp.models import TOTPDevice

    raw = secrets.token_hex(8).upper()  # 64 bits, typed from a message: grouped in fours
    code = "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))
    TOTPDevice.objects.filter(user=user).delete()
    User.objects.filter(pk=user.pk).update(
        enrolment_code_hash=_code_hash(code),
        enrolment_code_expires_at=timezone.now() + ENROLMENT_CODE_VALID,
    )
    return code


def staff_enrolment_code_matches(*, user: User, code: str) -> bool:
    fresh = User.objects.get(pk=user.pk)
    if not fresh.enrolment_code_hash or fresh.enrolment_code_expires_at is None:
        return False
    if fresh.enrolment_code_expires_at < timezone.now():
        return False
    return hmac.compare_digest(fresh.enrolment_code_hash, _code_hash(code))


def staff_enrolment_done(*, user: User) -> None:
    User.objects.filter(pk=user.pk).update(enrolment_code_hash="", enrolment_code_expires_at=None)
