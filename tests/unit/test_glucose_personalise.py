"""Personalisation on upload: a bias learnt on the first half of the history, kept only where the backtest improves."""

from __future__ import annotations

import numpy as np
import pytest

from medai_core.glucose.forecast import OUTPUT_SIZE, ForecastParams
from medai_core.glucose.personalise import MIN_DAYS, fit_bias, history_days, personalise
from medai_core.glucose.prepare import DELTA_SCALE, HORIZON_STEPS, INPUT_STEPS, LEVEL_CENTER, LEVEL_SCALE, Grid
from medai_core.glucose.simulate import simulated_patient


def _params() -> ForecastParams:
    return ForecastParams(
        margins_mg_dl=np.zeros(HORIZON_STEPS),
        platt=np.tile([1.0, 0.0], (3, 1)),
        linear_coef=np.zeros((INPUT_STEPS, HORIZON_STEPS)),
        linear_intercept=np.zeros(HORIZON_STEPS),
        hypo_baseline=np.tile([-0.05, 4.0], (3, 1)),
    )


def _offset_predictor(offset_mg_dl: float | None = None, *, high: float = 20.0, low: float = -20.0):  # type: ignore[no-untyped-def]
    """A stand-in model: last value carried forward plus an offset (constant, or by the last reading's level)."""

    def predict(x: np.ndarray) -> np.ndarray:
        out = np.zeros((x.shape[0], OUTPUT_SIZE), dtype=np.float32)
        last = x[:, -1, 0] * LEVEL_SCALE + LEVEL_CENTER
        shift = np.full(x.shape[0], offset_mg_dl) if offset_mg_dl is not None else np.where(last > 160, high, low)
        out[:, : 3 * HORIZON_STEPS] = np.tile(shift[:, None] / DELTA_SCALE, (1, 3 * HORIZON_STEPS))
        return out

    return predict


def _grid(days: int, seed: int = 7) -> Grid:
    return simulated_patient(days=days, seed=seed).grid()


def test_a_patient_specific_bias_is_learnt_and_shown() -> None:
    grid = _grid(14)
    result = personalise(grid, _offset_predictor(20.0), _params())
    assert result.applied, result.reason
    assert result.backtest_rmse_after < result.backtest_rmse_before  # type: ignore[operator]
    assert result.bias_mg_dl is not None and np.all(result.bias_mg_dl < -12) and np.all(result.bias_mg_dl > -21)
    assert result.days_used == pytest.approx(history_days(grid)) and result.days_used >= 13.9
    assert result.fit_windows >= 100 and result.backtest_windows >= 30
    np.testing.assert_allclose(result.correction(2), np.tile(result.bias_mg_dl, (2, 1)))
    assert "Adapted" in result.reason


def test_falls_back_when_the_bias_of_the_first_half_does_not_hold() -> None:
    grid = _grid(14)
    g = grid.glucose_mg_dl.copy()
    half = g.size // 2
    g[:half] = np.clip(g[:half] + 60.0, 40, 400)  # first half mostly above 160: the stand-in over-forecasts by 20
    g[half:] = np.clip(g[half:] - 40.0, 40, 400)  # second half mostly below: it under-forecasts by 20
    shifted = Grid(grid.times, g, grid.observed)
    result = personalise(shifted, _offset_predictor(), _params())
    assert not result.applied
    assert result.backtest_rmse_after > result.backtest_rmse_before  # type: ignore[operator]
    assert "Not adapted" in result.reason
    np.testing.assert_array_equal(result.correction(3), np.zeros((3, HORIZON_STEPS)))


def test_no_bias_no_change_and_short_history_not_adapted() -> None:
    result = personalise(_grid(5), _offset_predictor(20.0), _params())
    assert not result.applied and result.backtest_rmse_before is None
    assert f"{MIN_DAYS:.0f} days" in result.reason and "5.0" in result.reason
    empty = Grid(np.array([], dtype="datetime64[ns]"), np.array([]), np.array([], dtype=bool))
    assert history_days(empty) == 0.0 and not personalise(empty, _offset_predictor(0.0), _params()).applied


def test_too_few_complete_stretches_is_said() -> None:
    grid = _grid(8)
    g = grid.glucose_mg_dl.copy()
    g[::30] = np.nan  # a 5-minute hole every 150 minutes with no neighbour filled: no 3-hour window is complete
    observed = grid.observed & np.isfinite(g)
    result = personalise(Grid(grid.times, g, observed), _offset_predictor(20.0), _params())
    assert not result.applied and "Not adapted" in result.reason and "longest such stretch here is" in result.reason


def test_fit_bias_shrinks_towards_zero() -> None:
    residual = np.full((100, HORIZON_STEPS), 10.0)
    np.testing.assert_allclose(fit_bias(residual, alpha=100.0), np.full(HORIZON_STEPS, 5.0))
    np.testing.assert_allclose(fit_bias(residual, alpha=0.0), np.full(HORIZON_STEPS, 10.0))
