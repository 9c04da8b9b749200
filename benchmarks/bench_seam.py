"""What keeping explanations in the client costs (the inference seam's design choice, see medai_core.inference).

Run: ``python benchmarks/bench_seam.py``. Prints a table; asserts nothing.

With ``MEDAI_SERVE_ADDRESS`` set, predictions go to Ray Serve while Grad-CAM and integrated gradients run on a local
verified copy of the weights. This measures, on this machine, what that local part costs per analysis:

- time: each domain's analysis with the explanation timed apart (CT: ``explain="all"`` minus ``"none"``; CGM and
  genes: the time inside ``integrated_gradients``), warm, median of 5;
- memory: resident set of a fresh process after importing TensorFlow, then after loading the three models.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

REPEATS = 5

_MEMORY_PROBE = """
import resource, sys
sys.path.insert(0, {repo!r})
def rss():
    with open('/proc/self/status') as f:
        return next(int(l.split()[1]) / 1024 for l in f if l.startswith('VmRSS:'))
from medai_core.models import configure_runtime, load_model
configure_runtime()
import keras
base = rss()
for m in ('ct_nodule', 'glucose_forecast', 'gene_ici_survival'):
    load_model(m)
print(base, rss())
"""


def _median(fn: Callable[[], Any]) -> float:
    fn()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


class _TimedIG:
    """Wraps ``medai_core.explain.integrated_gradients`` and adds up the seconds spent inside it."""

    def __init__(self) -> None:
        import medai_core.explain as explain

        self.module, self.original, self.seconds = explain, explain.integrated_gradients, 0.0

    def __enter__(self) -> _TimedIG:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        self.module.integrated_gradients = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        self.module.integrated_gradients = self.original  # type: ignore[assignment]


def main() -> None:
    """Time each domain's analysis and its explanation; probe memory; print the table."""
    from medai_core.ct.analysis import analyse_nodule, make_ensemble_grad_cam
    from medai_core.ct.phantom import make_phantom, phantom_dicom_zip
    from medai_core.ct.readers import read_ct
    from medai_core.genomics.analysis import analyse_bytes
    from medai_core.genomics.demo import DEMO_FILENAME, demo_maf
    from medai_core.genomics.evidence import load_evidence
    from medai_core.glucose.analysis import analyse
    from medai_core.glucose.simulate import simulated_patient
    from medai_core.models import load_model

    rows = []
    ct = load_model("ct_nodule")
    cam = make_ensemble_grad_cam(ct)
    phantom = make_phantom("spiculated", 14.0)
    study = read_ct(phantom_dicom_zip(phantom), name="phantom.zip")
    full = _median(lambda: analyse_nodule(ct, cam, study, phantom.seed, explain="all"))
    bare = _median(lambda: analyse_nodule(ct, None, study, phantom.seed, explain="none"))
    rows.append(("ct (Grad-CAM every slice + deletion curve)", full, full - bare))
    glucose = load_model("glucose_forecast")
    record = simulated_patient(days=14, seed=3)
    analyse(record, glucose)  # warm-up: traces the functions, not timed
    with _TimedIG() as timer:
        total = _median(lambda: analyse(record, glucose))
    rows.append(("glucose (integrated gradients, 14 days)", total, timer.seconds / (REPEATS + 1)))
    genes = load_model("gene_ici_survival")
    evidence = load_evidence()
    maf = demo_maf()

    def genes_analysis() -> Any:
        return analyse_bytes(maf, DEMO_FILENAME, model=genes, tumour_type="Melanoma", evidence_base=evidence)

    genes_analysis()  # warm-up: traces the functions, not timed
    with _TimedIG() as timer:
        total = _median(genes_analysis)
    rows.append(("genes (integrated gradients)", total, timer.seconds / (REPEATS + 1)))
    probe = subprocess.run(
        [sys.executable, "-c", _MEMORY_PROBE.format(repo=str(Path(__file__).resolve().parents[1]))],
        capture_output=True,
        text=True,
        check=True,
    )
    base_mb, loaded_mb = (float(v) for v in probe.stdout.split()[-2:])
    print(f"{'analysis':<46}{'whole s':>9}{'explain s':>11}{'share':>7}")
    for name, whole, explain in rows:
        print(f"{name:<46}{whole:>9.3f}{explain:>11.3f}{explain / whole:>7.0%}")
    print(
        f"memory: TensorFlow imported {base_mb:.0f} MiB; with the three models loaded {loaded_mb:.0f} MiB "
        f"(+{loaded_mb - base_mb:.0f} MiB for the local copies the explanations use)"
    )


if __name__ == "__main__":
    main()
