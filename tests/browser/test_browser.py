"""A real browser: ``streamlit run app.py`` headless, Debian's chromium through Playwright, no exception shown."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.browser.conftest import ARTIFACTS, CHROMIUM, chromium_browser

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed (apt-get install chromium)"
    ),
]


@pytest.mark.parametrize(("path", "expected"), [("", "MedAI Dashboard"), ("model-cards", "Model cards")])
def test_page_renders_in_chromium(server: str, path: str, expected: str) -> None:
    with chromium_browser() as browser:
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


def test_chromium_is_debians_and_renders_a_page() -> None:
    """The browser Playwright drives is Debian's build (its version string, the package that owns it, the same
    version reported over the DevTools protocol), and it lays out and paints a page."""
    probe = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, timeout=120, check=False)
    match = re.search(r"Chromium (\d+\.\d+\.\d+\.\d+) built on Debian", probe.stdout)
    assert match, f"{CHROMIUM} --version printed {probe.stdout!r}, not Debian's Chromium"
    if shutil.which("dpkg"):
        owner = subprocess.run(["dpkg", "-S", CHROMIUM], capture_output=True, text=True, timeout=60, check=False)
        assert owner.stdout.startswith("chromium"), owner.stdout + owner.stderr
    with chromium_browser() as browser:
        assert browser.version == match.group(1)
        page = browser.new_page(viewport={"width": 400, "height": 200})
        page.set_content(
            "<body style='margin:0;background:#fff'><h1 id='probe' style='font:40px sans-serif;color:#000'>"
            "MedAI probe</h1></body>"
        )
        heading = page.locator("#probe")
        assert heading.inner_text() == "MedAI probe"
        box = heading.bounding_box()
        assert box is not None and box["width"] > 100 and box["height"] > 20
        shot = Image.open(io.BytesIO(page.screenshot(clip=box))).convert("L")
        low, high = shot.getextrema()
        assert low < 64 and high > 192, "the heading was laid out but no text was painted"
