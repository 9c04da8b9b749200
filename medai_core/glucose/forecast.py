"""The glucose forecaster: quantile forecast for the next 60 minutes and calibrated hypoglycaemia risk.

The Keras model (``models/glucose_forecast``) maps a 3-hour window (see :mod:`medai_core.glucose.prepare`) to one
flat vector of ``OUTPUT_SIZE`` numbers: the 10th, 50th and 90th percentile of the change from the last reading at
5..60 minutes (in units of ``DELTA_SCALE`` mg/dL; quantile regression, Koenker & Bassett 1978) and three logits for
a reading < 70 mg/dL within 30 and 60 minutes and < 54 mg/dL within 60 minutes.

Calibration fitted on validation patients (never the test patients) travels in the card's ``artifacts``:
conformalized quantile regression margins per step (Romano, Patterson & Candès, NeurIPS 2019) that widen or narrow
the 10-90 band to 80 % coverage, and Platt scaling (Platt 1999) of each hypoglycaemia logit. The two baselines
of the evaluation (last value carried forward; ridge regression on the same window, GlucoBench's strongest simple
baseline) and the hypoglycaemia baseline (logistic regression on the last reading) are stored there as well.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from medai_core.errors import ModelCardError
from medai_core.glucose.prepare import DELTA_SCALE, HORIZON_STEPS, INPUT_STEPS, LEVEL_CENTER, LEVEL_SCALE

__all__ = [
    "DEFAULT_LIMITS_MG_DL",
    "ForecastBatch",
    "ForecastParams",
    "HYPO_KEYS",
    "MEDIAN_SLICE",
    "OUTPUT_SIZE",
    "Predictor",
    "decode_outputs",
    "hypo_baseline_probabilities",
    "hypo_labels",
    "linear_baseline",
    "params_from_artifacts",
]

HYPO_KEYS: tuple[str, ...] = ("lt70_30min", "lt70_60min", "lt54_60min")
"""Hypoglycaemia events predicted: < 70 mg/dL within 30 min, < 70 within 60 min, < 54 within 60 min."""
OUTPUT_SIZE = 3 * HORIZON_STEPS + len(HYPO_KEYS)
MEDIAN_SLICE = slice(HORIZON_STEPS, 2 * HORIZON_STEPS)
"""Positions of the 12 median outputs in the model's flat output (for attributions)."""


@dataclass(frozen=True)
class ForecastParams:
    """Calibration and baselines read from the model card's artifacts.

    Attributes:
        margins_mg_dl: float64 (12,) conformal margin added to each side of the 10-90 band, per step (mg/dL).
        platt: float64 (3, 2) Platt slope and intercept per hypoglycaemia logit (order ``HYPO_KEYS``).
        linear_coef: float64 (INPUT_STEPS, 12) ridge coefficients of the linear baseline (mg/dL in, mg/dL out).
        linear_intercept: float64 (12,) its intercepts (mg/dL).
        hypo_baseline: float64 (3, 2) logistic slope (per mg/dL) and intercept on the last reading.
    """

    margins_mg_dl: NDArray[np.float64]
    platt: NDArray[np.float64]
    linear_coef: NDArray[np.float64]
    linear_intercept: NDArray[np.float64]
    hypo_baseline: NDArray[np.float64]

    def to_artifacts(self) -> dict[str, Any]:
        """JSON-ready form for the model card (inverse of :func:`params_from_artifacts`)."""
        return {
            "conformal_margins_mg_dl": np.round(self.margins_mg_dl, 4).tolist(),
            "hypo_platt": {k: np.round(self.platt[i], 6).tolist() for i, k in enumerate(HYPO_KEYS)},
            "linear_baseline": {
                "coef": np.round(self.linear_coef, 7).tolist(),
                "intercept": np.round(self.linear_intercept, 5).tolist(),
            },
            "hypo_baseline_last_value": {
                k: np.round(self.hypo_baseline[i], 7).tolist() for i, k in enumerate(HYPO_KEYS)
            },
        }


def params_from_artifacts(artifacts: Mapping[str, Any]) -> ForecastParams:
    """Read :class:`ForecastParams` from a card's ``artifacts``.

    Raises:
        ModelCardError: an entry is missing or has the wrong shape.
    """
    try:
        params = ForecastParams(
            margins_mg_dl=np.asarray(artifacts["conformal_margins_mg_dl"], dtype=np.float64),
            platt=np.asarray([artifacts["hypo_platt"][k] for k in HYPO_KEYS], dtype=np.float64),
            linear_coef=np.asarray(artifacts["linear_baseline"]["coef"], dtype=np.float64),
            linear_intercept=np.asarray(artifacts["linear_baseline"]["intercept"], dtype=np.float64),
            hypo_baseline=np.asarray([artifacts["hypo_baseline_last_value"][k] for k in HYPO_KEYS], dtype=np.float64),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelCardError(f"glucose forecast card artifacts are incomplete: {exc}") from None
    shapes = {
        "conformal_margins_mg_dl": (params.margins_mg_dl.shape, (HORIZON_STEPS,)),
        "hypo_platt": (params.platt.shape, (len(HYPO_KEYS), 2)),
        "linear_baseline.coef": (params.linear_coef.shape, (INPUT_STEPS, HORIZON_STEPS)),
        "linear_baseline.intercept": (params.linear_intercept.shape, (HORIZON_STEPS,)),
        "hypo_baseline_last_value": (params.hypo_baseline.shape, (len(HYPO_KEYS), 2)),
    }
    for name, (got, want) in shapes.items():
        if got != want:
            raise ModelCardError(f"glucose forecast card artifact {name} has shape {got}, expected {want}")
    return params


@dataclass(frozen=True)
class ForecastBatch:
    """Forecasts for K origins, in mg/dL.

    Attributes:
        p10: float64 (K, 12) calibrated lower bound of the 80 % interval at 5..60 min.
        p50: float64 (K, 12) median forecast.
        p90: float64 (K, 12) calibrated upper bound.
        hypo: float64 (K, 3) calibrated probabilities (order ``HYPO_KEYS``).
        hypo_logits: float64 (K, 3) uncalibrated model logits.
    """

    p10: NDArray[np.float64]
    p50: NDArray[np.float64]
    p90: NDArray[np.float64]
    hypo: NDArray[np.float64]
    hypo_logits: NDArray[np.float64]


DEFAULT_LIMITS_MG_DL = (40.0, 400.0)
"""The reporting range of the training sensors (Dexcom): forecasts are kept inside it unless the upload's sensor
reads further (:data:`medai_core.units.SENSOR_FAMILIES`, e.g. 500 mg/dL for FreeStyle Libre)."""


def decode_outputs(
    raw: NDArray[np.floating],
    last_mg_dl: NDArray[np.floating],
    params: ForecastParams | None,
    limits_mg_dl: tuple[float, float] = DEFAULT_LIMITS_MG_DL,
) -> ForecastBatch:
    """Turn raw model outputs into calibrated forecasts in mg/dL.

    Args:
        raw: float (K, OUTPUT_SIZE) model outputs.
        last_mg_dl: float (K,) last reading of each window (mg/dL).
        params: calibration; None returns the uncalibrated model outputs (used while fitting the calibration).
        limits_mg_dl: the sensor's floor and ceiling (mg/dL) the forecasts are kept within.

    Returns:
        the forecasts; bounds are clipped to the sensor's range and kept ordered.
    """
    values = np.asarray(raw, dtype=np.float64)
    last = np.asarray(last_mg_dl, dtype=np.float64)[:, None]
    h = HORIZON_STEPS
    p10 = last + DELTA_SCALE * values[:, :h]
    p50 = last + DELTA_SCALE * values[:, h : 2 * h]
    p90 = last + DELTA_SCALE * values[:, 2 * h : 3 * h]
    logits = values[:, 3 * h :]
    if params is not None:
        p10 = p10 - params.margins_mg_dl[None, :]
        p90 = p90 + params.margins_mg_dl[None, :]
        hypo = expit(logits * params.platt[:, 0][None, :] + params.platt[:, 1][None, :])
    else:
        hypo = expit(logits)
    p10 = np.minimum(p10, p50)
    p90 = np.maximum(p90, p50)
    low, high = limits_mg_dl
    return ForecastBatch(
        p10=np.clip(p10, low, high),
        p50=np.clip(p50, low, high),
        p90=np.clip(p90, low, high),
        hypo=hypo,
        hypo_logits=logits,
    )


def linear_baseline(x: NDArray[np.floating], params: ForecastParams) -> NDArray[np.float64]:
    """The ridge-regression baseline on the same window.

    Args:
        x: float (K, INPUT_STEPS, 4) model inputs (channel 0 is the scaled level).

    Returns:
        float64 (K, 12) forecasts in mg/dL.
    """
    glucose = np.asarray(x, dtype=np.float64)[:, :, 0] * LEVEL_SCALE + LEVEL_CENTER
    return glucose @ params.linear_coef + params.linear_intercept[None, :]


def hypo_labels(y_true_mg_dl: NDArray[np.floating]) -> NDArray[np.float64]:
    """float64 (K, 3) event labels from the next 12 readings (order ``HYPO_KEYS``)."""
    y = np.asarray(y_true_mg_dl, dtype=np.float64)
    return np.stack([y[:, :6].min(axis=1) < 70.0, y.min(axis=1) < 70.0, y.min(axis=1) < 54.0], axis=1).astype(
        np.float64
    )


def hypo_baseline_probabilities(last_mg_dl: NDArray[np.floating], params: ForecastParams) -> NDArray[np.float64]:
    """float64 (K, 3) hypoglycaemia probabilities of the last-value baseline (logistic regression on the level)."""
    last = np.asarray(last_mg_dl, dtype=np.float64)[:, None]
    return expit(last * params.hypo_baseline[:, 0][None, :] + params.hypo_baseline[:, 1][None, :])


Predictor = Callable[[NDArray[np.float32]], Any]
"""A batch model call: float32 (K, INPUT_STEPS, 4) -> float32 (K, OUTPUT_SIZE)."""
