"""JSON payloads of the glucose domain: ``predict glucose`` and ``evaluate glucose`` (contract: ``docs/CLI.md``).

Shared by the CLI, the glucose page (JSON download) and reports. Glucose is always in mg/dL here, whatever the
unit of the file; the five consensus ranges were classified in the file's own unit (``ranges_unit``). No patient
identifier from the file is written (the page and CLI know which patient they asked for).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from medai_core.glucose.agp import METRIC_KEYS
from medai_core.glucose.personalise import MIN_DAYS

if TYPE_CHECKING:
    from medai_core.glucose.analysis import GlucoseAnalysis
    from medai_core.glucose.evaluation import Evaluation
    from medai_core.provenance import Membership

__all__ = ["EVAL_KEYS", "analysis_payload", "evaluation_payload", "rounded"]

EVAL_KEYS = ("rmse_30", "rmse_60", "rmse_avg", "mae_30", "mae_60", "coverage_80", "clarke_ab_percent")
"""Scores of ``evaluate glucose`` at the top level of its JSON (and in each baseline's entry)."""


def rounded(value: float | None, digits: int = 2) -> float | None:
    """``value`` rounded to ``digits``; None for None, NaN or infinity (JSON has no NaN)."""
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def analysis_payload(result: GlucoseAnalysis) -> dict[str, Any]:
    """The ``predict glucose`` JSON document of one analysis (mg/dL; the keys of CLI.md, then extras).

    Metrics that the data cannot support (e.g. SD and CV of a single reading) are null, and ``notes`` says why.
    ``forecast`` is the forecast shown: adapted to the patient where ``personalisation.applied`` (present when
    the upload covers at least 7 days; ``p50_not_adapted`` then keeps the shipped model's median).
    """
    forecast = result.forecast
    payload: dict[str, Any] = {
        "source_format": result.source_format,
        "unit_detected": result.unit_detected,
        "n_readings": result.n_readings,
        "start": result.start,
        "end": result.end,
        "metrics": {k: rounded(result.agp.metrics[k]) for k in METRIC_KEYS},
        "forecast": None,
        "hypo_risk": None,
        "model_id": result.model_id,
        "model_version": result.model_version,
        "weights_sha256": result.weights_sha256,
    }
    if forecast is not None:
        payload["forecast"] = {
            "minutes": [int(m) for m in forecast.minutes],
            "p10": [rounded(v, 1) for v in forecast.p10],
            "p50": [rounded(v, 1) for v in forecast.p50],
            "p90": [rounded(v, 1) for v in forecast.p90],
        }
        payload["hypo_risk"] = {k: rounded(v, 4) for k, v in forecast.hypo.items()}
        payload["forecast_origin"] = forecast.origin_time
    else:
        payload["forecast_unavailable"] = result.forecast_unavailable
    adapted = result.personalisation
    if round(adapted.days_used, 1) >= MIN_DAYS:
        payload["personalisation"] = {
            "applied": adapted.applied,
            "reason": adapted.reason,
            "backtest_rmse_before": rounded(adapted.backtest_rmse_before),
            "backtest_rmse_after": rounded(adapted.backtest_rmse_after),
            "days_used": rounded(adapted.days_used),
            "fit_windows": adapted.fit_windows,
            "backtest_windows": adapted.backtest_windows,
            "bias_mg_dl": None if adapted.bias_mg_dl is None else [rounded(float(v), 1) for v in adapted.bias_mg_dl],
            "backtest_mse_drop": rounded(adapted.gain_mse),
            "backtest_mse_drop_se": rounded(adapted.gain_se),
        }
        if forecast is not None and forecast.p50_shipped is not None:
            payload["personalisation"]["p50_not_adapted"] = [rounded(v, 1) for v in forecast.p50_shipped]
    payload["sensor"] = {
        "family": result.sensor,
        "floor_mg_dl": rounded(result.sensor_limits_mg_dl[0], 1),
        "ceiling_mg_dl": rounded(result.sensor_limits_mg_dl[1], 1),
        "censored_at_floor": result.censored_low,
        "censored_at_ceiling": result.censored_high,
        "sampling_minutes": rounded(result.sampling_minutes, 1),
    }
    payload["sufficiency"] = [{"text": c.text, "status": c.status} for c in result.agp.checks]
    payload["ranges_unit"] = result.agp.range_unit
    payload["patients_in_file"] = len(result.patients)
    payload["notes"] = list(result.notes) + list(result.agp.sufficiency)
    return payload


def _scores(evaluation: Evaluation) -> dict[str, Any]:
    doc: dict[str, Any] = {"patients": evaluation.patients, "windows": evaluation.windows}
    doc.update({k: rounded(evaluation.model[k], 4) for k in EVAL_KEYS})
    doc["baselines"] = {
        "last_value": {k: rounded(evaluation.last_value[k], 4) for k in EVAL_KEYS},
        "linear_regression": {k: rounded(evaluation.linear[k], 4) for k in EVAL_KEYS},
    }
    return doc


def evaluation_payload(
    evaluation: Evaluation,
    *,
    dataset: str | None = None,
    membership: Membership | None = None,
    evaluated: Membership | None = None,
    held_out_only: bool = False,
    held_out: Evaluation | None = None,
    notes: Sequence[str] = (),
) -> dict[str, Any]:
    """The ``evaluate glucose`` JSON document (keys of CLI.md, then the baselines and hypoglycaemia scores).

    Args:
        evaluation: scores on the evaluated windows.
        dataset: the data set name the patient ids were qualified with (e.g. ``"weinstock2016"``).
        membership: what the model's provenance manifest says of every patient in the file.
        evaluated: the same for the patients whose windows were scored.
        held_out_only: whether training and validation patients were left out (``--held-out-only``).
        held_out: without ``held_out_only``, the scores on the held-out patients alone (None when there are none
            or no patient of the file was used in training or model selection).
        notes: how the file was read (clock, unit, ignored rows), in plain words.
    """
    doc = _scores(evaluation)
    doc["hypo"] = {
        "model": {k: {m: rounded(v, 4) for m, v in s.items()} for k, s in evaluation.hypo_model.items()},
        "baseline_last_value": {
            k: {m: rounded(v, 4) for m, v in s.items()} for k, s in evaluation.hypo_baseline.items()
        },
        "model_last_reading_ge_70": {
            k: {m: rounded(v, 4) for m, v in s.items()} for k, s in evaluation.hypo_model_from_70.items()
        },
        "baseline_last_reading_ge_70": {
            k: {m: rounded(v, 4) for m, v in s.items()} for k, s in evaluation.hypo_baseline_from_70.items()
        },
    }
    if dataset is not None:
        doc["dataset"] = dataset
    if membership is not None:
        doc.update(membership.to_dict())
    doc["held_out_only"] = held_out_only
    if evaluated is not None:
        doc["evaluated"] = evaluated.to_dict()
        mixed = evaluated.n_in_training + evaluated.n_in_validation
        doc["training_patients_in_scores"] = mixed
        if mixed:
            doc["note"] = (
                f"The scores mix in {evaluated.n_in_training} training and {evaluated.n_in_validation} validation "
                "patient(s) the model was fitted or selected on; see 'held_out' or use --held-out-only."
            )
    if held_out is not None:
        doc["held_out"] = _scores(held_out)
    doc["notes"] = list(notes)
    return doc
