"""Archive scoring throughput: ``batch --engine local`` vs ``--engine ray`` vs the bare ``model.predict``.

Run: ``python benchmarks/bench_batch.py [--cases 24] [--workers 2] [--domains ct,glucose,genes]`` (needs
``requirements-scale.txt`` for the Ray column). Prints a table; asserts nothing.

Per domain it writes an archive of synthetic cases from the demo generators (CT phantom DICOM series, simulated
CGM exports, synthetic MAFs), then measures wall time for:

- ``local``: :func:`medai_core.batch.run_batch` in this process (model load included, once);
- ``ray``: the same on a local Ray with ``--workers`` actors (actor start and model load included; Ray start not);
- ``model.predict``: the model's forward pass alone on exactly the tensors the local run sent to the model,
  recorded during that run and replayed as one batch per model call site (the ceiling for the reading,
  preparation, explanation and bookkeeping around it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from medai_core.batch import BatchOptions, InputScorer, run_batch
from medai_core.domains import get_domain
from medai_core.models import LoadedModel, load_model

CT_CENTER = "48,48,7"
OPTIONS = {"ct": BatchOptions(center=CT_CENTER), "glucose": BatchOptions(), "genes": BatchOptions(tumour_type="NSCLC")}


def write_archive(domain: str, folder: Path, cases: int) -> None:
    """``cases`` synthetic inputs of ``domain`` in ``folder`` (varied, so no two are the same bytes)."""
    folder.mkdir(parents=True, exist_ok=True)
    if domain == "ct":
        from medai_core.ct.phantom import PHANTOM_KINDS, make_phantom, phantom_dicom_zip

        for i in range(cases):
            kind = PHANTOM_KINDS[i % len(PHANTOM_KINDS)]
            phantom = make_phantom(kind, 6.0 + (i * 2.5) % 20, seed=i)  # type: ignore[arg-type]
            (folder / f"case_{i:03d}.zip").write_bytes(phantom_dicom_zip(phantom))
    elif domain == "glucose":
        from medai_core.glucose.simulate import simulated_csv, simulated_patient

        for i in range(cases):
            (folder / f"case_{i:03d}.csv").write_bytes(simulated_csv(simulated_patient(days=7, seed=100 + i)))
    else:
        from medai_core.genomics.demo import demo_maf

        for i in range(cases):
            (folder / f"case_{i:03d}.maf").write_bytes(demo_maf(40 + 10 * (i % 5), seed=200 + i))


class _Recorder:
    """An inference function that records every batch it is given, then runs the real one."""

    def __init__(self, infer: Any) -> None:
        self.infer = infer
        self.calls: list[Any] = []

    def __call__(self, x: Any) -> Any:
        self.calls.append(x)
        return self.infer(x)


def raw_predict_seconds(model: LoadedModel, calls: list[Any]) -> float:
    """Time the model alone on the recorded tensors, merged into one batch per input shape (warm)."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for x in calls:
        arrays = list(x) if isinstance(x, (list, tuple)) else [x]
        groups.setdefault(tuple(a.shape[1:] for a in arrays), []).append(arrays)
    merged = [[np.concatenate(parts, axis=0) for parts in zip(*group, strict=True)] for group in groups.values()]
    for arrays in merged:
        model.predict(*[a[:1] for a in arrays])  # warm the traced function for this shape
    start = time.perf_counter()
    for arrays in merged:
        model.predict(*arrays)
    return time.perf_counter() - start


def bench_domain(domain: str, root: Path, cases: int, workers: int, with_ray: bool) -> dict[str, Any]:
    """One row of the table."""
    folder = root / domain
    write_archive(domain, folder, cases)
    model = load_model(get_domain(domain).model_id)
    recorder = _Recorder(model._infer)
    recording = replace(model, _infer=recorder)
    scorer = InputScorer(domain, OPTIONS[domain], model=recording)
    scorer(str(sorted(folder.iterdir())[0]))  # warm-up (isolation worker, traced shapes), not recorded below
    recorder.calls.clear()
    start = time.perf_counter()
    for path in sorted(folder.iterdir()):
        scorer(str(path))
    in_process = time.perf_counter() - start
    raw = raw_predict_seconds(model, recorder.calls)
    start = time.perf_counter()
    local = run_batch(domain, [str(folder)], root / f"{domain}_local.parquet", OPTIONS[domain], progress=False)
    local_s = time.perf_counter() - start
    row = {
        "domain": domain,
        "cases": cases,
        "errors": local.errors,
        "local_cases_s": cases / local_s,
        "warm_scorer_cases_s": cases / in_process,
        "raw_predict_cases_s": cases / raw,
        "model_calls": len(recorder.calls),
        "rows_to_model": int(sum((c[0] if isinstance(c, (list, tuple)) else c).shape[0] for c in recorder.calls)),
    }
    if with_ray:
        small = root / f"{domain}_small"
        small.mkdir()
        for path in sorted(folder.iterdir())[:workers]:
            (small / path.name).write_bytes(path.read_bytes())
        seconds = {}
        for name, source in (("small", small), ("full", folder)):
            start = time.perf_counter()
            ray_run = run_batch(
                domain,
                [str(source)],
                root / f"{domain}_ray_{name}.parquet",
                OPTIONS[domain],
                engine="ray",
                workers=workers,
                cpus_per_worker=1.0,
                progress=False,
            )
            seconds[name] = time.perf_counter() - start
        row["ray_cases_s"] = cases / seconds["full"]
        row["ray_startup_s"] = seconds["small"]  # actors started, models loaded, one case each
        row["ray_steady_cases_s"] = (cases - workers) / max(seconds["full"] - seconds["small"], 1e-9)
        row["ray_errors"] = ray_run.errors
    return row


def main() -> None:
    """Parse options, run every domain, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=24)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--domains", default="ct,glucose,genes")
    parser.add_argument("--no-ray", action="store_true")
    args = parser.parse_args()
    with_ray = not args.no_ray
    if with_ray:
        from medai_core.scale_commands import init_ray

        init_ray(num_cpus=args.workers)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for domain in args.domains.split(","):
            rows.append(bench_domain(domain, Path(tmp), args.cases, args.workers, with_ray))
            print(rows[-1], file=sys.stderr, flush=True)
    print(
        f"{'domain':<9}{'cases':>6}{'local':>9}{'ray':>9}{'ray start s':>12}{'ray steady':>11}{'warm':>9}"
        f"{'predict':>10}{'calls':>7}{'rows':>7}"
    )
    for r in rows:
        ray_text = (
            f"{r['ray_cases_s']:>9.2f}{r['ray_startup_s']:>12.1f}{r['ray_steady_cases_s']:>11.2f}"
            if "ray_cases_s" in r
            else f"{'-':>9}{'-':>12}{'-':>11}"
        )
        print(
            f"{r['domain']:<9}{r['cases']:>6}{r['local_cases_s']:>9.2f}{ray_text}{r['warm_scorer_cases_s']:>9.2f}"
            f"{r['raw_predict_cases_s']:>10.1f}{r['model_calls']:>7}{r['rows_to_model']:>7}"
        )
    print(
        "cases/s, end to end unless named: local and ray include model loading (ray: actor start too); ray start = "
        "a run of one case per actor; ray steady = the remaining cases over the remaining time; warm = the scorer "
        "loop after loading; predict = the model alone on the same tensors, one batch per input shape"
    )


if __name__ == "__main__":
    main()
