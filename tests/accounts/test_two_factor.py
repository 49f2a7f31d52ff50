"""Staff reach the admin only with a password and a TOTP code; first sign-in enrols."""

from __future__ import annotations

import re
from datetime import timedelta

import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.services import staff_enrolment_code_matches, staff_issue_enrolment_code
from tests.helpers import english_client


def code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def password_sign_in(client: Client, user: User) -> None:
    response = client.post(
        reverse("admin:login"),
        {"username": user.email, "password": "pw-" + user.email, "next": "/admin/"},
    )
    assert response.status_code == 302, response.content


def test_first_sign_in_enrols_an_authenticator_then_lets_the_reviewer_in(
    db: None, reviewer: User
) -> None:
    client = english_client()
    password_sign_in(client, reviewer)
    # The password alone does not open the admin.
    index = client.get(reverse("admin:index"))
    assert index.status_code == 302
    login = client.get(index["Location"])
    assert login.status_code == 302 and reverse("admin:second_factor") in login["Location"]
    # The password alone does not even let them set up a second factor: a supervisor's code.
    ask = client.get(login["Location"])
    assert ask.status_code == 200 and 'id="enrolment-code-form"' in ask.content.decode()
    assert 'id="otp-qr"' not in ask.content.decode()
    wrong_code = client.post(login["Location"], {"code": "0000-0000-0000-0000"})
    assert wrong_code.status_code == 400 and not TOTPDevice.objects.filter(user=reviewer)
    enrolment = staff_issue_enrolment_code(user=reviewer)
    assert client.post(login["Location"], {"code": enrolment.lower()}).status_code == 302
    page = client.get(login["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="otp-qr"' in html and "data:image/svg+xml;base64," in html
    secret = re.search(r'id="otp-secret">([A-Z2-7=]+)<', html)
    assert secret is not None
    device = TOTPDevice.objects.get(user=reviewer)
    assert device.confirmed is False
    wrong = client.post(reverse("admin:second_factor"), {"token": "000000"})
    if code(device) != "000000":
        assert wrong.status_code == 400
    assert client.get(reverse("admin:index")).status_code == 302
    # A wrong code throttles the device for a moment (django-otp's back-off).
    device.refresh_from_db()
    throttled = client.post(reverse("admin:second_factor"), {"token": code(device)})
    assert throttled.status_code == 400 and "Too many wrong codes" in throttled.content.decode()
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        right = client.post(
            reverse("admin:second_factor"), {"token": code(device), "next": "/admin/"}
        )
    assert right.status_code == 302 and right["Location"] == "/admin/"
    device.refresh_from_db()
    assert device.confirmed is True
    assert client.get(reverse("admin:index")).status_code == 200
    # The code worked once: it is gone.
    assert not staff_enrolment_code_matches(user=reviewer, code=enrolment)


def test_an_enrolled_reviewer_gives_a_code_at_each_sign_in(db: None, supervisor: User) -> None:
    device = TOTPDevice.objects.create(user=supervisor, name="phone", confirmed=True)
    client = english_client()
    password_sign_in(client, supervisor)
    page = client.get(reverse("admin:second_factor"))
    assert page.status_code == 200 and 'id="otp-qr"' not in page.content.decode()
    assert client.post(reverse("admin:second_factor"), {"token": "12"}).status_code == 400
    ok = client.post(reverse("admin:second_factor"), {"token": code(device)})  # no back-off:
    # a malformed code never reaches the device.
    assert ok.status_code == 302
    assert client.get(reverse("admin:cases_case_changelist")).status_code == 200


def test_applicants_and_anonymous_people_never_enter_the_admin(db: None, applicant: User) -> None:
    anonymous = english_client()
    assert anonymous.get(reverse("admin:index")).status_code == 302
    assert anonymous.get(reverse("admin:second_factor")).status_code == 302
    client = english_client()
    response = client.post(
        reverse("admin:login"), {"username": applicant.email, "password": "pw-" + applicant.email}
    )
    assert response.status_code == 200  # the form again, with an error
    assert client.get(reverse("admin:index")).status_code == 302
    client.force_login(applicant)
    assert client.get(reverse("admin:second_factor")).status_code == 302
    assert not TOTPDevice.objects.filter(user=applicant).exists()


def test_an_expired_code_and_the_admin_action_and_the_command(db: None, reviewer: User) -> None:
    from io import StringIO

    from django.core.management import call_command

    expiring = staff_issue_enrolment_code(user=reviewer)
    with time_machine.travel(timezone.now() + timedelta(hours=73)):
        assert not staff_enrolment_code_matches(user=reviewer, code=expiring)
    # The administrator replaces a lost phone: the old authenticator goes, a new code is shown once.
    TOTPDevice.objects.create(user=reviewer, name="old phone", confirmed=True)
    from tests.helpers import signed_in

    admin = User.objects.create_superuser("root@example.com", "pw-root@example.com")
    response = signed_in(admin).post(
        reverse("admin:accounts_user_changelist"),
        {"action": "issue_enrolment_code", "_selected_action": [reviewer.pk]},
        follow=True,
    )
    shown = " ".join(str(m) for m in response.context["messages"])
    issued = re.search(r"([0-9A-F]{4}(?:-[0-9A-F]{4}){3})", shown)
    assert issued is not None
    assert staff_enrolment_code_matches(user=reviewer, code=issued.group(1))
    assert not TOTPDevice.objects.filter(user=reviewer).exists()
    out = StringIO()
    call_command("issue_enrolment_code", reviewer.email, stdout=out)
    printed = re.search(r"([0-9A-F]{4}(?:-[0-9A-F]{4}){3})", out.getvalue())
    assert printed is not None and staff_enrolment_code_matches(
        user=reviewer, code=printed.group(1)
    )
