"""Gene panel speed: a 500-variant MAF to the full result (evidence, TMB, survival with interval, attributions).

Run ``python -m benchmarks.bench_genes`` from the repository root (same table as
``python -m medai_core bench genes``). Target: well under 200 ms warm on 2 CPU cores.
"""

from __future__ import annotations

from medai_core.genomics.bench import run_bench

if __name__ == "__main__":
    print(run_bench(repeat=30))
