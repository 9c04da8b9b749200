"""Survival statistics and the discrete-time survival model (tiny, built in the test)."""

from __future__ import annotations

import numpy as np
import pytest

from medai_core.genomics.model import survival_targets
from medai_core.genomics.survival import (
    calibration_table,
    concordance_index,
    fit_cox,
    kaplan_meier,
    km_at,
    time_dependent_auc,
)


def _simulated(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    t = rng.exponential(np.exp(-(0.8 * x[:, 0] - 0.4 * x[:, 1])))
    c = rng.exponential(2.0, size=n)
    return x, np.minimum(t, c), (t <= c).astype(float)


def test_kaplan_meier_known_values() -> None:
    times, surv = kaplan_meier(np.array([1, 2, 2, 3, 4]), np.array([1, 1, 0, 1, 0]))
    assert km_at(times, surv, 0.5) == 1.0
    assert km_at(times, surv, 1) == pytest.approx(0.8)
    assert km_at(times, surv, 3) == pytest.approx(0.8 * 0.75 * 0.5)


def test_concordance_and_auc_bounds() -> None:
    _, t, e = _simulated()
    assert concordance_index(t, e, -t) == pytest.approx(1.0)
    assert concordance_index(t, e, t) == pytest.approx(0.0)
    assert concordance_index(t, e, np.zeros_like(t)) == pytest.approx(0.5)
    assert time_dependent_auc(t, e, -t, 0.5) == pytest.approx(1.0)


def test_cox_recovers_coefficients_and_is_calibrated() -> None:
    x, t, e = _simulated(1500)
    cox = fit_cox(x, t, e, ridge=0.0)
    assert cox.beta / cox.scale == pytest.approx([0.8, -0.4], abs=0.12)
    assert concordance_index(t, e, cox.risk(x)) > 0.65
    table = calibration_table(t, e, cox.survival_at(x, 0.5), 0.5, groups=5)
    assert table["mean_abs_error"] < 0.06


def test_targets_select_the_right_likelihood_terms() -> None:
    plus, minus = survival_targets(np.array([4.0, 4.0, 60.0]), np.array([1, 0, 1]), bin_months=3, n_bins=4)
    assert plus[0].tolist() == [0, 1, 0, 0, 0] and minus[0].tolist() == [0, 0, 1, 0, 0]  # died in (3, 6]
    assert plus[1].tolist() == [0, 1, 0, 0, 0] and not minus[1].any()  # alive at 3 months, censored at 4
    assert plus[2].tolist() == [0, 0, 0, 0, 1] and not minus[2].any()  # beyond the last bin
