"""Latency measurement for ``python -m medai_core bench``: warm timings, printed as a table."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["BenchRow", "format_table", "measure"]


@dataclass(frozen=True)
class BenchRow:
    """One benchmarked stage.

    Attributes:
        stage: what was timed.
        median_ms: median wall time per call, milliseconds.
        p90_ms: 90th percentile, milliseconds.
        calls: timed calls (after warm-up).
        note: free text, e.g. a ratio to another row.
    """

    stage: str
    median_ms: float
    p90_ms: float
    calls: int
    note: str = ""


def measure(stage: str, fn: Callable[[], Any], *, repeat: int = 30, warmup: int = 3, note: str = "") -> BenchRow:
    """Call ``fn`` ``warmup`` times untimed, then ``repeat`` times timed with ``time.perf_counter``."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000.0)
    arr = np.asarray(times)
    return BenchRow(stage, float(np.median(arr)), float(np.percentile(arr, 90)), repeat, note)


def format_table(rows: Sequence[BenchRow], title: str = "") -> str:
    """A fixed-width text table of ``rows``."""
    width = max([len("stage"), *(len(r.stage) for r in rows)])
    lines = [title] if title else []
    lines.append(f"{'stage':<{width}}  {'median ms':>10}  {'p90 ms':>10}  {'calls':>6}  note")
    lines.append("-" * (width + 34))
    lines.extend(f"{r.stage:<{width}}  {r.median_ms:>10.2f}  {r.p90_ms:>10.2f}  {r.calls:>6}  {r.note}" for r in rows)
    return "\n".join(lines)
