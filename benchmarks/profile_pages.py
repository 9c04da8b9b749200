"""Where one analysis per page spends its time: read / prepare / model / explain / figures / layout, and bytes sent.

Run (about a minute on 2 cores)::

    python benchmarks/profile_pages.py            # the table
    python benchmarks/profile_pages.py --json OUT # and the figures as JSON

Each page runs in Streamlit's ``AppTest`` (the real page script, the real caches) on its demo: the CT page on the
12 mm solid phantom, the glucose page on the simulated 14-day patient, the gene page on the synthetic panel. Every
page is run once to warm up (models loaded, TensorFlow functions traced), then the analysis caches are cleared and
the page is run again, measured. The stages are timed by wrapping the functions that do them (time spent in a
nested stage is counted in that stage only; a model call made by an explanation counts as explanation):

==============  ===========================================================================================
stage           what is wrapped
==============  ===========================================================================================
read            reading the upload (``isolation.run_isolated``, i.e. the isolated reader) or making the demo
prepare         the analysis entry point (``analyse_nodule``, glucose ``analyse``, ``analyse_panel``) less the
                stages below
model           ``LoadedModel.predict``
explain         Grad-CAM, the deletion curve, integrated gradients
figures         every ``medai_core.plots`` figure builder
layout          the rest of the page run: widgets, text, tables and serialising every element (figures' JSON)
==============  ===========================================================================================

CPU seconds are those of the whole process tree (this process and the worker processes it started: isolated
readers, analysis workers), read from ``/proc``, so work moved to a worker is still counted. "server CPU" is this
process alone: what the Streamlit process itself spent. "bytes" is the size of every message the page sent to the
browser (``ForwardMsg`` protobufs). "cached rerun" is the same page run again at once (every cache warm: a second
visitor). With ``MEDAI_ANALYSIS_WORKERS=0`` the analysis runs in this process and the stages are split; with the
worker pool (the default) the analysis happens in a worker and shows as one "analysis (worker)" stage.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

STAGES = ("read", "prepare", "model", "explain", "analysis (worker)", "figures", "layout")
CT_DEMO = "Demo: synthetic nodule phantom (SYNTHETIC)"
_TICK = os.sysconf("SC_CLK_TCK")


def proc_table() -> tuple[dict[int, list[int]], dict[int, float]]:
    """Children of every process and its user + system CPU seconds (``/proc``)."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        children.setdefault(int(fields[1]), []).append(int(entry))
        cpu[int(entry)] = (int(fields[11]) + int(fields[12])) / _TICK
    return children, cpu


def tree_cpu_s(pid: int | None = None) -> float:
    """User + system CPU seconds of process ``pid`` (default: this one) and all its live descendants (``/proc``)."""
    pid = pid or os.getpid()
    children, cpu = proc_table()
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        total += cpu.get(current, 0.0)
        stack.extend(children.get(current, []))
    return total


class Stages:
    """Exclusive wall and CPU time per stage: entering a stage pauses the enclosing one."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self.cpu: dict[str, float] = dict.fromkeys(STAGES, 0.0)
        self._stack: list[tuple[str, float, float]] = []

    def _charge(self, now: tuple[float, float]) -> None:
        if self._stack:
            stage, wall, cpu = self._stack[-1]
            self.wall[stage] += now[0] - wall
            self.cpu[stage] += now[1] - cpu

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the body as ``name`` (an explanation's model calls stay in ``explain``)."""
        if self._stack and self._stack[-1][0] == "explain" and name == "model":
            yield
            return
        now = (time.perf_counter(), tree_cpu_s())
        self._charge(now)
        self._stack.append((name, *now))
        try:
            yield
        finally:
            end = (time.perf_counter(), tree_cpu_s())
            self._charge(end)
            self._stack.pop()
            if self._stack:
                stage, _, _ = self._stack[-1]
                self._stack[-1] = (stage, *end)

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        """Replace ``owner.attribute`` by a wrapper timing every call as stage ``name``."""
        original: Callable[..., Any] = getattr(owner, attribute)

        def timed(*args: Any, **kwargs: Any) -> Any:
            with self.stage(name):
                return original(*args, **kwargs)

        timed.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(owner, attribute, timed)


def instrument(stages: Stages) -> None:
    """Wrap the stage functions (module attributes, so the pages' and caches' imports pick the wrappers up)."""
    import medai_core.ct.analysis as ct_analysis
    import medai_core.explain as explain
    import medai_core.explain.faithfulness as faithfulness
    import medai_core.explain.gradcam as gradcam
    import medai_core.genomics.analysis as gene_analysis
    import medai_core.glucose.analysis as glucose_analysis
    import medai_core.glucose.simulate as simulate
    import medai_core.isolation as isolation
    import medai_core.plots.core as plots_core
    import medai_core.plots.ct as plots_ct
    import medai_core.plots.genomics as plots_genomics
    import medai_core.plots.glucose as plots_glucose
    from medai_core.models.registry import LoadedModel

    stages.wrap(isolation, "run_isolated", "read")
    stages.wrap(simulate, "simulated_patient", "read")
    stages.wrap(ct_analysis, "analyse_nodule", "prepare")
    stages.wrap(glucose_analysis, "analyse", "prepare")
    stages.wrap(gene_analysis, "analyse_panel", "prepare")
    stages.wrap(LoadedModel, "predict", "model")
    stages.wrap(gradcam.GradCam, "__call__", "explain")
    stages.wrap(faithfulness, "deletion_curve", "explain")
    stages.wrap(ct_analysis, "deletion_curve", "explain")
    stages.wrap(explain, "integrated_gradients", "explain")
    with contextlib.suppress(ImportError):
        import medai_core.workers as workers

        stages.wrap(workers, "run_job", "analysis (worker)")
    for module in (plots_core, plots_ct, plots_genomics, plots_glucose):
        for name in getattr(module, "__all__", ()):
            if name.endswith(("_figure", "_chart", "_overlay", "_strip", "_bar", "_curves")) and callable(
                getattr(module, name)
            ):
                stages.wrap(module, name, "figures")


class Bytes:
    """Counts the bytes of every ForwardMsg the page sends."""

    def __init__(self) -> None:
        self.total = 0
        from streamlit.runtime.forward_msg_queue import ForwardMsgQueue

        original = ForwardMsgQueue.enqueue

        def enqueue(queue: Any, msg: Any) -> None:
            self.total += msg.ByteSize()
            original(queue, msg)

        ForwardMsgQueue.enqueue = enqueue  # type: ignore[method-assign]


def _clear_analyses() -> None:
    import streamlit as st

    from medai_core.ui.cache import get_ct_volume_store

    st.cache_data.clear()
    get_ct_volume_store().clear()
    with contextlib.suppress(ImportError, AttributeError):
        from medai_core.ui.cache import clear_shared_results

        clear_shared_results()


PAGES: dict[str, tuple[str, dict[str, Any]]] = {
    "ct": ("pages/ct_nodule.py", {"ct.source": CT_DEMO}),
    "glucose": ("pages/glucose.py", {}),
    "genes": ("pages/gene_panel.py", {}),
}


def profile_page(page: str, stages: Stages, sent: Bytes) -> dict[str, Any]:
    """Warm up, then one measured cold-cache run and one cached rerun of ``page``; the figures."""
    from streamlit.testing.v1 import AppTest

    path, widgets = PAGES[page]

    def visit() -> tuple[float, float, float, int, Any]:
        at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
        at.run()
        at.switch_page(path)
        for key, value in widgets.items():
            at.session_state[key] = value
        for stage in STAGES:
            stages.wall[stage] = stages.cpu[stage] = 0.0
        sent.total = 0
        wall, cpu, own = time.perf_counter(), tree_cpu_s(), time.process_time()
        at.run()
        wall, cpu, own = time.perf_counter() - wall, tree_cpu_s() - cpu, time.process_time() - own
        if at.exception:
            raise RuntimeError(f"{page}: {[e.value for e in at.exception]}")
        return wall, cpu, own, sent.total, at

    visit()  # warm-up: models, traced functions, imports
    _clear_analyses()
    wall, cpu, own, nbytes, _ = visit()
    measured = {s: (stages.wall[s], stages.cpu[s]) for s in STAGES}
    named_wall = sum(w for w, _ in measured.values())
    named_cpu = sum(c for _, c in measured.values())
    measured["layout"] = (wall - named_wall + measured["layout"][0], max(0.0, cpu - named_cpu))
    cached_wall, cached_cpu, cached_own, cached_bytes, _ = visit()
    return {
        "page": page,
        "stages": {s: {"wall_s": w, "cpu_s": c} for s, (w, c) in measured.items()},
        "total": {"wall_s": wall, "cpu_s": cpu, "server_cpu_s": own, "bytes": nbytes},
        "cached": {"wall_s": cached_wall, "cpu_s": cached_cpu, "server_cpu_s": cached_own, "bytes": cached_bytes},
    }


def format_table(rows: list[dict[str, Any]]) -> str:
    """One line per page and stage (stages that took no time are left out), then the totals."""
    lines = [f"{'page':<9}{'stage':<19}{'wall s':>8}{'CPU s':>8}{'server CPU s':>14}{'bytes':>11}"]
    for row in rows:
        for stage, s in row["stages"].items():
            if s["wall_s"] >= 0.0005 or s["cpu_s"] >= 0.0005:
                lines.append(f"{row['page']:<9}{stage:<19}{s['wall_s']:>8.3f}{s['cpu_s']:>8.3f}")
        for label, t in (("page total", row["total"]), ("cached rerun", row["cached"])):
            lines.append(
                f"{row['page']:<9}{label:<19}{t['wall_s']:>8.3f}{t['cpu_s']:>8.3f}{t['server_cpu_s']:>14.3f}"
                f"{t['bytes']:>11,}"
            )
    return "\n".join(lines)


def main() -> None:
    """Profile each page, print the table (and write JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated: ct, glucose, genes")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    stages = Stages()
    instrument(stages)
    sent = Bytes()
    rows = [profile_page(page, stages, sent) for page in args.pages.split(",")]
    load = os.getloadavg()
    table = format_table(rows)
    print(table)
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "loadavg": load}, indent=1))


if __name__ == "__main__":
    main()
