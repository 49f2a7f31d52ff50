"""The applicant portal through the Django test client: the whole journey, refused uploads, other
people's cases, and the account's security pages."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import SignInRecord, User
from accounts.roles import Role
from cases import services
from cases.emails import render_notification
from cases.models import Case, CaseEvent, Document, Notification, ReasonCode
from cases.states import CaseState, EventType, Priority, Slot
from tests.factories import (
    VALID_ID_NUMBER,
    accept_all,
    ask_again,
    png_bytes,
    reviewing_case,
    submitted_case,
)
from tests.helpers import english_client, stored_files


def upload_file(client: Client, case: Case, slot: str, content: bytes, name: str) -> Any:
    file = io.BytesIO(content)
    file.name = name
    return client.post(reverse("portal:upload", args=[case.uuid, slot]), {"file": file})


def applicant_mails(case: Case) -> list[str]:
    """The applicant's e-mails for this case, rendered as they are sent, oldest first."""
    rows = Notification.objects.filter(event__case=case, recipient=case.applicant).order_by("pk")
    return [render_notification(n)[1] for n in rows]


def test_the_whole_journey(db: None, reviewer: User) -> None:
    client = english_client()
    # Sign up.
    response = client.post(
        reverse("signup"),
        {
            "email": "mei@example.com",
            "full_name": "Mei Lin",
            "preferred_language": "en",
            "password1": "a long enough passphrase 42",
            "password2": "a long enough passphrase 42",
        },
    )
    assert response.status_code == 302
    user = User.objects.get(email="mei@example.com")
    assert user.has_role(Role.APPLICANT) and SignInRecord.objects.filter(user=user).count() == 1

    # Apply: a wrong ID number is caught up front with a precise message.
    start = reverse("portal:start", args=["real_name"])
    bad = client.post(
        start, {"full_name": "Mei Lin", "id_number": "110105194912310021", "phone": "138"}
    )
    assert bad.status_code == 400
    errors = bad.context["form"].errors
    assert "last character does not match" in errors["id_number"][0]
    assert "11-digit" in errors["phone"][0]
    assert not Case.objects.exists()
    ok = client.post(
        start, {"full_name": "Mei Lin", "id_number": VALID_ID_NUMBER, "phone": "13812345678"}
    )
    case = Case.objects.get(applicant=user)
    assert ok.status_code == 302 and ok["Location"] == reverse("portal:case", args=[case.uuid])

    # Upload both sides, then submit.
    first = client.get(reverse("portal:case", args=[case.uuid]))
    assert first.status_code == 200 and b'id="submit" disabled' in first.content
    for slot in (Slot.ID_FRONT, Slot.ID_BACK):
        assert upload_file(client, case, slot, png_bytes(), f"{slot}.png").status_code == 302
    assert client.post(reverse("portal:submit", args=[case.uuid])).status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    page: str = client.get(reverse("portal:case", args=[case.uuid])).content.decode()
    assert "Expected answer by" in page
    assert "We have received your application" in applicant_mails(case)[-1]

    # A reviewer asks for a new front photo.
    ask_again(case, reviewer, message="The front photo is blurred.")
    reason = ReasonCode.objects.get(code="DOC_UNREADABLE").applicant_message("en")
    page = client.get(reverse("portal:case", args=[case.uuid])).content.decode()
    requested = page[page.index('id="requested"') : page.index('id="uploads"')]
    assert "ID card, front" in requested and "ID card, back" not in requested
    assert reason in requested and "The front photo is blurred." in requested
    assert "paused until you upload: ID card, front" in page
    assert 'id="resubmit" disabled' in page
    mail_body = applicant_mails(case)[-1]
    assert reason in mail_body and "ID card, front" in mail_body

    # The new photo, then resubmit.
    assert (
        upload_file(client, case, Slot.ID_FRONT, png_bytes("#aa5500"), "new.png").status_code == 302
    )
    assert client.post(reverse("portal:resubmit", args=[case.uuid])).status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    assert "We have received your application" in applicant_mails(case)[-1]

    # The reviewer approves.
    services.case_claim(case=case, actor=reviewer)
    accept_all(case, reviewer)
    services.case_approve(case=case, actor=reviewer)
    page = client.get(reverse("portal:case", args=[case.uuid])).content.decode()
    assert "Your identity is verified." in page
    assert "has been approved" in applicant_mails(case)[-1]
    kinds = list(case.events.order_by("seq").values_list("event_type", flat=True))
    for expected in (
        EventType.CREATED,
        EventType.SUBMITTED,
        EventType.MATERIALS_REQUESTED,
        EventType.RESUBMITTED,
        EventType.APPROVED,
    ):
        assert expected in kinds
    heard = set(
        Notification.objects.filter(event__case=case, recipient=user).values_list(
            "event__event_type", flat=True
        )
    )
    assert heard == {
        EventType.SUBMITTED,
        EventType.MATERIALS_REQUESTED,
        EventType.RESUBMITTED,
        EventType.APPROVED,
    }


@pytest.mark.parametrize(
    ("content", "name", "status", "words"),
    [
        (b"<html><script>alert(1)</script></html>", "a.png", 415, "not an accepted type"),
        (b"", "empty.png", 400, "empty"),
    ],
)
def test_refused_uploads_through_the_portal_leave_nothing(
    applicant: User, content: Any, name: Any, status: Any, words: Any
) -> None:
    case = _draft(applicant)
    before = (stored_files(), Document.objects.count(), CaseEvent.objects.count())
    response = upload_file(english_client(applicant), case, Slot.ID_FRONT, content, name)
    assert response.status_code == status
    assert words in response.content.decode()
    assert (stored_files(), Document.objects.count(), CaseEvent.objects.count()) == before


def _draft(applicant: User) -> Case:
    from tests.factories import draft_case

    return draft_case(applicant)


def test_an_upload_over_the_cap_is_refused_with_413_before_it_is_read(
    applicant: User, settings: Any
) -> None:
    settings.MAX_UPLOAD_BYTES = 100 * 1024
    case = _draft(applicant)
    before = Document.objects.count()
    response = upload_file(
        english_client(applicant),
        case,
        Slot.ID_FRONT,
        b"\xff\xd8\xff" + b"0" * 300 * 1024,
        "big.jpg",
    )
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert Document.objects.count() == before


def test_other_peoples_cases_are_404_and_anonymous_people_sign_in(
    applicant: User, other_applicant: User
) -> None:
    case = _draft(applicant)
    document = case.documents.first()
    assert document is not None
    intruder = english_client(other_applicant)
    own = english_client(applicant).get(reverse("portal:document", args=[case.uuid, document.pk]))
    assert own.status_code == 200 and own["Content-Disposition"].startswith("attachment")
    for url in (
        reverse("portal:case", args=[case.uuid]),
        reverse("portal:declared", args=[case.uuid]),
        reverse("portal:document", args=[case.uuid, document.pk]),
    ):
        assert intruder.get(url).status_code == 404
    for url in (
        reverse("portal:submit", args=[case.uuid]),
        reverse("portal:upload", args=[case.uuid, Slot.ID_FRONT]),
    ):
        assert intruder.post(url).status_code == 404
    data = json.loads(intruder.get(reverse("data_download")).content)
    assert data["cases"] == []
    anonymous = english_client()
    for url in (
        reverse("portal:cases"),
        reverse("portal:case", args=[case.uuid]),
        reverse("security"),
    ):
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_password_reset_by_e_mail(db: None, applicant: User) -> None:
    client = english_client()
    assert client.post(reverse("password_reset"), {"email": applicant.email}).status_code == 302
    (message,) = mail.outbox
    link = re.search(r"http://testserver(/accounts/password-reset/\S+/)", str(message.body))
    assert link is not None
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0],
        {
            "new_password1": "another long passphrase 7",
            "new_password2": "another long passphrase 7",
        },
    )
    assert done.status_code == 302
    assert User.objects.get(pk=applicant.pk).check_password("another long passphrase 7")


def test_the_language_switch_changes_pages_and_e_mails(db: None, applicant: User) -> None:
    client = Client()
    client.force_login(applicant)
    assert "我的申请" in client.get(reverse("portal:cases")).content.decode()
    response = client.post(reverse("language"), {"language": "en", "next": "/cases/"})
    assert response.status_code == 302 and response["Location"] == "/cases/"
    assert "My applications" in client.get(reverse("portal:cases")).content.decode()
    assert User.objects.get(pk=applicant.pk).preferred_language == "en"
    evil = client.post(reverse("language"), {"language": "en", "next": "https://evil.example/"})
    assert evil["Location"] == "/"


def test_reporting_theft_freezes_everything_at_once_as_urgent(
    db: None, applicant: User, reviewer: User
) -> None:
    approved = reviewing_case(applicant, reviewer)
    accept_all(approved, reviewer)
    services.case_approve(case=approved, actor=reviewer)
    waiting = submitted_case(applicant)
    client = english_client(applicant)
    refused = client.post(reverse("report_theft"), {})
    assert refused.status_code == 302 and not User.objects.get(pk=applicant.pk).frozen_at
    response = client.post(reverse("report_theft"), {"theft-confirm": "on"}, follow=True)
    assert "Your account is frozen" in response.content.decode()
    for case in (approved, waiting):
        case = Case.objects.get(pk=case.pk)
        assert case.state == CaseState.ACCOUNT_FROZEN and case.priority == Priority.URGENT
        assert case.events.filter(event_type=EventType.FROZEN, actor_user=applicant).count() == 1
    assert User.objects.get(pk=applicant.pk).frozen_at is not None
    # Nothing can be started or changed now.
    start = client.post(
        reverse("portal:start", args=["real_name"]),
        {"full_name": "X", "id_number": VALID_ID_NUMBER, "phone": "13812345678"},
    )
    assert start.status_code == 400 and "frozen" in start.content.decode()


def test_closing_the_account_keeps_the_record(db: None, applicant: User, reviewer: User) -> None:
    case = reviewing_case(applicant, reviewer)
    services.case_reject(case=case, actor=reviewer, reason_codes=["DOC_EXPIRED"], message="x")
    client = english_client(applicant)
    page = client.get(reverse("security")).content.decode()
    assert "cannot be deleted" in page
    response = client.post(reverse("close_account"), {"close-confirm": "on"})
    assert response.status_code == 200 and "kept and cannot be deleted" in response.content.decode()
    user = User.objects.get(pk=applicant.pk)
    assert user.closed_at is not None and not user.is_active
    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.CLOSED and case.events.count() > 0
    assert not english_client().login(email=applicant.email, password="pw-" + applicant.email)


def test_sign_in_history_and_my_data(db: None, applicant: User) -> None:
    client = english_client()
    response = client.post(
        reverse("login"),
        {"username": applicant.email, "password": "pw-" + applicant.email},
        HTTP_USER_AGENT="Mozilla/5.0 (iPhone) TestPhone",
    )
    assert response.status_code == 302
    page = client.get(reverse("security")).content.decode()
    assert "TestPhone" in page and "127.0.0.1" in page
    case = _draft(applicant)
    download = client.get(reverse("data_download"))
    assert download["Content-Disposition"].startswith("attachment")
    data = json.loads(download.content)
    assert data["account"]["email"] == applicant.email
    assert data["cases"][0]["reference"] == case.reference
    assert data["cases"][0]["declared"]["id_number"] == VALID_ID_NUMBER
    assert data["sign_ins"][0]["device"].endswith("TestPhone")


def test_an_upload_without_the_csrf_token_is_refused(applicant: User) -> None:
    case = _draft(applicant)
    client = Client(enforce_csrf_checks=True)
    client.force_login(applicant)
    before = Document.objects.count()
    response = upload_file(client, case, Slot.ID_FRONT, png_bytes(), "x.png")
    assert response.status_code == 403
    assert Document.objects.count() == before


def test_the_export_never_names_a_fraud_reason(applicant: User, reviewer: User) -> None:
    case = reviewing_case(applicant, reviewer)
    services.case_freeze(case=case, actor=reviewer, reason_code="DOC_FORGED")
    data = english_client(applicant).get(reverse("data_download")).content.decode()
    assert "DOC_FORGED" not in data
    forged = ReasonCode.objects.get(code="DOC_FORGED")
    assert forged.applicant_message("en") not in data or forged.disclosed_to_applicant
    assert '"event": "frozen"' in data


def test_sign_up_refuses_the_addresses_of_integration_applicants(db: None) -> None:
    response = english_client().post(
        reverse("signup"),
        {
            "email": "ext-123@wallet.integration.invalid",
            "preferred_language": "en",
            "password1": "a long enough passphrase 42",
            "password2": "a long enough passphrase 42",
        },
    )
    assert response.status_code == 400
    assert not User.objects.filter(email__endswith=".invalid").exists()
