"""A real browser: ``streamlit run app.py`` headless, Debian's chromium through Playwright, no exception shown."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser.conftest import ARTIFACTS, CHROMIUM, launch_browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]


@pytest.mark.parametrize(("path", "expected"), [("", "MedAI Dashboard"), ("model-cards", "Model cards")])
def test_page_renders_in_chromium(server: str, path: str, expected: str) -> None:
    manager, browser = launch_browser()
    try:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{server}/{path}", wait_until="domcontentloaded")
        page.get_by_role("heading", name=expected).first.wait_for(timeout=240_000)
        page.get_by_text("Research use only. The models are not cleared").first.wait_for(timeout=60_000)
        page.get_by_text("Models run on:").first.wait_for(timeout=60_000)
        page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=240_000)
        page.wait_for_timeout(1000)
        assert page.locator('[data-testid="stException"]').count() == 0
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{path or 'home'}.png"), full_page=True)
    finally:
        browser.close()
        manager.stop()


def test_chromium_is_debians() -> None:
    assert shutil.which("chromium") == CHROMIUM or Path(CHROMIUM).exists()
