"""Personalisation on upload: a bias learnt on the first half of the history, kept only where the backtest improves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medai_core.cli import main
from medai_core.glucose.analysis import analyse
from medai_core.glucose.forecast import OUTPUT_SIZE, ForecastParams, params_from_artifacts
from medai_core.glucose.personalise import MIN_DAYS, fit_bias, history_days, personalise
from medai_core.glucose.prepare import DELTA_SCALE, HORIZON_STEPS, INPUT_STEPS, LEVEL_CENTER, LEVEL_SCALE, Grid
from medai_core.glucose.report import audit_outputs, build_report
from medai_core.glucose.simulate import simulated_csv, simulated_patient
from medai_core.models import load_model
from medai_core.results.glucose import analysis_payload


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


def test_analysis_and_json_carry_the_decision() -> None:
    shipped = load_model("glucose_forecast")
    record = simulated_patient(days=14, seed=11)
    result = analyse(record, shipped)
    adapted = result.personalisation
    doc = analysis_payload(result)
    block = doc["personalisation"]
    assert set(block) >= {"applied", "reason", "backtest_rmse_before", "backtest_rmse_after", "days_used"}
    assert block["applied"] == adapted.applied and block["days_used"] >= MIN_DAYS
    assert block["backtest_rmse_before"] is not None and block["backtest_rmse_after"] is not None
    if adapted.applied:  # applied only when the backtest improves beyond its noise
        assert block["backtest_rmse_after"] < block["backtest_rmse_before"]
        assert block["backtest_mse_drop"] > 2 * block["backtest_mse_drop_se"]
    elif block["backtest_rmse_after"] < block["backtest_rmse_before"]:
        assert "not beyond its noise" in adapted.reason
    f = result.forecast
    assert f is not None
    if adapted.applied:
        assert f.personalised and f.p50_shipped is not None
        np.testing.assert_allclose(f.p50, np.clip(f.p50_shipped + adapted.bias_mg_dl, 40, 400))
        assert doc["personalisation"]["p50_not_adapted"] == [round(float(v), 1) for v in f.p50_shipped]
    else:
        assert not f.personalised and f.p50_shipped is None
    report = build_report(result, shipped.card, b"", "mg/dL")
    section = next(sec for sec in report.sections if sec.heading == "Adapted to this patient?")
    assert section.text == adapted.reason and len(section.table_rows) == 2
    assert audit_outputs(result)["personalised"] == adapted.applied
    # the shown forecast: median inside its band
    assert np.all(f.p10 <= f.p50) and np.all(f.p50 <= f.p90)
    # a short upload: no personalisation block (CLI.md: present when the upload is long enough)
    short = analysis_payload(analyse(simulated_patient(days=3, seed=11), shipped))
    assert "personalisation" not in short


def test_predict_glucose_json_has_personalisation(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "upload.csv"
    path.write_bytes(simulated_csv(simulated_patient(days=10, seed=3)))
    assert main(["predict", "glucose", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc["personalisation"]["applied"], bool) and doc["personalisation"]["reason"]
    assert 9.5 < doc["personalisation"]["days_used"] < 10.5


def test_shipped_card_records_the_personalisation_study() -> None:
    card = load_model("glucose_forecast").card
    study = card.metrics["personalisation"]
    assert study["patients"] >= 10 and 0.6 <= study["fraction_backtest_improved"] <= 1.0
    assert study["shown_rmse_rises"] == 0
    params_from_artifacts(card.artifacts)
