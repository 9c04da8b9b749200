"""Cost of reading uploads in an isolated worker (medai_core.isolation) instead of in the server process.

For each reader and a few input sizes, the same bytes are read alternately in-process and through a warm one-worker
pool; the table gives both latencies and the overhead per read (isolated minus in-process, paired per repetition):
median and p95, plus the size of the pickled result that travels back. Run ``python benchmarks/bench_isolation.py
[--repeat N]``. The overhead is pickling the request and the result, two pipe copies and a process switch; it must
stay well under the warm analysis budget of each page.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from medai_core.isolation import IsolationPool


def _inputs() -> list[tuple[str, str, Callable[..., Any], tuple[Any, ...], dict[str, Any]]]:
    from medai_core.ct.demo import demo_bytes
    from medai_core.ct.phantom import make_phantom, phantom_dicom_zip
    from medai_core.ct.readers import read_ct
    from medai_core.fuzz import seed_corpus
    from medai_core.genomics.demo import demo_maf
    from medai_core.genomics.io import read_panel
    from medai_core.glucose.readers import read_cgm
    from medai_core.glucose.simulate import simulated_csv, simulated_patient

    ct_small = demo_bytes("ct_small")[0]
    series = phantom_dicom_zip(make_phantom("solid", 12.0))
    big = phantom_dicom_zip(make_phantom("solid", 12.0, size=512, slices=60))
    vcf = next(d for n, d, _ in seed_corpus("genes") if n == "vep.vcf")
    return [
        ("ct", "CT_small.dcm, 1 x 128 x 128", read_ct, (ct_small,), {"name": "CT_small.dcm"}),
        ("ct", "DICOM zip, 15 x 96 x 96", read_ct, (series,), {"name": "series.zip"}),
        ("ct", "DICOM zip, 60 x 512 x 512", read_ct, (big,), {"name": "big.zip"}),
        ("glucose", "generic CSV, 14 days", read_cgm, (simulated_csv(simulated_patient(days=14)),), {"name": "x"}),
        ("glucose", "generic CSV, 90 days", read_cgm, (simulated_csv(simulated_patient(days=90)),), {"name": "x"}),
        ("genes", "MAF, 500 variants", read_panel, (demo_maf(500), "bench.maf"), {}),
        ("genes", "VEP VCF, 2 calls (cyvcf2)", read_panel, (vcf, "vep.vcf"), {}),
    ]


def run(repeat: int = 20, warmup: int = 2) -> str:
    """Time every input; returns the table."""
    pool = IsolationPool(workers=1, time_limit_s=120.0, memory_mb=4096, stderr=subprocess.DEVNULL)
    rows = []
    try:
        pool.run(len, b"")  # start the worker and its imports before timing
        for domain, label, reader, args, kwargs in _inputs():
            result = reader(*args, **kwargs)
            result_mb = len(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)) / 2**20
            direct, isolated = [], []
            for i in range(warmup + repeat):
                start = time.perf_counter()
                reader(*args, **kwargs)
                middle = time.perf_counter()
                pool.run(reader, *args, **kwargs)
                end = time.perf_counter()
                if i >= warmup:
                    direct.append((middle - start) * 1e3)
                    isolated.append((end - middle) * 1e3)
            d, s = np.asarray(direct), np.asarray(isolated)
            overhead = s - d
            rows.append(
                (domain, label, np.median(d), np.median(s), np.median(overhead), np.percentile(overhead, 95), result_mb)
            )
    finally:
        pool.close()
    head = (
        f"{'reader':<8} {'input':<28} {'in-process ms':>13} {'isolated ms':>12} {'overhead ms':>12} "
        f"{'p95 ms':>8} {'result MiB':>10}"
    )
    lines = [f"isolated read overhead, warm one-worker pool, {repeat} paired reads each", head, "-" * len(head)]
    for domain, label, dm, sm, om, op, mb in rows:
        lines.append(f"{domain:<8} {label:<28} {dm:>13.2f} {sm:>12.2f} {om:>12.2f} {op:>8.2f} {mb:>10.2f}")
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    print(run(repeat=parser.parse_args().repeat))
