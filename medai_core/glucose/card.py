"""The model card of the glucose forecaster: fixed prose plus the numbers :func:`medai_core.glucose.train.train_glucose`
measured (test metrics by data set, the candidates' comparison, the calibration and the split)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from medai_core.domains import GLUCOSE
from medai_core.glucose.cohorts import DATASET, DATASETS, SEED, Splits, cohort_manifest
from medai_core.glucose.evaluation import Evaluation
from medai_core.glucose.forecast import HYPO_KEYS, OUTPUT_SIZE, ForecastParams
from medai_core.glucose.prepare import (
    DELTA_SCALE,
    HORIZON_STEPS,
    INPUT_CHANNELS,
    INPUT_STEPS,
    LEVEL_CENTER,
    LEVEL_SCALE,
)

__all__ = ["MODEL_VERSION", "build_card"]

MODEL_VERSION = "2.0.0"


def _rounded(d: Mapping[str, float], digits: int = 4) -> dict[str, float]:
    return {k: round(float(v), digits) for k, v in d.items()}


def _fmt(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "patients": evaluation.patients,
        "windows": evaluation.windows,
        "model": _rounded(evaluation.model),
        "last_value": _rounded(evaluation.last_value),
        "linear_regression": _rounded(evaluation.linear),
        "hypo_model": {k: _rounded(v) for k, v in evaluation.hypo_model.items()},
        "hypo_baseline_last_value": {k: _rounded(v) for k, v in evaluation.hypo_baseline.items()},
        "hypo_model_last_reading_ge_70": {k: _rounded(v) for k, v in evaluation.hypo_model_from_70.items()},
        "hypo_baseline_last_reading_ge_70": {k: _rounded(v) for k, v in evaluation.hypo_baseline_from_70.items()},
    }


def build_card(
    *,
    evaluation: Evaluation,
    evaluations: Mapping[str, Evaluation],
    comparison: Mapping[str, Mapping[str, Mapping[str, float]]],
    selection: Mapping[str, Mapping[str, float]],
    chosen: str,
    params: ForecastParams,
    splits: Splits,
    windows: Mapping[str, int],
    train_seconds: Mapping[str, float],
    headline_ds: str,
    single_file: bool,
    data: Path,
) -> Any:
    from medai_core.models import HeadlineMetric, ModelCard

    metrics = _fmt(evaluation) | {
        "dataset": {ds: _fmt(ev) for ds, ev in evaluations.items()},
        "candidates_test": {ds: {n: _rounded(r) for n, r in t.items()} for ds, t in comparison.items()},
        "candidates_validation_rmse_avg": {n: _rounded(r) for n, r in selection.items()},
        "training_seconds": dict(train_seconds),
    }
    by_dataset = {ds: {"test_patient_ids": te, "validation_patient_ids": va} for ds, (_, va, te) in splits.items()}
    artifacts = params.to_artifacts() | {
        "split": {"seed": SEED, "by_dataset": by_dataset}
        | (
            {"test_patient_ids": splits[DATASET][2], "validation_patient_ids": splits[DATASET][1]}
            if DATASET in splits
            else {}
        ),
        "architecture": chosen,
        "preprocessing": {
            "grid_minutes": 5,
            "max_interpolated_gap_minutes": 15,
            "input_steps": INPUT_STEPS,
            "horizon_steps": HORIZON_STEPS,
            "level_center_mg_dl": LEVEL_CENTER,
            "level_scale_mg_dl": LEVEL_SCALE,
            "delta_scale_mg_dl": DELTA_SCALE,
        },
    }
    names = ", ".join(splits)
    arch = {
        "mlp": "MLP over the 3-hour window",
        "tcn": "temporal convolutional network",
    }
    chosen_text = " + ".join(arch.get(n, n) for n in chosen.split("+"))
    command = "python -m medai_core train glucose --data " + (
        f"../shared/data/cgm/glucobench/{data.name}" if single_file else "../shared/data/cgm/glucobench"
    )
    return ModelCard(
        id=GLUCOSE.model_id,
        version=MODEL_VERSION,
        name="CGM 60-minute quantile forecaster with hypoglycaemia risk",
        task="glucose forecast 5-60 min (p10/p50/p90) and P(<70 within 30/60 min, <54 within 60 min)",
        domain="glucose",
        intended_use=(
            "Research use only: shows clinicians and researchers a probabilistic short-term forecast of a CGM "
            "trace, with its uncertainty and backtest on the same patient (and, with 7 days or more, a forecast "
            "adapted to the patient where that lowers the backtest error). Not for dosing or treatment decisions."
        ),
        out_of_scope=(
            "Insulin dosing, alarms or any real-time treatment decision; children; pregnancy; sensors or settings "
            "that differ from 5-minute Dexcom-like CGMs (15-minute Libre histories are interpolated and less "
            "reliable)."
        ),
        training_data={
            "datasets": {ds: DATASETS.get(ds, {"name": ds}) for ds in splits},
            "source": "GlucoBench (Sergazinov et al., ICLR 2024; IrinaStatsLab/GlucoBench) processed releases of: "
            + names,
            "patients": {
                ds: {"train": len(tr), "validation": len(va), "test": len(te)} for ds, (tr, va, te) in splits.items()
            },
            "windows": dict(windows),
            "split": "by patient inside each data set, fixed seed; validation patients used for early stopping, "
            "model selection and calibration only",
            "architecture": f"{chosen_text} (chosen on validation patients among "
            + ", ".join(selection)
            + "); same quantile heads, conformal margins and Platt scaling",
        },
        inputs={
            "tensors": [
                {
                    "name": "window",
                    "shape": [INPUT_STEPS, INPUT_CHANNELS],
                    "dtype": "float32",
                    "units": "channels: (g-140)/60, (g-g_last)/25 (mg/dL), sin and cos of time of day",
                }
            ],
            "preprocessing": "5-minute grid anchored at the first reading, duplicates averaged, gaps <= 15 min "
            "linearly interpolated, longer gaps not; the 36 points (3 h) ending at the last reading",
        },
        outputs={
            "shape": [OUTPUT_SIZE],
            "meaning": "[p10 x12, p50 x12, p90 x12] change from the last reading in units of 25 mg/dL at "
            "5..60 min, then logits for " + ", ".join(HYPO_KEYS),
            "postprocessing": "add conformal margins to the band; Platt-scale the logits (artifacts)",
        },
        headline=HeadlineMetric(
            name="RMSE (mg/dL, mean over 12 steps of 5..60 min)",
            value=round(evaluation.model["rmse_avg"], 2),
            split=f"held-out {headline_ds} patients ({evaluation.patients}), origins every 30 min",
            baseline_name="linear regression on the same window",
            baseline_value=round(evaluation.linear["rmse_avg"], 2),
        ),
        metrics=metrics,
        calibration={
            "interval": "conformalized quantile regression margins per step on validation patients: the largest "
            "of the data sets' own margins, so that each data set is covered",
            "coverage_80_test": round(evaluation.model["coverage_80"], 4),
            "coverage_80_test_by_dataset": {ds: round(ev.model["coverage_80"], 4) for ds, ev in evaluations.items()},
            "hypo": "Platt scaling of each logit on validation patients",
            "brier_test": {k: round(v["brier"], 4) for k, v in evaluation.hypo_model.items()},
        },
        limitations=(
            "Trained on adults: older adults with type 1 diabetes (Weinstock) and adults without diabetes, with "
            "prediabetes or type 2 diabetes (Colas, Hall); children and pregnancy are not validated.",
            "No insulin, meal or exercise inputs: sudden changes after meals or boluses are not anticipated.",
            "Only a 3-hour window: forecasts after long gaps are unavailable until 3 hours of data exist.",
            "Timestamps were shifted by the data publishers; time of day is taken as given.",
            "Sensor readings are limited to 40-400 mg/dL; values beyond are clipped.",
        ),
        weights_file="model.keras",
        weights_sha256="0" * 64,
        created=dt.date.today().isoformat(),
        training_command=command,
        artifacts=artifacts,
        provenance=cohort_manifest(splits).to_dict(),
    )
