"""Personalisation on upload: a residual correction of the shipped forecaster fitted to this patient's history.

No retraining and no change to the weights: when the upload holds at least :data:`MIN_DAYS` days of readings, the
history is cut in time. On the first part (:data:`FIT_FRACTION` of the span, targets ending before the cut) the
model's mean median error at each of the 12 steps is learnt as this patient's bias, shrunk towards zero (a ridge
regression on a constant, penalty :data:`RIDGE_ALPHA` windows, so a short history moves the forecast little).
Richer corrections (level, slopes, time of day, the model's own forecast) were tried on the Weinstock validation
patients and lowered the backtest error for fewer of them (44-72 % against 72-83 %). On the rest (origins after
the cut, every 30 minutes, never seen by the fit) the model is backtested before and after the correction. The
adapted forecast (median and both quantiles shifted by the same correction, so the band keeps its calibrated
width) is shown only where the improvement exceeds its own noise: the rule is a paired comparison over the backtest
forecasts, the drop in squared error (before minus after, mean over the scored steps of each forecast) averaged in
blocks of :data:`BLOCK_WINDOWS` consecutive forecasts (3 hours, so that overlapping outcomes do not count as
independent), and applied when its mean exceeds :data:`NOISE_Z` times its standard error over the blocks (and the
RMSE drops). Otherwise the shipped model's forecast stays and the reason is given, with as many decimals as it
takes for the two errors to differ. Sensors read every 15 minutes are learnt from on the interpolated 5-minute
points but scored only where a reading exists.

The correction shown is the one that was backtested (fitted on the first part only), so the backtest figures
describe exactly the forecast that is shown. Deterministic: fit windows beyond :data:`MAX_FIT_WINDOWS` are
subsampled with a fixed seed; runs in well under 3 s warm for 90 days on 2 CPU cores (``bench glucose``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from medai_core.glucose.evaluation import EVAL_ORIGIN_SPACING_STEPS, rmse_avg, spaced_origins
from medai_core.glucose.forecast import DEFAULT_LIMITS_MG_DL, ForecastParams, Predictor, decode_outputs
from medai_core.glucose.prepare import (
    GRID_MINUTES,
    HORIZON_STEPS,
    Grid,
    no_windows_reason,
    targets,
    valid_origins,
    window_features,
)

__all__ = [
    "BLOCK_WINDOWS",
    "FIT_FRACTION",
    "MIN_DAYS",
    "NOISE_Z",
    "Personalisation",
    "distinct_decimals",
    "fit_bias",
    "history_days",
    "paired_gain",
    "personalise",
]

MIN_DAYS = 7.0
"""Days of readings an upload needs before the forecaster is adapted to it."""
FIT_FRACTION = 0.5
"""Share of the history's time span the correction is fitted on; the rest is the backtest."""
RIDGE_ALPHA = 100.0
"""Shrinkage of the bias, in windows: the bias is sum(errors) / (n + RIDGE_ALPHA) (chosen on validation patients)."""
FIT_SPACING_STEPS = 2
"""Fit windows every 10 minutes."""
MAX_FIT_WINDOWS = 6000
MIN_FIT_WINDOWS = 100
MIN_BACKTEST_WINDOWS = 30
BLOCK_WINDOWS = 6
"""Backtest forecasts (every 30 min) per block of the paired comparison: 3 hours."""
NOISE_Z = 2.0
"""The adaptation is applied when the mean drop in squared error exceeds this many standard errors."""
SEED = 20240611
_MINUTES_PER_DAY = 24 * 60


@dataclass(frozen=True)
class Personalisation:
    """Whether and how the forecast was adapted to this patient.

    Attributes:
        applied: the adapted forecast is the one shown.
        reason: why (or why not), in plain words.
        days_used: days covered by the upload (first to last reading).
        fit_windows: windows the bias was learnt on (first part of the history, origins every 10 min).
        backtest_windows: windows of the backtest (the rest of the history, origins every 30 min).
        backtest_rmse_before: 12-step RMSE (mg/dL) of the shipped model on the backtest windows (None without one).
        backtest_rmse_after: the same with the correction.
        seconds: time the adaptation took.
        bias_mg_dl: float64 (12,) the correction added to the median and both quantiles at 5..60 min when applied
            (mg/dL), or None when nothing was fitted.
        gain_mse: mean drop in squared error per backtest forecast (mg/dL squared; positive = better), or None.
        gain_se: its standard error over blocks of :data:`BLOCK_WINDOWS` forecasts, or None.
    """

    applied: bool
    reason: str
    days_used: float
    fit_windows: int = 0
    backtest_windows: int = 0
    backtest_rmse_before: float | None = None
    backtest_rmse_after: float | None = None
    seconds: float = 0.0
    bias_mg_dl: NDArray[np.float64] | None = None
    gain_mse: float | None = None
    gain_se: float | None = None

    def correction(self, n: int = 1) -> NDArray[np.float64]:
        """float64 (n, 12) mg/dL added to the forecasts shown: the bias when applied, else zero."""
        if not self.applied or self.bias_mg_dl is None:
            return np.zeros((n, HORIZON_STEPS))
        return np.repeat(self.bias_mg_dl[None, :], n, axis=0)


def history_days(grid: Grid) -> float:
    """Days from the first to the last reading (the AGP's "days covered")."""
    if grid.times.size < 2:
        return 0.0
    return float((grid.times[-1] - grid.times[0]) / np.timedelta64(1, "m")) / _MINUTES_PER_DAY


def fit_bias(residual_mg_dl: NDArray[np.floating], alpha: float = RIDGE_ALPHA) -> NDArray[np.float64]:
    """The shrunk mean of (K, 12) median errors (observed minus forecast, mg/dL): float64 (12,).

    Ridge regression on a constant: sum(errors) / (K + alpha), so few windows give a correction near zero.
    """
    r = np.asarray(residual_mg_dl, dtype=np.float64)
    return r.sum(axis=0) / (r.shape[0] + alpha)


def distinct_decimals(a: float, b: float, *, least: int = 1, most: int = 4) -> int:
    """The fewest decimals (from ``least``) that write ``a`` and ``b`` differently (``most`` if none does)."""
    for digits in range(least, most + 1):
        if f"{a:.{digits}f}" != f"{b:.{digits}f}":
            return digits
    return most


def paired_gain(
    y_true: NDArray[np.floating],
    before: NDArray[np.floating],
    after: NDArray[np.floating],
    mask: NDArray[np.bool_] | None = None,
    block: int = BLOCK_WINDOWS,
) -> tuple[float, float]:
    """Mean drop in squared error from ``before`` to ``after`` (K, 12) forecasts and its standard error.

    Each forecast's drop is the mean over its scored steps (``mask``; None: all) of (before - y)^2 - (after - y)^2;
    consecutive forecasts are averaged in blocks of ``block`` and the standard error is that of the block means
    (NaN with fewer than two blocks).
    """
    y = np.asarray(y_true, dtype=np.float64)
    m = np.ones(y.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    drop = (np.asarray(before, dtype=np.float64) - y) ** 2 - (np.asarray(after, dtype=np.float64) - y) ** 2
    per = np.where(m, drop, 0.0).sum(axis=1) / np.maximum(m.sum(axis=1), 1)
    per = per[m.any(axis=1)]
    n_blocks = per.size // block
    if n_blocks < 2:
        return float(per.mean()) if per.size else float("nan"), float("nan")
    means = per[: n_blocks * block].reshape(n_blocks, block).mean(axis=1)
    return float(means.mean()), float(means.std(ddof=1) / np.sqrt(n_blocks))


def personalise(
    grid: Grid,
    predict: Predictor,
    params: ForecastParams,
    *,
    min_days: float = MIN_DAYS,
    fit_fraction: float = FIT_FRACTION,
    alpha: float = RIDGE_ALPHA,
    stride: int = 1,
    limits_mg_dl: tuple[float, float] = DEFAULT_LIMITS_MG_DL,
) -> Personalisation:
    """Learn this patient's bias on the first part of the history and backtest the correction on the rest.

    Args:
        grid: the patient's 5-minute grid.
        predict: the batch model call (float32 (K, 36, 4) -> (K, OUTPUT_SIZE)).
        params: the card's calibration (the backtest scores calibrated medians).
        min_days: days covered needed.
        fit_fraction: share of the time span learnt from.
        alpha: shrinkage in windows.
        stride: grid steps between the sensor's readings (3 for 15-minute sensors): targets observed there only.
        limits_mg_dl: the sensor's floor and ceiling, the forecasts are kept within.

    Returns:
        the decision with its backtest; ``applied`` only where the correction lowers the backtest RMSE by more
        than its noise (:data:`NOISE_Z` standard errors of the paired comparison).
    """
    start = time.perf_counter()
    days = history_days(grid)
    if round(days, 1) < min_days:
        return Personalisation(
            False,
            f"Adapting the forecast to this patient needs at least {min_days:.0f} days of readings; the file covers "
            f"{days:.1f}.",
            days,
        )
    origins = valid_origins(grid, stride=stride)
    if origins.size == 0:
        return Personalisation(False, no_windows_reason(grid, "not adapted to this patient"), days)
    fit, test, first_days = _fit_and_test_origins(grid, origins, fit_fraction)
    if fit.size < MIN_FIT_WINDOWS or test.size < MIN_BACKTEST_WINDOWS:
        return Personalisation(
            False,
            f"Too few complete 4-hour stretches ({fit.size} to learn from, {test.size} to check on; needs "
            f"{MIN_FIT_WINDOWS} and {MIN_BACKTEST_WINDOWS}), so no adaptation.",
            days,
            int(fit.size),
            int(test.size),
        )
    bias, before_rmse, after_rmse, gain, se = _backtest(grid, fit, test, predict, params, alpha, limits_mg_dl)
    applied = bool(after_rmse < before_rmse and np.isfinite(se) and gain > NOISE_Z * se)
    learnt = (
        f"a bias of {bias[5]:+.1f} / {bias[-1]:+.1f} mg/dL at 30 / 60 min learnt on the first {first_days:.1f} days"
    )
    return Personalisation(
        applied,
        _reason(applied, learnt, before_rmse, after_rmse, gain, se, int(test.size)),
        days,
        int(fit.size),
        int(test.size),
        before_rmse,
        after_rmse,
        time.perf_counter() - start,
        bias,
        gain,
        se,
    )


def _fit_and_test_origins(
    grid: Grid, origins: NDArray[np.intp], fit_fraction: float
) -> tuple[NDArray[np.intp], NDArray[np.intp], float]:
    """The fit origins (every 10 min, targets ending before the cut at ``fit_fraction`` of the time span, at most
    :data:`MAX_FIT_WINDOWS` drawn with a fixed seed), the backtest origins (after the cut, every 30 min) and the
    days before the cut."""
    t = grid.times[origins].astype("datetime64[ns]").astype(np.int64)
    cut = t[0] + fit_fraction * (t[-1] - t[0])
    horizon_ns = HORIZON_STEPS * GRID_MINUTES * 60 * 1_000_000_000
    fit = spaced_origins(origins[t + horizon_ns <= cut], FIT_SPACING_STEPS)
    if fit.size > MAX_FIT_WINDOWS:
        fit = np.sort(np.random.default_rng(SEED).choice(fit, MAX_FIT_WINDOWS, replace=False))
    test = spaced_origins(origins[t > cut], EVAL_ORIGIN_SPACING_STEPS)
    return fit, test, float((cut - t[0]) / (_MINUTES_PER_DAY * 60e9))


def _backtest(
    grid: Grid,
    fit: NDArray[np.intp],
    test: NDArray[np.intp],
    predict: Predictor,
    params: ForecastParams,
    alpha: float,
    limits_mg_dl: tuple[float, float],
) -> tuple[NDArray[np.float64], float, float, float, float]:
    """The bias learnt on the ``fit`` windows, and on the ``test`` windows the RMSE before and after it and the
    paired gain with its standard error (:func:`paired_gain`)."""
    both = np.concatenate([fit, test])
    x, last = window_features(grid, both)
    raw = np.concatenate([np.asarray(predict(x[i : i + 4096])) for i in range(0, len(both), 4096)])
    y = targets(grid, both)
    scored = grid.observed[test[:, None] + np.arange(1, HORIZON_STEPS + 1)[None, :]]
    p50 = decode_outputs(raw, last, params, limits_mg_dl).p50
    n_fit = fit.size
    bias = fit_bias(y[:n_fit] - p50[:n_fit], alpha)
    after = np.clip(p50[n_fit:] + bias[None, :], *limits_mg_dl)
    before_rmse = rmse_avg(y[n_fit:], p50[n_fit:], scored)
    after_rmse = rmse_avg(y[n_fit:], after, scored)
    gain, se = paired_gain(y[n_fit:], p50[n_fit:], after, scored)
    return bias, before_rmse, after_rmse, gain, se


def _reason(
    applied: bool, learnt: str, before_rmse: float, after_rmse: float, gain: float, se: float, n_test: int
) -> str:
    """Why the correction ``learnt`` is shown or not, with the backtest errors and the paired comparison."""
    d = distinct_decimals(before_rmse, after_rmse)
    errors = f"{before_rmse:.{d}f} to {after_rmse:.{d}f} mg/dL"
    noise = (
        f"paired over the {n_test} forecasts in {BLOCK_WINDOWS * 30 // 60}-hour blocks, the squared error drops "
        f"by {gain:.1f} mg/dL\u00b2 per forecast, standard error {se:.1f}"
        if np.isfinite(se)
        else f"{n_test} forecasts are too few blocks to measure the noise"
    )
    rule = f"the rule asks for a drop of more than {NOISE_Z:g} standard errors"
    if applied:
        return (
            f"Adapted to this patient: {learnt} lowers the backtest error on the rest from {errors}, more than its "
            f"noise ({noise}; {rule})."
        )
    if after_rmse < before_rmse:
        return (
            f"Not adapted: {learnt} lowers the backtest error on the rest from {errors}, but not beyond its noise "
            f"({noise}; {rule}), so the shipped model's forecast is shown."
        )
    return (
        f"Not adapted: {learnt} does not lower the backtest error on the rest ({errors}), so the shipped "
        "model's forecast is shown."
    )
