"""Evidence step and whole panel analysis against the number of calls (issue 21 item 6: linear, not quadratic).

Run ``python -m benchmarks.bench_evidence`` from the repository root; it prints one row per size (100, 1,000,
10,000 and 100,000 calls of one synthetic sample, ``medai_core.genomics.demo.demo_maf``: random missense, nonsense
and silent calls in IMPACT468 genes plus the demo hotspots, almost all distinct). Columns, in seconds (median of
``--repeat`` runs after one warm-up): reading the MAF in-process, the evidence step (matching against the
assertions and the CIViC snapshot, the per-call tiers and the ranked therapy options), and the whole analysis of the
parsed calls (:func:`medai_core.genomics.analysis.analyse_panel`: TMB, evidence, survival x3 with the ensemble and
integrated gradients); ``per 1k calls`` is the evidence time per thousand calls, flat when the step is linear.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

SIZES = (100, 1_000, 10_000, 100_000)


def _median_s(fn: Callable[[], Any], repeat: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def run(sizes: tuple[int, ...] = SIZES, repeat: int = 3, tumour: str = "Melanoma") -> str:
    """The benchmark table as text."""
    from medai_core.genomics.analysis import analyse_panel
    from medai_core.genomics.demo import demo_maf
    from medai_core.genomics.evidence import call_tiers, load_evidence, match_evidence, ranked_options
    from medai_core.genomics.panels import resolve_panel
    from medai_core.genomics.readers import read_panel
    from medai_core.genomics.tumours import resolve_tumour
    from medai_core.models import configure_runtime, load_model

    device = configure_runtime()
    model = load_model("gene_ici_survival")
    base = load_evidence()
    panel = resolve_panel("IMPACT468")
    node = resolve_tumour(tumour)
    lines = [
        f"evidence step vs calls ({device.label}; {tumour}; CIViC {base.civic_release}; median of {repeat})",
        f"{'calls':>8} {'distinct':>9} {'read s':>8} {'evidence s':>11} {'per 1k calls':>13} {'analysis s':>11}",
    ]
    for n in sizes:
        data = demo_maf(n)
        read_s = _median_s(lambda data=data: read_panel(data, name="bench.maf"), repeat)
        calls = read_panel(data, name="bench.maf").for_sample(None)

        def evidence(calls: Any = calls) -> None:
            items = match_evidence(base, calls, node)
            call_tiers(calls, items)
            ranked_options(items)

        evidence_s = _median_s(evidence, repeat)
        analysis_s = _median_s(
            lambda calls=calls: analyse_panel(calls, model=model, tumour_type=node, panel=panel, evidence_base=base),
            repeat,
        )
        distinct = len({(c.gene, c.protein_change, c.classification) for c in calls})
        lines.append(
            f"{len(calls):>8} {distinct:>9} {read_s:>8.3f} {evidence_s:>11.3f} {1000 * evidence_s / len(calls):>13.4f}"
            f" {analysis_s:>11.3f}"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated numbers of calls")
    args = parser.parse_args()
    print(run(tuple(int(s) for s in args.sizes.split(",")), repeat=args.repeat))
