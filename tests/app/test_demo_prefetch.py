"""Each page's opening demo is analysed when the server starts: the page then finds it and runs no job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medai_core import workers
from medai_core.models import model_statuses
from tests.conftest import open_page

REPO = Path(__file__).resolve().parents[2]
REAL_DEMO = "Demo: real CT slice (pydicom CT_small)"


def test_pages_find_their_demo_analysed_ahead_and_run_no_job(monkeypatch: pytest.MonkeyPatch) -> None:
    from medai_core.ui import cache

    cache.clear_shared_results()
    versions = {s.model_id: s.card.version for s in model_statuses() if s.available and s.card is not None}
    threads = cache.prefetch_demo_analyses(versions)
    assert len(threads) == 3
    for thread in threads:
        thread.join(300)
    assert len(cache.get_shared_results()) == 3  # the CT slice, the glucose patient, the gene panel

    jobs: list[str] = []
    run_job = workers.run_job

    def counted(job: str, *args: Any, **kwargs: Any) -> Any:
        jobs.append(job)
        return run_job(job, *args, **kwargs)

    monkeypatch.setattr(workers, "run_job", counted)
    ct = open_page("pages/ct_nodule.py")
    ct.radio(key="ct.source").set_value(REAL_DEMO).run()
    glucose = open_page("pages/glucose.py")
    genes = open_page("pages/gene_panel.py")
    for at in (ct, glucose, genes):
        assert not at.exception and not at.error
        assert at.get("plotly_chart")  # each shows its answer
    assert [job for job in jobs if job != "device"] == []  # the same keys as the pages' own calls: nothing ran

    ct.number_input(key="ct.seed_x").set_value(6).run()  # another seed is an analysis of its own
    assert not ct.exception
    assert jobs.count("ct") == 1


def test_the_theme_imports_pandas_before_plotly_validates_anything() -> None:
    """plotly's validators look for pandas in ``sys.modules`` without importing it: a figure built while another
    thread was importing pandas failed on the half-made module (seen on a gene page opened as the server's first).
    Importing pandas first makes such a thread wait for the import instead."""
    import subprocess
    import sys

    code = (
        "import sys, plotly.graph_objects; assert 'pandas' not in sys.modules; "
        "import medai_core.plots.theme; assert 'pandas' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
