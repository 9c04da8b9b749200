"""Forecast evaluation: RMSE/MAE by horizon, interval coverage, Clarke error grid, hypoglycaemia AUROC/Brier.

The same functions score the model and its baselines on the same windows, in training (held-out patients), in
``python -m medai_core evaluate glucose`` and in the page's backtest. A forecast is scored only where a reading
was observed (``WindowSet.scored``): every step for 1- and 5-minute sensors, every third step (15, 30, 45, 60 min)
for 15-minute ones, whose points between readings are interpolated on the 5-minute grid and never scored.
:func:`evaluate_at_cadence` thins 5-minute series to another cadence to measure what that costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from medai_core.glucose.forecast import (
    HYPO_KEYS,
    ForecastBatch,
    ForecastParams,
    Predictor,
    decode_outputs,
    hypo_baseline_probabilities,
    hypo_labels,
    linear_baseline,
)
from medai_core.glucose.prepare import (
    GRID_MINUTES,
    HORIZON_STEPS,
    Grid,
    make_grid,
    target_stride,
    targets,
    valid_origins,
    window_features,
)

__all__ = [
    "EVAL_ORIGIN_SPACING_STEPS",
    "Evaluation",
    "WindowSet",
    "clarke_zones",
    "collect_windows",
    "evaluate_at_cadence",
    "evaluate_windows",
    "forecast_scores",
    "hypo_scores",
    "patient_bootstrap",
    "rmse_avg",
    "spaced_origins",
    "thin_to_cadence",
]

EVAL_ORIGIN_SPACING_STEPS = 6
"""Forecast origins at least 30 minutes apart in evaluations."""


def clarke_zones(reference: NDArray[np.floating], predicted: NDArray[np.floating]) -> NDArray[np.str_]:
    """Clarke error grid zone (``"A"``..``"E"``) of each (reference, prediction) pair in mg/dL.

    Clarke, Cox, Gonder-Frederick, Carter & Pohl, Diabetes Care 1987; zone boundaries as in the widely used
    implementation of the grid (A: within 20 % or both <= 70; E: opposite extremes; C: overcorrection;
    D: failure to detect; B: the rest).
    """
    ref = np.asarray(reference, dtype=np.float64).ravel()
    pred = np.asarray(predicted, dtype=np.float64).ravel()
    zone_a = ((ref <= 70) & (pred <= 70)) | ((pred <= 1.2 * ref) & (pred >= 0.8 * ref))
    zone_e = ((ref >= 180) & (pred <= 70)) | ((ref <= 70) & (pred >= 180))
    zone_c = ((ref >= 70) & (ref <= 290) & (pred >= ref + 110)) | (
        (ref >= 130) & (ref <= 180) & (pred <= (7.0 / 5.0) * ref - 182)
    )
    zone_d = (
        ((ref >= 240) & (pred >= 70) & (pred <= 180))
        | ((ref <= 175.0 / 3.0) & (pred <= 180) & (pred >= 70))
        | ((ref >= 175.0 / 3.0) & (ref <= 70) & (pred >= (6.0 / 5.0) * ref))
    )
    zones = np.full(ref.shape, "B", dtype="<U1")
    zones[zone_d] = "D"
    zones[zone_c] = "C"
    zones[zone_e] = "E"
    zones[zone_a] = "A"
    return zones


def _step_rmse(err: NDArray[np.float64], mask: NDArray[np.bool_] | None) -> NDArray[np.float64]:
    """float64 (12,) RMSE per step over the scored entries (NaN for a step never scored)."""
    if mask is None:
        return np.asarray(np.sqrt(np.mean(err**2, axis=0)), dtype=np.float64)
    n = mask.sum(axis=0)
    sq = np.where(mask, err**2, 0.0).sum(axis=0)
    return np.where(n > 0, np.sqrt(sq / np.maximum(n, 1)), np.nan)


def forecast_scores(
    y_true: NDArray[np.floating],
    p50: NDArray[np.floating],
    p10: NDArray[np.floating] | None = None,
    p90: NDArray[np.floating] | None = None,
    *,
    mask: NDArray[np.bool_] | None = None,
) -> dict[str, float]:
    """Point and interval scores of (K, 12) forecasts against the (K, 12) truth, all in mg/dL.

    ``rmse_avg`` is the mean over the scored steps of the per-step RMSE (GlucoBench reports the 12-step horizon
    average); ``clarke_*`` pools all scored steps. ``coverage_80`` is the share of true values inside [p10, p90]
    (NaN without an interval). ``mask`` (K, 12) marks the entries observed (None: all); the others are not scored.
    """
    y = np.asarray(y_true, dtype=np.float64)
    yhat = np.asarray(p50, dtype=np.float64)
    m = None if mask is None or bool(np.all(mask)) else np.asarray(mask, dtype=bool)
    if y.shape[0] == 0 or (m is not None and not m.any()):
        nan = float("nan")
        return {k: nan for k in ("rmse_30", "rmse_60", "rmse_avg", "mae_30", "mae_60", "mae_avg", "coverage_80")} | {
            "clarke_ab_percent": nan,
            "clarke_a_percent": nan,
        }
    err = yhat - y
    rmse_step = _step_rmse(err, m)
    if m is None:
        mae_step = np.mean(np.abs(err), axis=0)
        zones = clarke_zones(y, yhat)
    else:
        n = m.sum(axis=0)
        mae_step = np.where(n > 0, np.where(m, np.abs(err), 0.0).sum(axis=0) / np.maximum(n, 1), np.nan)
        zones = clarke_zones(y[m], yhat[m])
    coverage = float("nan")
    if p10 is not None and p90 is not None:
        inside = (y >= np.asarray(p10)) & (y <= np.asarray(p90))
        coverage = float(np.mean(inside if m is None else inside[m]))
    return {
        "rmse_30": float(rmse_step[5]),
        "rmse_60": float(rmse_step[HORIZON_STEPS - 1]),
        "rmse_avg": float(np.nanmean(rmse_step)),
        "mae_30": float(mae_step[5]),
        "mae_60": float(mae_step[HORIZON_STEPS - 1]),
        "mae_avg": float(np.nanmean(mae_step)),
        "coverage_80": coverage,
        "clarke_ab_percent": float(100.0 * np.mean((zones == "A") | (zones == "B"))),
        "clarke_a_percent": float(100.0 * np.mean(zones == "A")),
    }


def rmse_avg(y_true: NDArray[np.floating], p50: NDArray[np.floating], mask: NDArray[np.bool_] | None = None) -> float:
    """Mean over the scored steps of the per-step RMSE (mg/dL) of (K, 12) forecasts; NaN without windows.

    ``mask`` (K, 12) marks the observed entries (None: all)."""
    y = np.asarray(y_true, dtype=np.float64)
    if y.shape[0] == 0:
        return float("nan")
    m = None if mask is None or bool(np.all(mask)) else np.asarray(mask, dtype=bool)
    if m is not None and not m.any():
        return float("nan")
    return float(np.nanmean(_step_rmse(np.asarray(p50, dtype=np.float64) - y, m)))


def patient_bootstrap(
    patient: NDArray[np.str_],
    y_true: NDArray[np.floating],
    forecasts: Mapping[str, NDArray[np.floating]],
    reference: str,
    *,
    n_boot: int = 2000,
    seed: int = 0,
) -> dict[str, dict[str, float]]:
    """Paired bootstrap by patient of the 12-step RMSE of several forecasts of the same windows.

    Patients (not windows) are resampled with replacement, so windows of one patient stay together; every
    forecast is scored on the same resample, which pairs the comparison.

    Args:
        patient: str (K,) patient of each window.
        y_true: float (K, 12) observed glucose (mg/dL).
        forecasts: name -> float (K, 12) median forecasts (mg/dL).
        reference: the name every other forecast is compared with.
        n_boot: resamples.
        seed: random seed.

    Returns:
        name -> {``rmse_avg``, ``low``, ``high`` (95 % percentile interval of the RMSE), ``diff`` (RMSE minus the
        reference's), ``diff_low``, ``diff_high``}.
    """
    y = np.asarray(y_true, dtype=np.float64)
    ids, inverse = np.unique(np.asarray(patient), return_inverse=True)
    counts = np.bincount(inverse, minlength=ids.size).astype(np.float64)
    weights = np.random.default_rng(seed).multinomial(ids.size, np.full(ids.size, 1.0 / ids.size), size=n_boot)
    weights = weights.astype(np.float64)
    per_name: dict[str, tuple[float, NDArray[np.float64]]] = {}
    for name, pred in forecasts.items():
        sq = (np.asarray(pred, dtype=np.float64) - y) ** 2
        sse = np.zeros((ids.size, y.shape[1]))
        np.add.at(sse, inverse, sq)
        boot = np.sqrt((weights @ sse) / np.maximum(weights @ counts, 1.0)[:, None]).mean(axis=1)
        per_name[name] = (rmse_avg(y, pred), boot)
    ref_point, ref_boot = per_name[reference]
    out = {}
    for name, (point, boot) in per_name.items():
        diff = boot - ref_boot
        out[name] = {
            "rmse_avg": point,
            "low": float(np.quantile(boot, 0.025)),
            "high": float(np.quantile(boot, 0.975)),
            "diff": point - ref_point,
            "diff_low": float(np.quantile(diff, 0.025)),
            "diff_high": float(np.quantile(diff, 0.975)),
        }
    return out


def _auroc(labels: NDArray[np.float64], scores: NDArray[np.float64]) -> float:
    """Area under the ROC curve by the rank statistic (ties get average ranks); NaN with one class."""
    from scipy.stats import rankdata

    pos = labels > 0.5
    n_pos, n_neg = int(pos.sum()), int((~pos).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def hypo_scores(labels: NDArray[np.floating], probabilities: NDArray[np.floating]) -> dict[str, dict[str, float]]:
    """AUROC, Brier score and prevalence per hypoglycaemia event; arrays (K, 3) in ``HYPO_KEYS`` order."""
    y = np.asarray(labels, dtype=np.float64)
    p = np.asarray(probabilities, dtype=np.float64)
    out = {}
    for i, key in enumerate(HYPO_KEYS):
        out[key] = {
            "auroc": _auroc(y[:, i], p[:, i]),
            "brier": float(np.mean((p[:, i] - y[:, i]) ** 2)) if y.shape[0] else float("nan"),
            "prevalence": float(y[:, i].mean()) if y.shape[0] else float("nan"),
        }
    return out


def spaced_origins(origins: NDArray[np.intp], spacing: int = EVAL_ORIGIN_SPACING_STEPS) -> NDArray[np.intp]:
    """Greedy subset of ascending ``origins`` at least ``spacing`` grid steps apart."""
    chosen: list[int] = []
    next_ok = -(10**12)
    for origin in np.asarray(origins).tolist():
        if origin >= next_ok:
            chosen.append(origin)
            next_ok = origin + spacing
    return np.asarray(chosen, dtype=np.intp)


@dataclass(frozen=True)
class WindowSet:
    """Forecast windows of several patients.

    Attributes:
        patient: str (K,) patient id of each window.
        origin_time: datetime64[ns] (K,) time of the last input reading.
        x: float32 (K, INPUT_STEPS, 4) model inputs.
        last: float64 (K,) last reading (mg/dL).
        y: float64 (K, 12) readings at 5..60 min (mg/dL; interpolated between a 15-minute sensor's readings).
        scored: bool (K, 12) where ``y`` is an observed reading (None: everywhere); only those are scored.
    """

    patient: NDArray[np.str_]
    origin_time: NDArray[np.datetime64]
    x: NDArray[np.float32]
    last: NDArray[np.float64]
    y: NDArray[np.float64]
    scored: NDArray[np.bool_] | None = None

    def __len__(self) -> int:
        return int(self.last.shape[0])


def collect_windows(
    grids: Mapping[str, Grid],
    *,
    spacing: int = EVAL_ORIGIN_SPACING_STEPS,
    require_observed_targets: bool = True,
    stride: int = 1,
) -> WindowSet:
    """Windows of every patient with a complete 3-hour input and complete next 60 minutes.

    Args:
        grids: patient id -> grid.
        spacing: minimum grid steps between origins (6 = 30 minutes; 1 = every complete window).
        require_observed_targets: count a target only where a reading was observed (not interpolated).
        stride: grid steps between the sensor's readings (:func:`~medai_core.glucose.prepare.target_stride`):
            the targets must be observed at every ``stride``-th step, and only those are scored.
    """
    parts = []
    for pid, grid in grids.items():
        origins = valid_origins(grid, require_observed_targets=require_observed_targets, stride=stride)
        if spacing > 1:
            origins = spaced_origins(origins, spacing)
        if origins.size == 0:
            continue
        x, last = window_features(grid, origins)
        seen = grid.observed[np.asarray(origins)[:, None] + np.arange(1, HORIZON_STEPS + 1)[None, :]]
        parts.append((np.full(origins.size, str(pid)), grid.times[origins], x, last, targets(grid, origins), seen))
    if not parts:
        from medai_core.glucose.prepare import INPUT_CHANNELS, INPUT_STEPS

        return WindowSet(
            np.array([], dtype=str),
            np.array([], dtype="datetime64[ns]"),
            np.zeros((0, INPUT_STEPS, INPUT_CHANNELS), np.float32),
            np.zeros(0),
            np.zeros((0, HORIZON_STEPS)),
            np.zeros((0, HORIZON_STEPS), dtype=bool),
        )
    cols = [np.concatenate(col) for col in zip(*parts, strict=True)]
    # at stride 1 every target is observed (or, without require_observed_targets, all are scored as before)
    scored = cols[5] if stride > 1 and require_observed_targets else None
    return WindowSet(cols[0], cols[1], cols[2], cols[3], cols[4], scored)


@dataclass(frozen=True)
class Evaluation:
    """Scores of the model and baselines on the same windows.

    Attributes:
        patients: number of patients with at least one window.
        windows: number of windows.
        model: :func:`forecast_scores` of the model.
        last_value: scores of last-value-carried-forward.
        linear: scores of ridge regression on the same window.
        hypo_model: :func:`hypo_scores` of the calibrated model probabilities.
        hypo_baseline: the same for logistic regression on the last reading.
        hypo_model_from_70: :func:`hypo_scores` of the model on windows whose last reading is >= 70 mg/dL (new
            events only: a window that already starts low is trivially positive for both model and baseline).
        hypo_baseline_from_70: the same for the baseline.
        forecasts: the model's forecasts, for prediction files and plots.
    """

    patients: int
    windows: int
    model: dict[str, float]
    last_value: dict[str, float]
    linear: dict[str, float]
    hypo_model: dict[str, dict[str, float]]
    hypo_baseline: dict[str, dict[str, float]]
    hypo_model_from_70: dict[str, dict[str, float]]
    hypo_baseline_from_70: dict[str, dict[str, float]]
    forecasts: ForecastBatch = field(repr=False)
    linear_forecasts: NDArray[np.float64] = field(repr=False)


def evaluate_windows(predict: Predictor, params: ForecastParams, windows: WindowSet) -> Evaluation:
    """Score the model and both baselines on ``windows``.

    Args:
        predict: the batch model call (float32 (K, 36, 4) -> (K, OUTPUT_SIZE)).
        params: calibration and baselines from the card.
        windows: the evaluation windows.
    """
    if len(windows):
        raw = np.concatenate([np.asarray(predict(windows.x[i : i + 4096])) for i in range(0, len(windows), 4096)])
    else:
        raw = np.zeros((0, 3 * HORIZON_STEPS + len(HYPO_KEYS)), dtype=np.float32)
    batch = decode_outputs(raw, windows.last, params)
    lin = linear_baseline(windows.x, params)
    labels = hypo_labels(windows.y)
    base_probs = hypo_baseline_probabilities(windows.last, params)
    from_70 = windows.last >= 70.0
    return Evaluation(
        patients=len(set(windows.patient.tolist())),
        windows=len(windows),
        model=forecast_scores(windows.y, batch.p50, batch.p10, batch.p90, mask=windows.scored),
        last_value=forecast_scores(
            windows.y, np.repeat(windows.last[:, None], HORIZON_STEPS, axis=1), mask=windows.scored
        ),
        linear=forecast_scores(windows.y, lin, mask=windows.scored),
        hypo_model=hypo_scores(labels, batch.hypo),
        hypo_baseline=hypo_scores(labels, base_probs),
        hypo_model_from_70=hypo_scores(labels[from_70], batch.hypo[from_70]),
        hypo_baseline_from_70=hypo_scores(labels[from_70], base_probs[from_70]),
        forecasts=batch,
        linear_forecasts=lin,
    )


def thin_to_cadence(grid: Grid, minutes: int) -> Grid:
    """The readings of a 5-minute grid kept every ``minutes`` (one in three for 15), put back on the 5-minute grid
    the way a sensor of that cadence is read (points between readings interpolated, not observed)."""
    every = max(1, round(minutes / GRID_MINUTES))
    idx = np.flatnonzero(grid.observed)
    keep = idx[idx % every == 0]
    return make_grid(grid.times[keep], grid.glucose_mg_dl[keep])


def evaluate_at_cadence(
    predict: Predictor, params: ForecastParams, grids: Mapping[str, Grid], minutes: int
) -> Evaluation:
    """Score the model and baselines on ``grids`` (5-minute series) thinned to a sensor reading every ``minutes``.

    The same origins rule as every evaluation (every 30 minutes, 3 h of input, the next 60 minutes observed at the
    sensor's cadence); only observed readings are scored, so at 15 minutes the steps 15, 30, 45 and 60 min.
    """
    thinned = {pid: thin_to_cadence(g, minutes) if minutes > GRID_MINUTES else g for pid, g in grids.items()}
    windows = collect_windows(thinned, stride=target_stride(minutes))
    return evaluate_windows(predict, params, windows)
