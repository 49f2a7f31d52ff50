"""Debian's Chromium driven by Playwright, for the browser tests (never a downloaded browser)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

CHROMIUM = "/usr/bin/chromium"


def artefacts(name: str) -> Path:
    """Where a test saves its screenshots: KYCREVIEW_ARTEFACTS or var/test-artefacts, per test."""
    root = Path(os.environ.get("KYCREVIEW_ARTEFACTS") or Path(settings.VAR_DIR) / "test-artefacts")
    path = root / name
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextmanager
def chromium_page(monkeypatch: pytest.MonkeyPatch, **context: Any) -> Iterator[Any]:
    """A page of a fresh Chromium context (`context`: Playwright's new_context options). Skips
    without Chromium, or fails when KYCREVIEW_REQUIRE_BROWSER=1 (CI)."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("KYCREVIEW_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium)")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # still synchronous, one at a time.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page_context = browser.new_context(**context)
        page = page_context.new_page()
        page.set_default_timeout(15_000)
        try:
            yield page
        finally:
            page_context.close()
            browser.close()
