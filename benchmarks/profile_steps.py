"""CPU of the Streamlit process per step of the load scenario, one session at a time, in Streamlit's ``AppTest``.

Run (a few minutes on 2 cores)::

    python benchmarks/profile_steps.py                       # the table: mean CPU s per step
    python benchmarks/profile_steps.py --repeats 5 --profile DIR

The steps are those of ``benchmarks/load.py``: ``home:open`` (a new session's first run), ``ct:demo`` (the CT page
with the phantom demo, analysed before), ``ct:analyse`` (a phantom kind and diameter of this session's own: read,
segment, predict, Grad-CAM and deletion curve in a worker, new figures), ``cgm:open`` (the glucose page's demo,
already analysed for an earlier session), ``cgm:upload`` (a 14-day simulated export of this session's own: a new
analysis in a worker, new figures), ``genes:open`` (the demo panel, analysed before) and ``genes:options`` (a
tumour type, drug class, age group and sex of this session's own).
Each repeat is a new session with inputs of its own, after one warm-up session (models loaded, demos analysed).

"CPU s" is the CPU time of this process (the Streamlit side: page scripts, figures, serialising every element);
analyses run in the worker pool's processes and are not counted, so the figure is what one page run costs the
Streamlit process, comparable under load (wall seconds are not). ``--profile`` writes a cProfile of the script
thread per step (every repeat together, ``DIR/<page>_<step>.prof``) for ``python -m pstats``. Asserts nothing.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

STEPS = ("home:open", "ct:demo", "ct:analyse", "cgm:open", "cgm:upload", "genes:open", "genes:options")


class ScriptProfiler:
    """A cProfile of the script thread, switched on only while ``active`` (AppTest runs scripts in a thread)."""

    def __init__(self) -> None:
        self.profiles = {step: cProfile.Profile() for step in STEPS}
        self.active: str | None = None
        from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

        original = ScriptRunner._run_script
        profiler = self

        def run_script(runner: Any, *args: Any, **kwargs: Any) -> Any:
            if profiler.active is None:
                return original(runner, *args, **kwargs)
            profile = profiler.profiles[profiler.active]
            profile.enable()
            try:
                return original(runner, *args, **kwargs)
            finally:
                profile.disable()

        ScriptRunner._run_script = run_script  # type: ignore[method-assign,assignment]


def share_script_cache() -> None:
    """One bytecode cache for every AppTest, as the server's runtime keeps one for every session (AppTest makes a
    new one per test, so each new session would otherwise count compiling the page scripts)."""
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    shared: dict[str, Any] = {}
    original = ScriptCache.get_bytecode

    def get_bytecode(cache: ScriptCache, script_path: str) -> Any:
        path = os.path.abspath(script_path)
        if path not in shared:
            shared[path] = original(cache, script_path)
        return shared[path]

    ScriptCache.get_bytecode = get_bytecode  # type: ignore[method-assign,assignment]


def _session(index: int, cgm: bytes) -> list[tuple[str, Callable[[], Any]]]:
    """One user's steps as (name, action) over one AppTest session, inputs of its own (as load.py chooses them)."""
    from streamlit.testing.v1 import AppTest

    from benchmarks.load import CT_SOURCE, session_phantom
    from medai_core.genomics.prepare import AGE_GROUPS, DRUG_CLASSES
    from medai_core.genomics.tumours import TUMOUR_TYPES

    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=600)
    kind, mm = session_phantom(index)

    def run() -> AppTest:
        at.run()
        if at.exception:
            raise RuntimeError([e.value for e in at.exception])
        return at

    def page(path: str) -> Callable[[], Any]:
        return lambda: (at.switch_page(path), run())

    def upload() -> Any:
        at.file_uploader(key="glucose.upload").set_value((f"session_{index}.csv", cgm, "text/csv"))
        return run()

    def ct(widgets: dict[str, Any]) -> Callable[[], Any]:
        def action() -> Any:
            for key, value in widgets.items():
                at.session_state[key] = value
            return run()

        return action

    def options() -> Any:
        chosen = at.selectbox(key="genes.tumour_type")  # the cohort's types come first, after "Choose..."
        chosen.set_value(chosen.options[1 + index % len(TUMOUR_TYPES)])
        at.radio(key="genes.drug_class").set_value(list(DRUG_CLASSES)[index % len(DRUG_CLASSES)])
        at.selectbox(key="genes.age").set_value(("unknown", *AGE_GROUPS)[(index // 3) % (len(AGE_GROUPS) + 1)])
        at.selectbox(key="genes.sex").set_value(("unknown", "Female", "Male")[(index // 2) % 3])
        return run()

    return [
        ("home:open", run),
        ("ct:demo", lambda: (at.switch_page("pages/ct_nodule.py"), ct({"ct.source": CT_SOURCE})())),
        ("ct:analyse", ct({"ct.phantom_kind": kind, "ct.phantom_mm": mm})),
        ("cgm:open", page("pages/glucose.py")),
        ("cgm:upload", upload),
        ("genes:open", page("pages/gene_panel.py")),
        ("genes:options", options),
    ]


def main() -> None:
    """Warm up with one session, then ``--repeats`` sessions; print mean (and min) CPU s per step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--profile", type=Path, help="write a cProfile of each step's script runs in this folder")
    args = parser.parse_args()
    from medai_core.glucose.simulate import simulated_csv, simulated_patient

    share_script_cache()
    profiler = ScriptProfiler()
    cpu: dict[str, list[float]] = {s: [] for s in STEPS}
    wall: dict[str, list[float]] = {s: [] for s in STEPS}
    for index in range(args.repeats + 1):
        cgm = simulated_csv(simulated_patient(days=14, seed=1000 + index))
        for name, action in _session(index, cgm):
            profiler.active = name if args.profile and index > 0 else None
            start, own = time.perf_counter(), time.process_time()
            action()
            if index > 0:  # session 0 warms up
                cpu[name].append(time.process_time() - own)
                wall[name].append(time.perf_counter() - start)
            profiler.active = None
    load = os.getloadavg()
    print(f"{'step':<15}{'CPU s mean':>11}{'min':>8}{'wall s mean':>13}")
    for name in STEPS:
        print(f"{name:<15}{sum(cpu[name]) / len(cpu[name]):>11.3f}{min(cpu[name]):>8.3f}"
              f"{sum(wall[name]) / len(wall[name]):>13.3f}")  # fmt: skip
    print(f"{args.repeats} sessions; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        for name, profile in profiler.profiles.items():
            profile.dump_stats(args.profile / f"{name.replace(':', '_')}.prof")


if __name__ == "__main__":
    main()
