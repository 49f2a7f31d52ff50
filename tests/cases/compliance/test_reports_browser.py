"""The reports in a real browser (Debian's Chromium, driven by Playwright, against the live
server), in Chinese and in English: every chart loads and has its bars drawn, and the page's
Chinese text is set in a real CJK font (.ci/run installs fonts-noto-cjk), not in empty boxes.
Screenshots are kept under var/test-artefacts/reports/ (or $KYCREVIEW_ARTEFACTS)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image

from accounts.models import User
from cases import services
from cases.compliance.reports import REPORTS_BY_NAME
from cases.compliance.statistics import report_refresh
from cases.states import Slot
from tests.browser import artefacts, chromium_page
from tests.factories import accept_all, reviewing_case, submitted_case
from tests.helpers import signed_in

pytestmark = pytest.mark.slow

# The first series' colour (cases/compliance/charts.py), as drawn.
FIRST_SERIES = (0x00, 0x72, 0xB2)

# Two different ideographs drawn in the page's font: the same pixels mean both fell back to the
# same empty box (no CJK font), different pixels mean real glyphs.
GLYPHS_DIFFER = """() => {
  const font = getComputedStyle(document.querySelector('#report-table th')).fontFamily;
  const draw = (text) => {
    const canvas = document.createElement('canvas');
    canvas.width = 64; canvas.height = 64;
    const context = canvas.getContext('2d');
    context.font = '48px ' + font;
    context.fillText(text, 4, 52);
    return Array.from(context.getImageData(0, 0, 64, 64).data).join(',');
  };
  const blank = draw('');
  return draw('审') !== draw('核') && draw('审') !== blank;
}"""


def cjk_font_installed() -> bool:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    fonts = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True, check=False)
    return bool(fonts.stdout.strip())


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with chromium_page(monkeypatch, viewport={"width": 1300, "height": 1000}) as page:
        yield page


def some_work(applicant: User, other_applicant: User, reviewer: User) -> None:
    """A week with decisions of both kinds, a request for materials and an open case."""
    case = accept_all(reviewing_case(applicant, reviewer), reviewer)
    services.case_approve(case=case, actor=reviewer)
    case = reviewing_case(other_applicant, reviewer)
    services.case_request_materials(
        case=case,
        actor=reviewer,
        reason_codes=["DOC_UNREADABLE"],
        message="Blurred.",
        slots=[Slot.ID_FRONT],
    )
    case = reviewing_case(applicant, reviewer)
    services.case_reject(case=case, actor=reviewer, reason_codes=["INFO_MISMATCH"], message="No.")
    submitted_case(other_applicant)
    report_refresh()


@pytest.mark.parametrize(("language", "heading"), [("zh-hans", "达成率"), ("en", "Attainment")])
def test_the_reports_render_their_charts_in_chinese_and_english(
    transactional_db: None,
    live_server: Any,
    browser_page: Any,
    applicant: User,
    other_applicant: User,
    reviewer: User,
    auditor: User,
    language: str,
    heading: str,
) -> None:
    if language == "zh-hans" and not cjk_font_installed():
        message = "no CJK font for Chromium (apt-get install fonts-noto-cjk)"
        if os.environ.get("KYCREVIEW_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    some_work(applicant, other_applicant, reviewer)
    auditor.preferred_language = language
    auditor.save()
    client = signed_in(auditor)
    page = browser_page
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    shots = artefacts("reports")
    page.goto(f"{live_server.url}/admin/cases/reportfact/")
    assert page.locator("#report-sla").count() == 1
    for name in REPORTS_BY_NAME:
        page.goto(f"{live_server.url}/admin/cases/reportfact/{name}/")
        chart = page.locator("#report-chart")
        page.wait_for_function(
            "() => { const i = document.querySelector('#report-chart');"
            " return i && i.complete && i.naturalWidth > 0; }"
        )
        page.screenshot(path=str(shots / f"{language}-{name}.png"), full_page=True)
        pixels = Image.open(io.BytesIO(chart.screenshot())).convert("RGB")
        colours: list[Any] = list(pixels.get_flattened_data())
        drawn = len(
            [
                c
                for c in colours
                if all(abs(a - b) < 8 for a, b in zip(c, FIRST_SERIES, strict=True))
            ]
        )
        assert drawn > 50, f"{name}: no bar drawn"
    page.goto(f"{live_server.url}/admin/cases/reportfact/sla/")
    assert heading.upper() in page.locator("#report-table thead").inner_text().upper()
    if language == "zh-hans":
        assert page.evaluate(GLYPHS_DIFFER), "Chinese text falls back to empty boxes"
