"""Fixtures shared by the three test tiers."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from medai_core.models.testing import make_tiny_model_dir

REPO_ROOT = Path(__file__).resolve().parent.parent

# Hypothesis: CI runs the short, deterministic "ci" profile; HYPOTHESIS_PROFILE=long for a thorough local run.
settings.register_profile(
    "ci", max_examples=40, deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)  # fmt: skip
settings.register_profile("long", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
RAY_INSTALLED = importlib.util.find_spec("ray") is not None

# The Ray tier needs the optional requirements-scale.txt: without it the tier is left out of the collection (and the
# report header says so) rather than reported as skipped tests.
collect_ignore = [] if RAY_INSTALLED else ["scale"]


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (absolute)."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` beside the checkout (tests that ask for it are ``full_data`` tests: see below)."""
    return SHARED_DATA


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test that needs the full data sets is marked ``full_data``; where ``../shared/data`` is not beside the
    checkout (a clone on its own), those tests are deselected, not skipped: each behaviour they check is also tested
    from the fixtures in ``tests/data``, and CI (which has the data) runs them all."""
    needs_data = [item for item in items if "shared_data" in getattr(item, "fixturenames", ())]
    for item in needs_data:
        item.add_marker(pytest.mark.full_data)
    if SHARED_DATA.is_dir():
        return
    deselected = [item for item in items if item.get_closest_marker("full_data") is not None]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if item.get_closest_marker("full_data") is None]


def pytest_report_header(config: pytest.Config) -> str:
    """Say whether the full-data tests and the Ray tier run."""
    if SHARED_DATA.is_dir():
        data = f"full_data tests: run (data sets at {SHARED_DATA})"
    else:
        data = "full_data tests: deselected (no ../shared/data beside this checkout; tests/data fixtures run instead)"
    ray = "Ray tier (tests/scale): " + ("run" if RAY_INSTALLED else "not collected (Ray is not installed)")
    return f"{data}\n{ray}"


@pytest.fixture(autouse=True)
def _isolated_audit_db(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test writes audit rows to a temporary database, and keeps its keys in a temporary folder, never the
    user's."""
    folder = tmp_path_factory.mktemp("audit")
    monkeypatch.setenv("MEDAI_AUDIT_DB", str(folder / "audit.sqlite"))
    monkeypatch.setenv("MEDAI_AUDIT_KEY", str(folder / "audit.key"))
    monkeypatch.setenv("MEDAI_DEID_KEY", str(folder / "deid.key"))


@pytest.fixture(scope="session")
def tiny_models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding one tiny, valid model (``tiny_test``)."""
    root = tmp_path_factory.mktemp("models")
    make_tiny_model_dir(root)
    return root


def open_page(page: str | None = None, timeout: float = 180) -> Any:
    """A fresh AppTest of ``app.py`` that has rendered ``page`` (e.g. ``"pages/glucose.py"``; None: the home page).

    One AppTest per page: the frame (banner, sidebar) is rendered by app.py around every page, and a fresh test
    app per page keeps AppTest's view of it complete.
    """
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(REPO_ROOT / "app.py"), default_timeout=timeout)
    at.run()
    if page is not None and page != "pages/home.py":
        at.switch_page(page)
        at.run()
    return at
