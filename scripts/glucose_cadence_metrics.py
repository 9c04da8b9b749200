"""Backtest figures of the shipped glucose forecaster per sensor cadence, written to its card (``metrics.by_cadence``).

Run from the repository root (a few minutes on 2 cores, no training)::

    PYTHONPATH=. python scripts/glucose_cadence_metrics.py \
        ../shared/data/cgm/glucobench/weinstock2016.csv.gz [--write-card]

The card's held-out test patients of the data set (its provenance manifest) are scored twice with the same rule as
``evaluate glucose`` (origins every 30 minutes, 3 h of input, the next hour observed): as recorded (5 minutes), and
thinned to one reading every 15 minutes (FreeStyle Libre 1 / LibreLink history), put back on the 5-minute grid the way
an upload is read, and scored only at 15, 30, 45 and 60 minutes, where such a sensor has readings. The 5-minute
figures are also given at those four steps, so the two cadences are compared like for like. The same figures come
from ``python -m medai_core evaluate glucose --data FILE --held-out-only --cadence 5|15``.
Source: GlucoBench's processed Weinstock et al. 2016 release (see ``../shared/data/README.md``).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

STEPS_15 = (3, 6, 9, 12)
"""Grid steps (of 5 minutes) a 15-minute sensor has readings at."""


def _scores(s: dict[str, float]) -> dict[str, float | None]:
    keys = ("rmse_30", "rmse_60", "rmse_avg", "mae_30", "mae_60", "coverage_80", "clarke_ab_percent")
    return {k: None if not np.isfinite(s[k]) else round(float(s[k]), 4) for k in keys}


def cadence_metrics(data: Path) -> dict[str, Any]:
    """The ``metrics.by_cadence`` block for the held-out patients of ``data``."""
    from medai_core.glucose.commands import dataset_name

    from medai_core.glucose.evaluation import collect_windows, evaluate_at_cadence, forecast_scores, linear_baseline
    from medai_core.glucose.forecast import decode_outputs, params_from_artifacts
    from medai_core.glucose.readers import grids_by_patient, read_research_table
    from medai_core.models import load_model

    model = load_model("glucose_forecast")
    params = params_from_artifacts(model.card.artifacts)
    dataset = dataset_name(data)
    manifest = model.card.manifest
    grids = {p: g for p, g in grids_by_patient(read_research_table(data)).items() if manifest.is_held_out(dataset, p)}
    out: dict[str, Any] = {
        "dataset": dataset,
        "split": f"held-out {dataset} patients of the card's manifest, origins every 30 min",
        "method": "readings thinned to one every 15 minutes and read like an upload (5-minute grid, points between "
        "readings interpolated); scored only where a reading exists (15, 30, 45, 60 min); rmse_avg is the mean "
        "over the scored steps",
    }
    for minutes in (5, 15):
        ev = evaluate_at_cadence(model.predict, params, grids, minutes)
        block: dict[str, Any] = {
            "patients": ev.patients,
            "windows": ev.windows,
            "steps_scored_minutes": [5 * k for k in (range(1, 13) if minutes == 5 else STEPS_15)],
            "model": _scores(ev.model),
            "linear_regression": _scores(ev.linear),
            "last_value": _scores(ev.last_value),
        }
        if minutes == 5:  # like for like: the 5-minute forecasts scored at the 15-minute steps only
            windows = collect_windows(grids)
            mask = np.zeros(windows.y.shape, dtype=bool)
            mask[:, [k - 1 for k in STEPS_15]] = True
            p50 = decode_outputs(np.asarray(model.predict(windows.x)), windows.last, params).p50
            last = np.repeat(windows.last[:, None], windows.y.shape[1], axis=1)
            block["at_15_minute_steps"] = {
                "model": round(float(forecast_scores(windows.y, p50, mask=mask)["rmse_avg"]), 4),
                "linear_regression": round(
                    float(forecast_scores(windows.y, linear_baseline(windows.x, params), mask=mask)["rmse_avg"]), 4
                ),
                "last_value": round(float(forecast_scores(windows.y, last, mask=mask)["rmse_avg"]), 4),
            }
        out[str(minutes)] = block
    return out


def write_to_card(block: dict[str, Any]) -> None:
    """Record ``block`` as the shipped card's ``metrics.by_cadence`` (the weights are not touched)."""
    from medai_core.config import REPO_ROOT
    from medai_core.models.card import read_card, write_card

    model_dir = REPO_ROOT / "models" / "glucose_forecast"
    card = read_card(model_dir)
    write_card(replace(card, metrics=dict(card.metrics) | {"by_cadence": block}), model_dir)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path, help="id,time,gl table of a data set in the card's manifest")
    parser.add_argument("--write-card", action="store_true", help="record the figures in the shipped card")
    args = parser.parse_args()
    figures = cadence_metrics(args.data)
    for minutes in ("5", "15"):
        b = figures[minutes]
        print(
            f"{minutes:>2} min: {b['patients']} patients, {b['windows']} windows; RMSE 30/60/avg "
            + " | ".join(
                f"{name} {b[name]['rmse_30']:.2f}/{b[name]['rmse_60']:.2f}/{b[name]['rmse_avg']:.2f}"
                for name in ("model", "linear_regression", "last_value")
            )
        )
    print("5 min scored at 15/30/45/60 min:", figures["5"]["at_15_minute_steps"])
    if args.write_card:
        write_to_card(figures)
