"""Every page at 1280 px in chromium: the answer's headline cards are not cut off, axe-core finds no serious or
critical accessibility violation in the project's markup, and a full-page screenshot of each state is saved under
``tests/browser/artifacts/`` (with the axe report beside it)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import ARTIFACTS, CHROMIUM, chromium_browser
from tests.browser.states import HEADLINE, STATES, PageState, full_page_screenshot, open_state

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

# Streamlit's own chrome, not the project's markup: the built-in page navigation, its header and toolbar.
AXE_EXCLUDE = [
    ['[data-testid="stSidebarNav"]'],
    ['[data-testid="stHeader"]'],
    ['[data-testid="stToolbar"]'],
]
BLOCKING = {"serious", "critical"}

# Elements whose text must fit: scrollWidth within clientWidth (a cut-off or ellipsised text is wider inside).
CLIPPED = """() => [...document.querySelectorAll(
    '[data-testid="medai-headline"], [data-testid="medai-headline"] .medai-card, '
    + '[data-testid="medai-headline"] .medai-card *')]
  .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).display !== 'inline')
  .map(e => `${e.className}: ${e.textContent.slice(0, 60)} (${e.scrollWidth} > ${e.clientWidth})`)"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium_browser() as chromium:
        yield chromium


@pytest.mark.parametrize("state", STATES, ids=[s.name for s in STATES])
def test_page_reads_at_1280(server: str, browser: Any, state: PageState) -> None:
    from axe_playwright_python.sync_playwright import Axe

    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        open_state(tab, server, state)
        assert tab.locator('[data-testid="stException"]').count() == 0
        if state.headline:
            cards = tab.locator(f"{HEADLINE} .medai-card")
            assert cards.count() >= 1, "no headline card on the first screen"
            top = cards.first.bounding_box()
            assert top is not None and top["x"] + top["width"] <= 1280
            assert tab.evaluate(CLIPPED) == []
        tab.locator("body").focus()
        for _ in range(60):  # keyboard navigation: Tab alone reaches the page's own content
            tab.keyboard.press("Tab")
            if tab.evaluate("() => !!document.activeElement.closest('[data-testid=\"stMain\"]')"):
                break
        else:
            pytest.fail("60 presses of Tab never reached the page's content")
        results = Axe().run(tab, context={"exclude": AXE_EXCLUDE})
        violations = results.response["violations"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / f"axe_{state.name}.json").write_text(json.dumps(violations, indent=1))
        full_page_screenshot(tab, ARTIFACTS / f"page_{state.name}.png")
        blocking = [
            f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:5]}"
            for v in violations
            if v["impact"] in BLOCKING
        ]
        assert blocking == [], "\n".join(blocking)
    finally:
        tab.close()
