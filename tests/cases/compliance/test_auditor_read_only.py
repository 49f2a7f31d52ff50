"""An auditor changes nothing anywhere (DESIGN §8): every URL the project routes (the admin with
every model's add, change and delete pages, the review screen's actions, the portal, the API) is
sent every writing method as a signed-in auditor, with a plausible body; each answers 403 (or
405 where the path takes no writes at all), and afterwards every row of the domain is as it was.

The only writes an auditor makes are named here, each with why it changes nothing of a case:
asking for an evidence pack and verifying the chains (their own records), revealing an ID number
(a read, logged), and their own session, password and language. They are the read-only door's
exceptions (accounts/middleware.py), and the reveal and the pack are tested where they live."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.apps import apps
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from cases import services
from cases.admin.forms import ACTION_FORMS
from cases.audit import record_access
from cases.compliance.evidence import evidence_request
from cases.compliance.retention import legal_hold_propose
from cases.compliance.verification import chain_verification_run
from cases.models import (
    AccessKind,
    AccessLog,
    CalendarOverride,
    Case,
    CaseEvent,
    ChainVerification,
    Document,
    EvidenceExport,
    Integration,
    Signal,
    WebhookDelivery,
    WebhookSubscription,
)
from cases.services.config import config_save
from cases.states import ProgramCode, Slot
from tests.factories import approved_case, reviewing_case, submitted_case
from tests.helpers import make_key, signed_in

# An auditor's own records and preferences, and what reading writes (the access log).
OWN = {AccessLog, EvidenceExport, ChainVerification}
ALLOWED = {
    "admin:cases_evidence_request": "asks for an evidence pack: the export permission (§8)",
    "admin:cases_verify_now": "queues a read-only verification; writes only its own record",
    "admin:cases_reveal_id": "shows an ID number: a read, written to the access log",
    "admin:logout": "their own session",
    "logout": "their own session",
    "admin:password_change": "their own password",
    "language": "their own language",
    "set_language": "their own language (a cookie)",
    "admin:second_factor": "signing in",
    "admin:login": "signing in",
    "login": "signing in",
    # Anonymous flows that never touch a case; they answer the same to anyone.
    "signup": "a new applicant account (refused while signed in)",
    "password_reset": "an e-mail, to an address that has an account",
    "password_reset_confirm": "a reset link's own token",
}
# Routes that take no values we can supply (and take no writes).
UNREACHABLE = {"admin:view_on_site", "admin:", "api-not-found"}
WRITES = ("post", "put", "patch", "delete")


def routes(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = (
                f"{namespace}:{pattern.namespace}"
                if namespace and pattern.namespace
                else pattern.namespace or namespace
            )
            yield from routes(pattern.url_patterns, prefix + str(pattern.pattern), inner or "")
        elif isinstance(pattern, URLPattern):
            name = f"{namespace}:{pattern.name}" if namespace else (pattern.name or "")
            yield prefix + str(pattern.pattern), name


def admin_model(route: str) -> type[models.Model] | None:
    """The model of an admin route: admin/<app label>/<model name>/…"""
    match = re.match(r"admin/(\w+)/(\w+)/", route)
    if not match:
        return None
    try:
        return apps.get_model(match.group(1), match.group(2))
    except LookupError:
        return None


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of the domain (all models of our apps but the auditor's own records)."""
    rows = {}
    domain: list[type[models.Model]] = [*apps.get_app_config("cases").get_models(), User]
    for model in domain:
        if model in OWN or model._meta.proxy:
            continue
        values = list(model._default_manager.order_by("pk").values())
        if model is User:
            values = [{k: v for k, v in row.items() if k != "last_login"} for row in values]
        rows[model._meta.label] = values
    return rows


@pytest.fixture
def world(
    applicant: User, other_applicant: User, reviewer: User, senior: User, supervisor: User
) -> dict[str, Any]:
    """A case of each kind an auditor might reach, with everything the URLs name."""
    under_review = reviewing_case(applicant, reviewer)
    approved = approved_case(other_applicant, reviewer)
    business = submitted_case(applicant, ProgramCode.BUSINESS)
    services.case_claim(case=business, actor=reviewer)
    held = approved_case(applicant, reviewer)
    services.case_close(case=held, actor=applicant, reason_code="CLOSURE_REQUESTED")
    legal_hold_propose(case=held, actor=supervisor, reason="Inquiry")
    Signal.objects.create(
        case=under_review, kind="device_risk", subject="x", severity="high", evidence={}
    )
    wallet, _key = make_key()
    subscription = WebhookSubscription.objects.create(integration=wallet, url="https://w.example/h")
    event = CaseEvent.objects.filter(case=approved).first()
    assert event is not None
    WebhookDelivery.objects.create(
        subscription=subscription, event=event, case=approved, seq=event.seq, payload={}
    )
    override = CalendarOverride(day=date(2026, 10, 10), is_working_day=True, note="make-up")
    config_save(obj=override, actor=supervisor)
    record_access(user=supervisor, kind=AccessKind.VIEW_CASE, case=approved, ip=None)
    chain_verification_run(requested_by=supervisor)
    export = evidence_request(actor=supervisor, case=approved)
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    return {
        "case": under_review,
        "document": Document.objects.filter(case=under_review).first(),
        "signal": Signal.objects.filter(case=under_review).first(),
        "export": export,
        "others": [approved, business, held],
        "supervisor": supervisor,
        "device": device,
    }


def values_for(route: str, name: str, world: dict[str, Any]) -> dict[str, Any] | None:
    case: Case = world["case"]
    supplied = {
        "uuid": str(world["export"].uuid) if "evidenceexport" in name else str(case.uuid),
        "pk": (
            world["device"].pk
            if "totpdevice" in name
            else world["signal"].pk
            if "signal" in route
            else world["document"].pk
        ),
        "slot": Slot.ID_FRONT,
        "program": ProgramCode.REAL_NAME,
        "name": "sla",
        "app_label": "cases",
        "id": world["supervisor"].pk,
    }
    wanted = re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route)
    names = [a or b for a, b in wanted]
    values = {}
    for key in names:
        if key == "object_id":
            model = admin_model(route)
            obj = model._default_manager.order_by("pk").first() if model else None
            if obj is None:
                return None
            values[key] = obj.pk
        elif key in supplied:
            values[key] = supplied[key]
        else:
            return None
    return values


def fill(route: str, values: dict[str, Any]) -> str:
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(values[m.group(1)]), route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), path)
    return "/" + path.replace("^", "").replace("$", "")


BODY = {
    "reason": "x",
    "note": "x",
    "message": "x",
    "text": "x",
    "propose-text": "x",
    "countersign-text": "x",
    "decline-text": "x",
    "lift-text": "x",
    "reason_code": "SUPERVISOR_CLOSED",
    "reason_codes": "INFO_MISMATCH",
    "opened_from": "2026-01-01",
    "opened_to": "2026-12-31",
    "first_week": "2026-01-05",
    "target_days": "3",
    "_save": "1",
    "post": "yes",
}


def test_an_auditor_gets_403_on_every_write_path_and_changes_nothing(
    world: dict[str, Any], auditor: User
) -> None:
    client = signed_in(auditor)
    before = snapshot()
    answered: dict[str, int] = {}
    skipped: list[str] = []
    for route, name in sorted(set(routes(get_resolver().url_patterns))):
        if name in ALLOWED or name in UNREACHABLE or "(?P<url>.*)" in route:
            continue  # the admin's catch-all only redirects or answers 404
        values = values_for(route, name, world)
        if values is None:
            skipped.append(route)
            continue
        path = fill(route, values)
        methods = WRITES if path.startswith("/api/") else ("post",)
        bodies = (
            [{**BODY, "action": action} for action in [*ACTION_FORMS, "propose", "lift"]]
            if name in ("admin:cases_act", "admin:cases_legal_hold")
            else [BODY]
        )
        for method in methods:
            for body in bodies:
                response = getattr(client, method)(path, body)
                key = f"{method.upper()} {path} ({name}) {body.get('action', '')}".strip()
                answered[key] = response.status_code
    wrong = {key: status for key, status in answered.items() if status not in (403, 405)}
    assert not wrong, "\n".join(f"{k}: {v}" for k, v in sorted(wrong.items()))
    assert len(answered) > 150  # every model's admin pages, the actions, the portal, the API
    # What could not be reached is a model with no rows (its pages cannot be named).
    assert not skipped, "\n".join(skipped)
    assert snapshot() == before
    assert not Integration.objects.exclude(name="wallet").exists()
