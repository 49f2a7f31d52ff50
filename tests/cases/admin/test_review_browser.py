"""A reviewer's morning in a real browser: Debian's Chromium, driven by Playwright, against the
live server. Sign in with password and TOTP, claim the next case, request materials with a
reason; the applicant then finds that reason on their side.

Screenshots of the queue and the review screen are kept under var/test-artefacts/ (or
$KYCREVIEW_ARTEFACTS). Without /usr/bin/chromium the test is skipped, unless
KYCREVIEW_REQUIRE_BROWSER=1 (CI sets it), when it fails instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.utils import translation
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.roles import Role
from cases.emails import render_notification
from cases.models import Case, CaseEvent, Notification, ReasonCode
from cases.sla.selectors import case_eta
from cases.states import CaseState, EventType, Slot
from tests.browser import artefacts, chromium_page
from tests.factories import submitted_case
from tests.helpers import make_user

pytestmark = pytest.mark.slow


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with chromium_page(
        monkeypatch, locale="en-GB", viewport={"width": 1400, "height": 1000}
    ) as page:
        yield page


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():06d}"


def test_reviewer_signs_in_with_totp_claims_and_requests_materials(
    transactional_db: None, live_server: Any, browser_page: Any
) -> None:
    page = browser_page
    applicant = make_user("ann@example.com", Role.APPLICANT, preferred_language="en")
    reviewer = make_user(
        "rex@example.com", Role.REVIEWER, full_name="Rex Reviewer", preferred_language="en"
    )
    device = TOTPDevice.objects.create(user=reviewer, name="phone", confirmed=True)
    case = submitted_case(applicant)
    shots = artefacts("workbench")

    # Password, then the second factor.
    page.goto(f"{live_server.url}/admin/")
    page.fill("input[name=username]", reviewer.email)
    page.fill("input[name=password]", "pw-" + reviewer.email)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/second-factor/**")
    page.fill("input[name=token]", current_code(device))
    page.click("#second-factor-form input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")

    # The queue, then claim-next.
    page.goto(f"{live_server.url}/admin/cases/unassignedcase/")
    assert case.reference is not None
    assert page.locator("#result_list").inner_text().count(case.reference) == 1
    page.screenshot(path=str(shots / "queue.png"), full_page=True)
    page.click("#claim-next")
    page.wait_for_url(f"**/review/{case.uuid}/")
    assert "Under review" in page.inner_text("#case-state")
    assert "business time left" in page.inner_text("#case-sla")
    page.screenshot(path=str(shots / "review.png"), full_page=True)

    # Request materials with a reason from the catalogue, previewing the applicant's e-mail.
    form = page.locator("#form-request_materials")
    form.locator("summary").click()
    # A reason pre-ticks the items it re-requests (ID_NUMBER_INVALID: the declared data).
    declared = form.locator(f"input[value={Slot.DECLARED_DATA}]")
    form.locator("input[value=ID_NUMBER_INVALID]").check()
    assert declared.is_checked()
    form.locator("input[value=ID_NUMBER_INVALID]").uncheck()
    assert not declared.is_checked()
    # DOC_UNREADABLE names no slot of its own: the reviewer picks the blurred one.
    form.locator("input[value=DOC_UNREADABLE]").check()
    form.locator(f"input[value={Slot.ID_FRONT}]").check()
    form.locator("textarea").fill("The photo of the front is blurred; retake it in daylight.")
    form.locator("button[name=preview]").click()
    page.wait_for_selector("#preview")
    assert "retake it in daylight" in page.inner_text("#preview")
    page.screenshot(path=str(shots / "preview.png"), full_page=True)
    page.locator("#form-request_materials #do-request_materials").click()
    page.wait_for_selector("#case-state")
    assert "Waiting for materials" in page.inner_text("#case-state")

    # The applicant's side (through the ORM and the e-mail until the portal exists).
    case = Case.objects.get(pk=case.pk)
    assert case.state == CaseState.NEEDS_MATERIALS
    event = CaseEvent.objects.get(case=case, event_type=EventType.MATERIALS_REQUESTED)
    assert event.actor_user == reviewer and event.reason_codes == ["DOC_UNREADABLE"]
    reason = ReasonCode.objects.get(code="DOC_UNREADABLE").applicant_message("en")
    notification = Notification.objects.get(event=event, recipient=applicant)
    _subject, body = render_notification(notification)
    assert reason in body and "retake it in daylight" in body
    with translation.override("en"):
        assert case_eta(case).describe() == (
            "The review clock is paused until you upload: ID card, front."
        )
    assert (shots / "queue.png").stat().st_size > 0 and (shots / "review.png").stat().st_size > 0
