"""The applicant's journey, shortened, in Debian's Chromium driven by Playwright: sign up, apply,
upload real files, submit; a reviewer asks for a new photo; the applicant reads why, in the
language they switch to, uploads it and resubmits. Screenshots go to var/test-artefacts/portal/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from accounts.models import User
from accounts.roles import Role
from cases.models import Case, ReasonCode
from cases.states import CaseState, Slot
from tests.browser import artefacts, chromium_page
from tests.factories import VALID_ID_NUMBER, ask_again, png_bytes
from tests.helpers import make_user

pytestmark = pytest.mark.slow


@pytest.fixture
def phone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A phone-sized Chromium page."""
    with chromium_page(
        monkeypatch, locale="zh-CN", viewport={"width": 390, "height": 844}, is_mobile=True
    ) as page:
        yield page


def test_applicant_journey_in_a_phone_browser(
    transactional_db: None, live_server: Any, phone: Any, tmp_path: Path
) -> None:
    page = phone
    shots = artefacts("portal")
    reviewer = make_user("rita.browser@example.com", Role.REVIEWER)
    front, back, better = tmp_path / "front.png", tmp_path / "back.png", tmp_path / "better.png"
    front.write_bytes(png_bytes("#3366aa", (640, 400)))
    back.write_bytes(png_bytes("#aa6633", (640, 400)))
    better.write_bytes(png_bytes("#33aa66", (640, 400)))

    # Sign up (the page is in Chinese, the default).
    page.goto(f"{live_server.url}/accounts/signup/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    page.fill("input[name=email]", "lan@example.com")
    page.fill("input[name=password1]", "a long enough passphrase 42")
    page.fill("input[name=password2]", "a long enough passphrase 42")
    page.click("#sign-up")
    page.wait_for_url(f"{live_server.url}/cases/")

    # Switch to English; the choice sticks.
    with page.expect_navigation():
        page.select_option("#language", "en")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "My applications" in page.inner_text("main")
    user = User.objects.get(email="lan@example.com")
    assert user.preferred_language == "en"

    # Apply, with the declared data checked up front.
    page.click("#start-real_name")
    page.fill("input[name=full_name]", "Lan Zhou")
    page.fill("input[name=id_number]", "110105194912310021")
    page.fill("input[name=phone]", "13812345678")
    page.click("#start")
    assert "does not match" in page.inner_text("main")
    page.fill("input[name=id_number]", VALID_ID_NUMBER)
    page.click("#start")
    page.wait_for_selector("#uploads")
    case = Case.objects.get(applicant=user)

    # Upload real files, one control per slot, then submit.
    page.set_input_files(f"#slot-{Slot.ID_FRONT} input[type=file]", str(front))
    page.click(f"#slot-{Slot.ID_FRONT} button")
    page.wait_for_selector(f"#slot-{Slot.ID_FRONT} .muted")
    page.set_input_files(f"#slot-{Slot.ID_BACK} input[type=file]", str(back))
    page.click(f"#slot-{Slot.ID_BACK} button")
    page.wait_for_selector(f"#slot-{Slot.ID_BACK} .muted")
    page.screenshot(path=str(shots / "uploaded.png"), full_page=True)
    page.click("#submit")
    page.wait_for_selector("#state")
    assert "Submitted" in page.inner_text("#state")
    assert "Expected answer by" in page.inner_text("#status-text")

    # A reviewer asks for a new front photo.
    ask_again(case, reviewer, message="The front photo is blurred.")
    page.reload()
    requested = page.inner_text("#requested")
    assert ReasonCode.objects.get(code="DOC_UNREADABLE").applicant_message("en") in requested
    assert "ID card, front" in requested and "The front photo is blurred." in requested
    assert page.locator("#resubmit").is_disabled()
    page.screenshot(path=str(shots / "needs-materials.png"), full_page=True)

    page.set_input_files(f"#slot-{Slot.ID_FRONT} input[type=file]", str(better))
    page.click(f"#slot-{Slot.ID_FRONT} button")
    page.wait_for_selector("#resubmit:not([disabled])")
    page.click("#resubmit")
    page.wait_for_selector("#state")
    assert "Submitted" in page.inner_text("#state")
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED and case.documents.count() == 3
    page.screenshot(path=str(shots / "resubmitted.png"), full_page=True)
