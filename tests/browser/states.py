"""The pages and states the browser tests and ``benchmarks/bench_pages.py`` open: how to reach each one, the text
that marks its answer on screen, and a screenshot of the whole page."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TIMEOUT_MS = 300_000
HEADLINE = '[data-testid="medai-headline"]'


@dataclass(frozen=True)
class PageState:
    """One page in one state: its URL path, what to do once it has loaded, the text that marks it ready, and
    whether it shows the headline-card row."""

    name: str
    path: str
    ready_text: str
    action: Callable[[Any], None] | None = None
    headline: bool = True


def wait_idle(tab: Any) -> None:
    """Until Streamlit's running indicator has gone and no element is left stale (faded) from an earlier run."""
    tab.wait_for_timeout(300)
    tab.wait_for_function(  # no run in progress, and no element left faded from the previous run
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " && !document.querySelector('[data-stale=\"true\"]')",
        timeout=TIMEOUT_MS,
    )


def _pick(label: str) -> Callable[[Any], None]:
    def act(tab: Any) -> None:
        tab.get_by_text(label, exact=False).first.click()

    return act


def _phantom_calcified(tab: Any) -> None:
    _pick("Demo: synthetic nodule phantom")(tab)
    tab.get_by_label("Phantom nodule").first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(tab)
    tab.get_by_label("Phantom nodule").first.click()
    tab.get_by_role("option", name="calcified").first.click()


STATES: tuple[PageState, ...] = (
    PageState("home", "", "Models"),
    PageState("ct_demo", "ct", "What the model looked at", _pick("Demo: real CT slice")),
    PageState("ct_phantom_calcified", "ct", "What the model looked at", _phantom_calcified),
    PageState("glucose_demo", "cgm", "What drove the forecast"),
    PageState("genes_demo", "genes", "Therapy options"),
    PageState("models", "model-cards", "Held-out"),
)


def open_state(tab: Any, url: str, state: PageState, *, via_home: bool = False) -> None:
    """Navigate to ``state`` and wait until its answer is on screen; ``via_home``: open the app's root and click the
    page's link in the sidebar, as a clinician does (not a deep link)."""
    if via_home and state.path:
        tab.goto(url, wait_until="domcontentloaded")
        tab.get_by_text("Models run on:").first.wait_for(timeout=TIMEOUT_MS)
        wait_idle(tab)
        tab.locator(f'[data-testid="stSidebarNav"] a[href$="/{state.path}"]').first.click()
    else:
        tab.goto(f"{url}/{state.path}", wait_until="domcontentloaded")
    if state.path and not via_home:
        # A deep link on the server's very first script run gets Streamlit's "Page not found" dialog and the main
        # page (see app.py); the link works from then on.
        tab.get_by_text("Models run on:").first.wait_for(timeout=TIMEOUT_MS)
        wait_idle(tab)
        if tab.get_by_role("dialog").filter(has_text="Page not found").count():
            tab.goto(f"{url}/{state.path}", wait_until="domcontentloaded")
    if state.action is not None:
        tab.get_by_text("Models run on:").first.wait_for(timeout=TIMEOUT_MS)
        wait_idle(tab)  # the first run's elements are inert until it has finished
        state.action(tab)
    tab.get_by_text(state.ready_text, exact=False).first.wait_for(timeout=TIMEOUT_MS)
    if state.headline:
        tab.locator(f"{HEADLINE} .medai-card").first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(tab)


def full_page_screenshot(tab: Any, path: Path) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main container, so the viewport is grown to the
    content's height first (Playwright's ``full_page`` alone would capture one screen)."""
    height = tab.evaluate(
        "() => Math.max(...['stMain', 'stAppViewContainer', 'stMainBlockContainer']"
        '.map(id => document.querySelector(`[data-testid="${id}"]`)).filter(Boolean).map(e => e.scrollHeight))'
    )
    size = tab.viewport_size
    tab.set_viewport_size({"width": size["width"], "height": min(int(height) + 40, 16000)})
    drawn, stable = -1, 0
    for _ in range(120):  # charts brought into view draw after a placeholder: until their count holds for 3 s
        tab.wait_for_timeout(1000)
        count = tab.evaluate("() => document.querySelectorAll('.js-plotly-plot .main-svg').length")
        stable = stable + 1 if count == drawn else 0
        drawn = count
        if stable >= 3:
            break
    path.parent.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(path), full_page=True, timeout=180_000, animations="disabled")
    tab.set_viewport_size(size)


def stop_server(process: Any) -> None:
    """Stop a ``streamlit run`` subprocess: terminate, then kill if it has not exited within 20 s."""
    import subprocess

    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
