"""Survival statistics used to train and judge the immunotherapy outcome model, in numpy/scipy.

* Kaplan-Meier estimator (Kaplan & Meier 1958).
* Harrell's concordance index (Harrell et al. 1982), ties in risk counted one half.
* Cumulative/dynamic time-dependent AUC with inverse-probability-of-censoring weights (Uno et al. 2007;
  Hung & Chiang 2010), the estimator scikit-survival calls ``cumulative_dynamic_auc``.
* Cox proportional hazards (Cox 1972) fitted by Newton-Raphson on the Breslow partial likelihood with a small
  ridge penalty, and the Breslow baseline cumulative hazard, for the baselines.
* Calibration of a predicted t-month survival probability: risk groups (deciles) against Kaplan-Meier.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CoxModel",
    "calibration_table",
    "concordance_index",
    "cox_from_artifact",
    "fit_cox",
    "kaplan_meier",
    "km_at",
    "time_dependent_auc",
]

FloatArray = NDArray[np.float64]


def kaplan_meier(time: NDArray[Any], event: NDArray[Any]) -> tuple[FloatArray, FloatArray]:
    """Kaplan-Meier survival curve.

    Args:
        time: (N,) follow-up times.
        event: (N,) 1 for an event (death), 0 for censored.

    Returns:
        (distinct event-or-censoring times, survival just after each), both ascending.
    """
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event, dtype=np.float64)
    times = np.unique(time)
    at_risk = np.array([(time >= t).sum() for t in times], dtype=np.float64)
    deaths = np.array([event[time == t].sum() for t in times], dtype=np.float64)
    factors = np.where(at_risk > 0, 1.0 - deaths / np.maximum(at_risk, 1.0), 1.0)
    return times.astype(np.float64), np.cumprod(factors).astype(np.float64)


def km_at(times: FloatArray, surv: FloatArray, t: float) -> float:
    """The step function of :func:`kaplan_meier` evaluated at ``t`` (1 before the first time)."""
    idx = np.searchsorted(times, t, side="right") - 1
    return 1.0 if idx < 0 else float(surv[idx])


def concordance_index(time: NDArray[Any], event: NDArray[Any], risk: NDArray[Any]) -> float:
    """Harrell's C: the share of comparable pairs whose higher risk died first (risk ties count 1/2).

    A pair (i, j) is comparable when ``time_i < time_j`` and i had the event.
    """
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event, dtype=bool)
    risk = np.asarray(risk, dtype=np.float64)
    cases = np.flatnonzero(event)
    comparable = time[cases, None] < time[None, :]
    higher = risk[cases, None] > risk[None, :]
    tied = risk[cases, None] == risk[None, :]
    n = comparable.sum()
    if n == 0:
        return float("nan")
    return float(((higher & comparable).sum() + 0.5 * (tied & comparable).sum()) / n)


def time_dependent_auc(
    time: NDArray[Any],
    event: NDArray[Any],
    risk_at_t: NDArray[Any],
    t: float,
    *,
    train_time: NDArray[Any] | None = None,
    train_event: NDArray[Any] | None = None,
) -> float:
    """Cumulative/dynamic AUC at ``t`` with IPCW (Uno et al. 2007): cases died by ``t``, controls alive after ``t``.

    Args:
        time, event: (N,) evaluation follow-up and event indicator.
        risk_at_t: (N,) predicted risk of death by ``t`` (any monotone score).
        t: horizon (same unit as ``time``).
        train_time, train_event: data for the censoring distribution G (Kaplan-Meier of censoring); defaults to
            the evaluation data.

    Returns:
        the AUC, or NaN when there are no cases or no controls.
    """
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event, dtype=bool)
    risk = np.asarray(risk_at_t, dtype=np.float64)
    g_time = time if train_time is None else np.asarray(train_time, dtype=np.float64)
    g_event = event if train_event is None else np.asarray(train_event, dtype=bool)
    c_times, c_surv = kaplan_meier(g_time, 1 - g_event.astype(np.float64))
    cases = (time <= t) & event
    controls = time > t
    if not cases.any() or not controls.any():
        return float("nan")
    # G(T_i-): censoring survival just before each case's time.
    g = np.array([km_at(c_times, c_surv, ti - 1e-9) for ti in time[cases]])
    w = 1.0 / np.maximum(g, 1e-6)
    rc = risk[cases][:, None]
    rn = risk[controls][None, :]
    score = (rc > rn).astype(np.float64) + 0.5 * (rc == rn)
    return float((w[:, None] * score).sum() / (w.sum() * controls.sum()))


@dataclass(frozen=True)
class CoxModel:
    """A fitted Cox model with its Breslow baseline cumulative hazard.

    Attributes:
        beta: (P,) coefficients on standardised features.
        mean, scale: (P,) standardisation of the design matrix.
        base_times: (M,) distinct event times of the training data.
        base_cumhaz: (M,) Breslow cumulative baseline hazard at those times.
    """

    beta: FloatArray
    mean: FloatArray
    scale: FloatArray
    base_times: FloatArray
    base_cumhaz: FloatArray

    def risk(self, x: NDArray[Any]) -> FloatArray:
        """(N,) linear predictor for design matrix x (N, P)."""
        return np.asarray(((np.asarray(x, dtype=np.float64) - self.mean) / self.scale) @ self.beta)

    def survival_at(self, x: NDArray[Any], t: float) -> FloatArray:
        """(N,) predicted survival probability at ``t``: ``exp(-H0(t) exp(lp))``."""
        idx = np.searchsorted(self.base_times, t, side="right") - 1
        h0 = 0.0 if idx < 0 else float(self.base_cumhaz[idx])
        return np.asarray(np.exp(-h0 * np.exp(self.risk(x))))


def fit_cox(
    x: NDArray[Any], time: NDArray[Any], event: NDArray[Any], *, ridge: float = 1e-2, iterations: int = 50
) -> CoxModel:
    """Fit a Cox model by Newton-Raphson on the Breslow-ties partial log-likelihood with an L2 penalty.

    Args:
        x: (N, P) design matrix (standardised inside).
        time, event: (N,) follow-up and event indicator.
        ridge: L2 penalty on the standardised coefficients (keeps rare one-hot columns finite).
        iterations: maximum Newton steps.
    """
    x = np.asarray(x, dtype=np.float64)
    time = np.asarray(time, dtype=np.float64)
    event = np.asarray(event, dtype=np.float64)
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    order = np.argsort(-time, kind="stable")
    z, t_sorted, e_sorted = z[order], time[order], event[order]
    # Risk set of each row (descending time): rows 0..ends[i], the last row with a time >= its own (Breslow ties).
    ends = np.searchsorted(-t_sorted, -t_sorted, side="right") - 1
    beta = np.zeros(z.shape[1])
    for _ in range(iterations):
        eta = z @ beta
        w = np.exp(eta - eta.max())
        s0 = np.cumsum(w)[ends]
        s1 = np.cumsum(w[:, None] * z, axis=0)[ends]
        s2 = np.cumsum(w[:, None, None] * z[:, :, None] * z[:, None, :], axis=0)[ends]
        mu = s1 / s0[:, None]
        grad = (e_sorted[:, None] * (z - mu)).sum(axis=0) - ridge * beta
        cov = s2 / s0[:, None, None] - mu[:, :, None] * mu[:, None, :]
        hess = (e_sorted[:, None, None] * cov).sum(axis=0) + ridge * np.eye(len(beta))
        step = np.linalg.solve(hess, grad)
        beta = beta + step
        if np.abs(step).max() < 1e-8:
            break
    eta = z @ beta
    w = np.exp(eta)
    s0 = np.cumsum(w)[ends]
    event_times = np.unique(t_sorted[e_sorted > 0])
    increments = np.array([e_sorted[t_sorted == tv].sum() / s0[t_sorted == tv][0] for tv in event_times])
    return CoxModel(beta, mean, scale, event_times, np.cumsum(increments))


def calibration_table(
    time: NDArray[Any], event: NDArray[Any], predicted: NDArray[Any], t: float, *, groups: int = 10
) -> dict[str, Any]:
    """Calibration of predicted survival at ``t``: groups of equal size by prediction vs Kaplan-Meier in each.

    Returns:
        ``{"horizon_months", "groups": [{"n", "predicted", "observed_km"}], "mean_abs_error"}`` where
        mean_abs_error is the patient-weighted mean of ``|predicted - observed|`` over groups.
    """
    predicted = np.asarray(predicted, dtype=np.float64)
    order = np.argsort(predicted)
    rows = []
    for idx in np.array_split(order, groups):
        if len(idx) == 0:
            continue
        km_t, km_s = kaplan_meier(np.asarray(time)[idx], np.asarray(event)[idx])
        rows.append({"n": len(idx), "predicted": float(predicted[idx].mean()), "observed_km": km_at(km_t, km_s, t)})
    total = sum(r["n"] for r in rows)
    mae = sum(r["n"] * abs(r["predicted"] - r["observed_km"]) for r in rows) / max(total, 1)
    return {"horizon_months": t, "groups": rows, "mean_abs_error": float(mae)}


def cox_from_artifact(data: Mapping[str, Any]) -> CoxModel:
    """The baseline Cox model stored in the card (its baseline cumulative hazard kept at 12 and 24 months only)."""
    return CoxModel(
        beta=np.asarray(data["beta"], dtype=np.float64),
        mean=np.asarray(data["mean"], dtype=np.float64),
        scale=np.asarray(data["scale"], dtype=np.float64),
        base_times=np.array([float(t) for t in data["base_cumhaz"]]),
        base_cumhaz=np.array([float(v) for v in data["base_cumhaz"].values()]),
    )
