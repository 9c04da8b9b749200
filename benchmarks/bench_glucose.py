"""Glucose benchmark: the same table as ``python -m medai_core bench glucose`` (warm latency per stage)."""

from __future__ import annotations

from medai_core.glucose.bench import run_bench

if __name__ == "__main__":
    print(run_bench())
