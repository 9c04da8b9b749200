"""Page ready time in Chromium: each page's demo, first visit after the server starts and a warm second visit.

Run (localhost only; it starts and stops its own ``streamlit run app.py``)::

    python benchmarks/bench_pages.py                     # a table of seconds per page and visit
    python benchmarks/bench_pages.py --shots DIR --json OUT.json

"Ready" is the moment the page's answer is on screen: Streamlit's running indicator is gone and the page's
headline (its first result text) is visible. Each visit is a fresh browser tab and Streamlit session, so the second
visit measures what the server's caches keep across sessions. Targets (issue 19, 2 cores): warm second visit within
2 s, first visit after start within 5 s. Asserts nothing; the browser tests check content, this measures speed.
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
from tests.browser.states import STATES, PageState, full_page_screenshot, open_state  # noqa: E402

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


def visit(browser: Any, url: str, state: PageState, shot: Path | None) -> float:
    """Seconds from navigation to the page's answer on screen, in a fresh tab (a new Streamlit session)."""
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        start = time.perf_counter()
        open_state(tab, url, state)
        elapsed = time.perf_counter() - start
        if shot is not None:
            full_page_screenshot(tab, shot)
        return elapsed
    finally:
        tab.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=Path, help="save a full-page screenshot of each state (second visit)")
    parser.add_argument("--json", type=Path, help="also write the timings as JSON")
    parser.add_argument("--only", nargs="*", help="state names to run (default: all)")
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    states = [s for s in STATES if not args.only or s.name in args.only]
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(port, Path(tmp) / "audit.sqlite")
        try:
            with sync_playwright() as manager:
                browser = manager.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
                )
                rows = []
                for state in states:
                    first = visit(browser, f"http://127.0.0.1:{port}", state, None)
                    shot = args.shots / f"{state.name}.png" if args.shots else None
                    second = visit(browser, f"http://127.0.0.1:{port}", state, shot)
                    rows.append({"state": state.name, "first_s": round(first, 2), "warm_second_s": round(second, 2)})
                    print(f"{state.name:24s} first {first:6.2f} s   warm second {second:6.2f} s", flush=True)
                browser.close()
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
    if args.json:
        args.json.write_text(json.dumps({"cpu_count": os.cpu_count(), "pages": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
