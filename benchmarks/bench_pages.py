"""Page ready time in Chromium: each page's demo, first visit after the server starts and a warm second visit.

Run (localhost only; it starts and stops its own ``streamlit run app.py``)::

    python benchmarks/bench_pages.py                     # a table of seconds per page and visit
    python benchmarks/bench_pages.py --shots DIR --json OUT.json

"Ready" is the moment the page's answer is on screen: Streamlit's running indicator is gone and the page's
headline (its first result text) is visible, timed by the page itself from navigation start (:data:`READY_CLOCK`;
the wall clock of the polling test helper is printed beside it). Each visit is a new browser tab and Streamlit
session: the first after the server started, a warm second visit in a new tab of the same browser (its cache holds
the app's scripts, as a clinician's browser would), and one from a new browser profile (nothing cached in the
browser), so the second visits measure what the server's caches keep across sessions. Targets (issue 19, 2 cores):
warm second visit within 2 s, first visit after start within 5 s. Asserts nothing; the browser tests check content,
this measures speed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.browser.states import HEADLINE, STATES, PageState, full_page_screenshot, open_state, stop_server  # noqa: E402

CHROMIUM = "/usr/bin/chromium"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int, audit_db: Path) -> subprocess.Popen[bytes]:
    """``streamlit run app.py`` headless on ``port``; returns once it answers its health check."""
    command = [
        sys.executable, "-m", "streamlit", "run", str(REPO / "app.py"),
        "--server.headless=true", f"--server.port={port}", "--server.address=127.0.0.1",
        "--browser.gatherUsageStats=false", "--server.fileWatcherType=none",
    ]  # fmt: skip
    env = {**os.environ, "MEDAI_AUDIT_DB": str(audit_db)}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("streamlit did not become healthy within 180 s")


READY_CLOCK = """(() => {
  const t = {busy: false, idle: null, headline: null, seen: false, lastLongTask: 0, lastChange: 0,
             openIdle: null, pending: null, responses: 0, clicks: 0};
  window.__medaiReady = t;
  // the end of the page's last long task (>= 50 ms on the main thread): drawing charts, rendering Markdown
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) t.lastLongTask = Math.max(t.lastLongTask, e.startTime + e.duration);
  }).observe({type: "longtask", buffered: true});
  // the user's clicks: the page was open at its last change before the first click; each click that starts a run
  // adds the time from the click to the frame painted after that run (a click that starts none, such as opening a
  // drop-down list, hands over to the next click)
  document.addEventListener("click", () => {
    if (t.clicks === 0) t.openIdle = t.lastChange;
    t.clicks += 1;
    t.pending = performance.now();
    t.seen = false;  // the headline is timed again after each click (a page reached through the sidebar link)
  }, true);
  // the next frame after a change: when it was painted (a long task in the way delays it)
  const painted = (key) => requestAnimationFrame(() => setTimeout(() => {
    t[key] = performance.now();
    if (key === "idle" && t.pending !== null) { t.responses += t.idle - t.pending; t.pending = null; }
  }, 0));
  const check = () => {
    t.lastChange = performance.now();
    const busy = !!document.querySelector('[data-testid="stStatusWidget"]')
      || !!document.querySelector('[data-stale="true"]');
    if (t.busy && !busy) painted("idle");
    t.busy = busy;
    if (!t.seen && document.querySelector('HEADLINE_SELECTOR .medai-card')) { t.seen = true; painted("headline"); }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true,
                                                 attributeFilter: ["data-stale", "data-testid"]});
})();""".replace("HEADLINE_SELECTOR", HEADLINE)
"""Recorded in the page from navigation start (``performance.now()``): the frame painted after Streamlit's running
indicator last went (with no element left stale), the frame painted after the headline cards appeared, and the end
of the last long task on the page's main thread (the page fully drawn and responsive). ``open_state`` polls with
fixed waits (300 ms before each idle check), so its wall clock overshoots; the page's own clock does not."""


def visit(context: Any, url: str, state: PageState, shot: Path | None, via_home: bool = False) -> dict[str, float]:
    """Seconds from navigation, in a new tab of ``context`` (a new Streamlit session).

    ``ready``: the answer on screen, the later of the running indicator's last disappearance and the headline's
    appearance (each the frame painted after it); for a state reached by clicks, the page open (its last change
    before the first click) plus, for each click that started a run, the time to that run's painted result.
    ``drawn``: ``ready`` or the end of the last long task, whichever is later (everything below the first screen
    drawn too). ``wall``: the test helper's polling clock. Where the page navigated twice (a deep link on the
    server's first run, see ``open_state``) its clock restarted, and the wall clock is given for all three.
    """
    tab = context.new_page()
    tab.add_init_script(READY_CLOCK)
    navigations: list[str] = []
    tab.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == tab.main_frame else None)
    try:
        start = time.perf_counter()
        open_state(tab, url, state, via_home=via_home)
        wall = time.perf_counter() - start
        tab.wait_for_timeout(1500)  # long tasks still running when the helper returned (not counted in ``wall``)
        marks = tab.evaluate("() => window.__medaiReady")
        times = [m for m in (marks.get("idle"), marks.get("headline") if state.headline else None) if m is not None]
        # one navigation, or (via_home) the root page and the sidebar link's change of URL in the same document
        expected = 2 if via_home and state.path else 1
        if not times or len(navigations) != expected:
            return {"ready": wall, "drawn": wall, "wall": wall, "open": wall, "clicks": 0.0}
        opened, clicked = max(times), 0.0
        ready_ms, drawn_ms = max(times), max(max(times), marks.get("lastLongTask", 0))
        if via_home and state.path:
            # ready as above, on the clock started by opening the root URL (the sidebar link changes the URL in the
            # same document): the helper's pauses before each click are included
            opened = marks["openIdle"] or 0.0
            clicked = ready_ms - opened
        elif marks.get("clicks") and marks.get("openIdle") is not None:
            # a state reached by clicks: the page open, then each click's run to its painted result (the helper's
            # pauses between clicks are not the page's time)
            opened, clicked = marks["openIdle"], marks["responses"]
            ready_ms = opened + clicked
            drawn_ms = ready_ms + max(0.0, marks.get("lastLongTask", 0) - max(times))
        if shot is not None:
            full_page_screenshot(tab, shot)
        return {
            "ready": ready_ms / 1000.0,
            "drawn": drawn_ms / 1000.0,
            "wall": wall,
            "open": opened / 1000.0,
            "clicks": clicked / 1000.0,
        }
    finally:
        tab.close()


def _visit_three_times(
    browser: Any, url: str, state: PageState, shots: Path | None, cold: bool = False
) -> dict[str, Any]:
    """The first visit and a second in a new tab of the same browser (its cache holds Streamlit's and plotly's
    scripts, as a clinician's browser would), then one from a new browser profile; prints and returns the row.
    ``cold``: the first visit is the server's first, from its root page through the sidebar link."""
    viewport: Any = {"width": 1280, "height": 900}  # playwright's ViewportSize
    browser_context = browser.new_context(viewport=viewport)
    first = visit(browser_context, url, state, None, via_home=cold)
    same = visit(browser_context, url, state, shots / f"{state.name}.png" if shots else None)
    browser_context.close()
    fresh_context = browser.new_context(viewport=viewport)
    fresh = visit(fresh_context, url, state, None)
    fresh_context.close()
    print(
        f"{state.name:22s} ready {first['ready']:5.2f} / {same['ready']:5.2f} / {fresh['ready']:5.2f} s"
        f"   drawn {first['drawn']:5.2f} / {same['drawn']:5.2f} / {fresh['drawn']:5.2f} s"
        f"   wall {first['wall']:5.2f} / {same['wall']:5.2f} / {fresh['wall']:5.2f} s"
        + (f"   (first visit: open {first['open']:.2f} + clicks {first['clicks']:.2f} s)" if first["clicks"] else ""),
        flush=True,
    )
    return {
        "state": state.name,
        "first_s": round(first["ready"], 2),
        "warm_second_s": round(same["ready"], 2),
        "warm_second_new_profile_s": round(fresh["ready"], 2),
        "drawn_s": [round(v["drawn"], 2) for v in (first, same, fresh)],
        "wall_s": [round(v["wall"], 2) for v in (first, same, fresh)],
        "open_then_clicks_s": [[round(v["open"], 2), round(v["clicks"], 2)] for v in (first, same, fresh)],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=Path, help="save a full-page screenshot of each state (second visit)")
    parser.add_argument("--json", type=Path, help="also write the timings as JSON")
    parser.add_argument("--only", nargs="*", help="state names to run (default: all)")
    parser.add_argument(
        "--cold",
        action="store_true",
        help="a new server for each state; the first visit opens the root page, then the page's sidebar link",
    )
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    states = [s for s in STATES if not args.only or s.name in args.only]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # one server for all states, or (--cold) a new server per state: each state's first visit is then the
        # server's first, as for a clinician whose first page after a restart is this one
        groups = [[s] for s in states] if args.cold else [states]
        for group in groups:
            port = _free_port()
            server = start_server(port, Path(tmp) / "audit.sqlite")
            try:
                with sync_playwright() as manager:
                    browser = manager.chromium.launch(
                        executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
                    )
                    url = f"http://127.0.0.1:{port}"
                    for state in group:
                        rows.append(_visit_three_times(browser, url, state, args.shots, cold=args.cold))
                    browser.close()
            finally:
                stop_server(server)
    if args.json:
        args.json.write_text(json.dumps({"cpu_count": os.cpu_count(), "pages": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
