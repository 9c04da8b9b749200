"""Glucose benchmark: the same table as ``python -m medai_core bench glucose`` (warm latency per stage).

``python benchmarks/bench_glucose.py --personalisation ../shared/data/cgm/glucobench/weinstock2016.csv.gz`` adds
the personalisation study on the card's held-out test patients covering >= 14 days: for each, the adaptation is
run on the whole upload (backtest before/after on the second half), and, as a check on data nobody saw, on the
first 7 days only, scoring the shown forecast (adapted or not) against the shipped model's on the days after.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from medai_core.glucose.bench import run_bench


def personalisation_study(data: Path, min_days: float = 14.0) -> tuple[str, dict[str, Any]]:
    """The personalisation figures on held-out test patients of ``data`` (a data set in the card's manifest).

    Returns:
        the printed lines and the figures (numbers only, for the card's ``metrics.personalisation``).
    """
    from medai_core.glucose.datasets import dataset_name
    from medai_core.glucose.evaluation import collect_windows, rmse_avg
    from medai_core.glucose.forecast import decode_outputs, params_from_artifacts
    from medai_core.glucose.personalise import MIN_DAYS, history_days, personalise
    from medai_core.glucose.prepare import Grid
    from medai_core.glucose.readers import grids_by_patient, read_research_table
    from medai_core.models import load_model

    model = load_model("glucose_forecast")
    params = params_from_artifacts(model.card.artifacts)
    manifest = model.card.manifest
    dataset = dataset_name(data)
    grids = grids_by_patient(read_research_table(data))
    test = [
        p for p, g in grids.items() if manifest.role(dataset, p) == "test" and round(history_days(g), 1) >= min_days
    ]
    rows = []
    for pid in test:
        grid = grids[pid]
        whole = personalise(grid, model.predict, params)
        # future check: adapt on the first 7 days, score on everything after (never used to decide)
        cut = grid.times[0] + np.timedelta64(int(MIN_DAYS * 24 * 60), "m")
        head = grid.times <= cut
        first = personalise(
            Grid(grid.times[head], grid.glucose_mg_dl[head], grid.observed[head]), model.predict, params
        )
        tail = ~head
        later = collect_windows({"p": Grid(grid.times[tail], grid.glucose_mg_dl[tail], grid.observed[tail])})
        base = decode_outputs(np.asarray(model.predict(later.x)), later.last, params).p50
        shown = np.clip(base + first.correction(len(later)), 40.0, 400.0)
        rows.append(
            (
                whole.backtest_rmse_before,
                whole.backtest_rmse_after,
                whole.applied,
                whole.seconds,
                rmse_avg(later.y, base),
                rmse_avg(later.y, shown),
                first.applied,
            )
        )
    a = np.array([[np.nan if v is None else float(v) for v in r] for r in rows])
    shown_whole = np.where(a[:, 2] > 0, a[:, 1], a[:, 0])
    lines = [
        f"personalisation on {len(rows)} held-out {dataset} test patients covering >= {min_days:.0f} days",
        f"  backtest RMSE drops for {int((a[:, 1] < a[:, 0]).sum())}/{len(rows)} "
        f"({100 * np.mean(a[:, 1] < a[:, 0]):.0f} %); mean before {np.mean(a[:, 0]):.2f}, after "
        f"{np.mean(a[:, 1]):.2f} mg/dL; shown forecast's backtest RMSE mean {np.mean(shown_whole):.2f}, rises for "
        f"{int((shown_whole > a[:, 0] + 1e-12).sum())}; adaptation time max {np.max(a[:, 3]):.2f} s",
        f"  adapt on the first {MIN_DAYS:.0f} days, score on the days after: adapted for {int(a[:, 6].sum())}; "
        f"shown RMSE mean {np.nanmean(a[:, 5]):.2f} vs shipped {np.nanmean(a[:, 4]):.2f} mg/dL; lower for "
        f"{int((a[:, 5] < a[:, 4] - 1e-12).sum())}, higher for {int((a[:, 5] > a[:, 4] + 1e-12).sum())}",
    ]
    figures = {
        "patients": len(rows),
        "min_days": min_days,
        "n_backtest_improved": int((a[:, 1] < a[:, 0]).sum()),
        "fraction_backtest_improved": round(float(np.mean(a[:, 1] < a[:, 0])), 4),
        "backtest_rmse_before_mean": round(float(np.mean(a[:, 0])), 3),
        "backtest_rmse_after_mean": round(float(np.mean(a[:, 1])), 3),
        "shown_rmse_mean": round(float(np.mean(shown_whole)), 3),
        "shown_rmse_rises": int((shown_whole > a[:, 0] + 1e-12).sum()),
        "seconds_max": round(float(np.max(a[:, 3])), 3),
        "future_check_first_7_days": {
            "adapted": int(a[:, 6].sum()),
            "shown_rmse_mean": round(float(np.nanmean(a[:, 5])), 3),
            "shipped_rmse_mean": round(float(np.nanmean(a[:, 4])), 3),
            "lower": int((a[:, 5] < a[:, 4] - 1e-12).sum()),
            "higher": int((a[:, 5] > a[:, 4] + 1e-12).sum()),
        },
    }
    return "\n".join(lines), figures


def write_study_to_card(figures: dict[str, Any]) -> None:
    """Record the study in the shipped card's ``metrics.personalisation`` (the weights are not touched)."""
    from medai_core.config import REPO_ROOT
    from medai_core.models.card import read_card, write_card

    model_dir = REPO_ROOT / "models" / "glucose_forecast"
    card = read_card(model_dir)
    write_card(replace(card, metrics=dict(card.metrics) | {"personalisation": figures}), model_dir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--personalisation", type=Path, default=None, help="id,time,gl table (e.g. weinstock2016)")
    parser.add_argument("--write-card", action="store_true", help="record the study in the shipped card")
    args = parser.parse_args()
    if args.personalisation is not None:
        text, figures = personalisation_study(args.personalisation)
        print(text)
        if args.write_card:
            write_study_to_card(figures)
    else:
        print(run_bench())
