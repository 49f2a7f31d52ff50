"""`manage.py seed_demo`: every program in every state, built through the services, loaded once,
with logins that work and documents that are real files."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.utils import translation
from PIL import Image
from stdnum.cn import ric, uscc

from accounts.models import User
from accounts.roles import Role
from cases.audit import verify_audit_chains
from cases.models import (
    Case,
    CaseEvent,
    DecisionProposal,
    Document,
    MaterialRequest,
    Notification,
    Program,
    Signal,
)
from cases.states import CaseState, EventType, ProgramCode, ProposalStatus
from tests.helpers import stored_files

DEMO = "@demo.kycreview.test"
LOGIN_ROW = re.compile(r"(\S+@demo\.kycreview\.test)\s+(\S+)")


@pytest.fixture
def demo_settings(settings: Any, db: None) -> Any:
    settings.DEBUG = True
    # The demo has ten users; the default hasher would spend seconds on them per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


def seed() -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("seed_demo", stdout=out)
    return out.getvalue()


def counts(settings: Any) -> dict[str, int]:
    models = (User, Case, CaseEvent, Document, MaterialRequest, DecisionProposal, Notification)
    result = {model.__name__: model.objects.count() for model in models}
    result["files"] = len(stored_files())
    return result


def logins(output: str) -> dict[str, str]:
    return dict(LOGIN_ROW.findall(output))


def test_seed_demo_loads_every_program_in_every_state_once(demo_settings: Any) -> None:
    first = seed()
    after_first = counts(demo_settings)
    second = seed()

    assert counts(demo_settings) == after_first
    assert "already loaded" in second
    assert logins(first) == logins(second)
    present = set(Case.objects.values_list("program_id", "state"))
    assert present >= {(program, state) for program in ProgramCode for state in CaseState}

    report = verify_audit_chains()
    assert report.ok, report.broken
    assert report.cases_checked == Case.objects.count()
    assert report.events_checked == CaseEvent.objects.count()
    for case in Case.objects.all():
        # The trail and the state agree: the newest event ends where the case is.
        assert case.events.order_by("-seq").first().to_state == case.state, case
    # The reports show the demo at once: its decisions are counted in the summary table.
    from cases.models import ReportFact

    decided = Case.objects.exclude(decided_at=None).count()
    sla = ReportFact.objects.filter(metric="sla").values_list("value", flat=True)
    assert decided and sum(sla) >= decided


def test_demo_users_of_every_role_sign_in_with_the_printed_password(demo_settings: Any) -> None:
    printed = logins(seed())

    assert len(printed) == User.objects.filter(email__endswith=DEMO).count() == 10
    for email, password in printed.items():
        assert authenticate(email=email, password=password) is not None, email
        assert authenticate(email=email, password=password + "x") is None
    for role in Role:
        users = User.objects.filter(groups__name=role, email__endswith=DEMO)
        assert users.exists(), role
        assert all(user.is_staff == (role != Role.APPLICANT) for user in users), role
        assert all(user.full_name for user in users)
    admin = User.objects.get(email="admin" + DEMO)
    assert admin.is_superuser and admin.is_staff
    assert not User.objects.filter(is_superuser=True).exclude(pk=admin.pk).exists()


def test_demo_cases_show_the_review_paths(demo_settings: Any) -> None:
    seed()

    waiting = DecisionProposal.objects.get(status=ProposalStatus.PENDING)
    assert waiting.case.state == CaseState.REVIEWING
    assert waiting.case.program_id == ProgramCode.BUSINESS
    assert waiting.decision == "approve"

    resubmitted = Case.objects.get(resubmitted=True, state=CaseState.SUBMITTED)
    types = list(resubmitted.events.values_list("event_type", flat=True))
    assert types.index(EventType.MATERIALS_REQUESTED) < types.index(EventType.RESUBMITTED)
    assert resubmitted.documents.filter(slot="id_front").count() == 2

    for case in Case.objects.filter(program=ProgramCode.BUSINESS, state=CaseState.APPROVED):
        approval = case.events.get(event_type=EventType.APPROVED)
        assert approval.data["maker"] != approval.data["checker"]
        assert approval.actor_user.has_perm("cases.countersign_case")
    signed = DecisionProposal.objects.filter(status=ProposalStatus.COUNTERSIGNED)
    assert signed.exists()
    assert all(p.proposed_by_id != p.checked_by_id for p in signed)

    def reasons(event_type: str) -> set[str]:
        events = CaseEvent.objects.filter(event_type=event_type)
        return {code for codes in events.values_list("reason_codes", flat=True) for code in codes}

    assert "DOC_UNREADABLE" in reasons(EventType.MATERIALS_REQUESTED)
    assert "INFO_MISMATCH" in reasons(EventType.REJECTED)
    assert "THEFT_REPORTED" in reasons(EventType.FROZEN)
    assert "CLOSURE_REQUESTED" in reasons(EventType.CLOSED)
    assert CaseEvent.objects.filter(event_type=EventType.UNFROZEN).exists()
    assert CaseEvent.objects.filter(event_type=EventType.REAPPLIED).exists()
    assert CaseEvent.objects.filter(actor_type="integration").exists()

    # The SLA queues are not empty on the first page load: one case at risk, one breached and
    # escalated (submitted earlier; the sweep ran), and the automatic checks' signals are there.
    at_risk = Case.objects.get(sla_at_risk_since__isnull=False, sla_breached_at=None)
    assert at_risk.state == CaseState.SUBMITTED and at_risk.assignee is None
    assert at_risk.events.filter(event_type=EventType.SLA_AT_RISK).exists()
    breached = Case.objects.get(sla_breached_at__isnull=False)
    assert breached.state == CaseState.REVIEWING and breached.assignee is not None
    escalation = breached.events.get(event_type=EventType.SLA_BREACHED)
    assert escalation.data["priority_to"] > escalation.data["priority_from"]
    submitted = breached.events.get(event_type=EventType.SUBMITTED)
    assert submitted.created_at < escalation.created_at
    assert Signal.objects.filter(kind="device_risk", status="open").exists()


def test_declared_numbers_are_valid_and_encrypted(demo_settings: Any) -> None:
    seed()

    cases = list(Case.objects.all())
    assert all(ric.is_valid(case.id_number) for case in cases)
    assert {ric.get_birth_date(case.id_number).year for case in cases} == {1988, 1992, 1995}
    business = [case for case in cases if case.program_id == ProgramCode.BUSINESS]
    assert business and all(uscc.is_valid(case.credit_code) for case in business)
    assert all(case.company_name and case.contact_email for case in business)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id_number FROM cases_case")
        stored = [row[0] for row in cursor.fetchall()]
    assert not any(ric.is_valid(value) for value in stored)  # ciphertext, not the number


def _pdf_is_consistent(data: bytes) -> bool:
    start = int(re.search(rb"startxref\n(\d+)\n%%EOF\n$", data).group(1))  # type: ignore[union-attr]
    table = data[start:].split(b"trailer")[0].splitlines()[3:]
    offsets = [int(line[:10]) for line in table]
    return data.startswith(b"%PDF-1.4") and all(
        data[offset:].startswith(b"%d 0 obj" % number)
        for number, offset in enumerate(offsets, start=1)
    )


def _mp4_boxes(data: bytes) -> Iterator[bytes]:
    position = 0
    while position < len(data):
        size, kind = struct.unpack(">I4s", data[position : position + 8])
        assert size >= 8
        yield kind
        position += size
    assert position == len(data)


def test_documents_are_real_files_of_their_content_type(demo_settings: Any) -> None:
    seed()

    types = set()
    for document in Document.objects.all():
        with document.file.open("rb") as handle:
            data = handle.read()
        assert hashlib.sha256(data).hexdigest() == document.sha256
        assert len(data) == document.size
        types.add(document.content_type)
        if document.content_type.startswith("image/"):
            image = Image.open(io.BytesIO(data))
            assert image.format == {"image/jpeg": "JPEG", "image/png": "PNG"}[document.content_type]
            assert image.width >= 600
            assert not image.getexif()
        elif document.content_type == "application/pdf":
            assert _pdf_is_consistent(data), document
        else:
            assert document.content_type == "video/mp4"
            assert list(_mp4_boxes(data)) == [b"ftyp", b"moov", b"free", b"mdat"]
    assert types == {"image/jpeg", "image/png", "application/pdf", "video/mp4"}
    assert len(stored_files()) == Document.objects.count()


def test_a_failed_load_leaves_nothing_behind(demo_settings: Any) -> None:
    # The business cases come last: everything before them must be rolled back, files too.
    Program.objects.filter(code=ProgramCode.BUSINESS).update(is_active=False)

    with pytest.raises(CommandError, match="nothing was saved"), translation.override("en"):
        seed()

    assert not User.objects.filter(email__endswith=DEMO).exists()
    assert not Case.objects.exists()
    assert not CaseEvent.objects.exists()
    assert stored_files() == []

    Program.objects.filter(code=ProgramCode.BUSINESS).update(is_active=True)
    assert "Demo data loaded" in seed()


def test_seed_demo_refuses_without_debug(demo_settings: Any) -> None:
    demo_settings.DEBUG = False

    with pytest.raises(CommandError, match="DEBUG"):
        seed()

    assert not User.objects.filter(email__endswith=DEMO).exists()


def test_demo_staff_get_a_printed_second_factor_that_works(demo_settings: Any) -> None:
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    output = seed()
    secrets = dict(
        (email, secret)
        for secret, email in re.findall(
            r"TOTP ([A-Z2-7=]+)  \((\S+@demo\.kycreview\.test)\)", output
        )
    )
    staff = User.objects.filter(email__endswith=DEMO, is_staff=True)
    assert set(secrets) == {user.email for user in staff}
    for user in staff:
        device = TOTPDevice.objects.get(user=user, confirmed=True)
        assert base64.b32decode(secrets[user.email]) == device.bin_key
        out = io.StringIO()
        call_command("totp_code", user.email, stdout=out)
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        assert out.getvalue().strip() == f"{totp.token():06d}"
        assert device.verify_token(out.getvalue().strip())


def test_the_printed_demo_api_key_reads_the_wallets_cases(demo_settings: Any) -> None:
    from django.test import Client

    output = seed()
    key = re.search(r"(kyc_demo\w+_[\w-]+)", output)
    assert key is not None
    client = Client(headers={"Authorization": f"Api-Key {key.group(1)}"})
    response = client.get("/api/v1/cases/", {"page_size": 200})
    assert response.status_code == 200
    listed = {row["id"] for row in response.json()["results"]}
    assert listed == {str(c.uuid) for c in Case.objects.filter(integration="wallet")}
    assert listed
