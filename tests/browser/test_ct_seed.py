"""Seeding on the CT slice view in chromium: a box drawn around a spot moves the nodule centre there (the view's
click grid draws one marker but keeps every point selectable)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, chromium_browser
from tests.browser.states import STATES, open_state, wait_idle

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Debian's chromium is not installed"),
]

LONG = 240_000
VIEW = "Slice 1 of 1"  # the slice view's title on the single-slice real CT demo


@pytest.fixture
def page(server: str) -> Iterator[Any]:
    with chromium_browser() as browser:
        tab = browser.new_page(viewport={"width": 1400, "height": 1100})
        open_state(tab, server, next(s for s in STATES if s.name == "ct_demo"))  # the real CT slice, analysed
        yield tab


def _settle(tab: Any) -> None:
    time.sleep(1.0)
    wait_idle(tab)


def _screen(tab: Any, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of image pixel (x, y) on the slice view (plotly's own axis mapping)."""
    point = tab.evaluate(
        """([title, x, y]) => {
            const gd = [...document.querySelectorAll('.js-plotly-plot')]
                .find(g => (g.querySelector('.gtitle')?.textContent || '').startsWith(title));
            const box = gd.querySelector('.nsewdrag').getBoundingClientRect();
            const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
            return [box.left + xa.l2p(x), box.top + ya.l2p(y)];
        }""",
        [VIEW, x, y],
    )
    return float(point[0]), float(point[1])


def _centre(tab: Any) -> tuple[int, int]:
    x = tab.get_by_label("x (column)", exact=True).first.input_value()
    y = tab.get_by_label("y (row)", exact=True).first.input_value()
    return int(x), int(y)


def test_a_box_drawn_on_the_slice_view_moves_the_seed(page: Any) -> None:
    page.get_by_text(VIEW).first.wait_for(timeout=LONG)
    page.locator(".js-plotly-plot", has_text=VIEW).first.scroll_into_view_if_needed()
    start = _centre(page)
    assert start != (25, 24)
    # a box from pixel (20, 20) to (30, 28): the grid points inside it (every 2 px, odd) centre on (25, 24)
    page.mouse.move(*_screen(page, 20, 20))
    page.mouse.down()
    page.mouse.move(*_screen(page, 25, 24), steps=5)
    page.mouse.move(*_screen(page, 30, 28), steps=5)
    page.mouse.up()
    _settle(page)
    moved = _centre(page)
    assert moved != start
    assert abs(moved[0] - 25) <= 1 and abs(moved[1] - 24) <= 1
    assert page.locator('[data-testid="stException"]').count() == 0
