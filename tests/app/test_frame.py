"""The app frame: every page renders with the banner and no exception; the Models page renders a card."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from medai_core.domains import DOMAINS
from tests.app.headlines import headlines
from tests.conftest import open_page

REPO = Path(__file__).resolve().parents[2]
PAGES = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "pages").glob("*.py"))


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [w.value for w in at.warning] + [c.value for c in at.caption]
    parts += [h.value for h in [*at.header, *at.subheader]]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_with_the_banner(page: str) -> None:
    at = open_page(page)
    assert not at.exception, [e.value for e in at.exception]
    assert any("Research use only" in w.value and "not cleared" in w.value for w in at.warning)


def test_every_page_file_is_registered() -> None:
    """Each file in pages/ is in app.py's navigation: a domain's page through the registry, the others by name."""
    text = (REPO / "app.py").read_text(encoding="utf-8")
    domain_pages = {d.page for d in DOMAINS}
    assert "for d in DOMAINS" in text  # the frame takes the domain pages from the registry
    for page in PAGES:
        assert page in domain_pages or f'"{page}"' in text, f"{page} is not in app.py's navigation"
    assert domain_pages <= set(PAGES), "a registered domain names a page file that does not exist"


def test_home_lists_models_and_sidebar_shows_device(tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAI_MODELS_DIR", str(tiny_models_dir))
    at = open_page()
    assert not at.exception
    cards = headlines(at)  # one card per model: its held-out headline, the status in words
    assert cards == {"Tiny test model": "0.50 | Ready"}
    assert not at.dataframe
    from medai_core.ui.cache import _device_lookup

    _device_lookup().result(timeout=180)  # the device is asked in the background: named from the next run on
    at = open_page()  # (a fresh AppTest: a rerun of the same one shows no sidebar)
    sidebar = "\n".join(str(m.value) for m in at.sidebar.markdown) + "\n".join(str(c.value) for c in at.sidebar.caption)
    assert "Models run on:** CPU" in sidebar or "Models run on:** GPU" in sidebar
    assert "TensorFlow" in sidebar and "Ready</span> Tiny test model v0.0.1" in sidebar
    assert "tiny_test" not in sidebar  # the name, not the id


def test_sidebar_says_the_device_is_not_known_while_the_workers_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """No page waits for the workers to import TensorFlow just to name the device: until the background lookup has
    answered, the sidebar says so in words; its answer is shown on the next run."""
    import threading

    from medai_core import workers
    from medai_core.models import DeviceInfo
    from medai_core.ui.cache import _device_lookup

    answer = threading.Event()
    device = DeviceInfo("GPU", "Test GPU", "0", "0", False)

    def slow_device(job: str, *args: object, **kwargs: object) -> DeviceInfo:
        answer.wait(60)
        return device

    monkeypatch.setattr(workers, "run_job", slow_device)
    _device_lookup.clear()
    try:
        at = open_page()
        assert not at.exception
        markdown = "\n".join(str(m.value) for m in at.sidebar.markdown)
        assert "Models run on:** not known yet (the analysis workers are starting)" in markdown
        answer.set()
        _device_lookup().result(timeout=60)
        at = open_page()  # the next session (a rerun of the same AppTest shows no sidebar)
        assert "Models run on:** GPU: Test GPU" in "\n".join(str(m.value) for m in at.sidebar.markdown)
    finally:
        answer.set()
        _device_lookup.clear()


def test_models_page_renders_a_card(tiny_models_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEDAI_MODELS_DIR", str(tiny_models_dir))
    at = open_page("pages/models.py")
    assert not at.exception
    text = _texts(at)
    assert "Tiny test model" in text
    assert "Tests of the registry and the Models page only." in text
    assert "A fixture, not a model." in text
    assert "sha256" in text
    assert "None" not in text


def test_models_page_reports_a_broken_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model_card.json").write_text("{}", encoding="utf-8")
    monkeypatch.setenv("MEDAI_MODELS_DIR", str(tmp_path))
    at = open_page("pages/models.py")
    assert not at.exception
    assert any("missing fields" in e.value for e in at.error)
