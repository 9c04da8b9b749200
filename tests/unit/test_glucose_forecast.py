"""Forecast decoding, evaluation metrics, the Clarke grid, the analysis with attributions, training end to end."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from medai_core.errors import ModelCardError
from medai_core.glucose.analysis import analyse, forecast_from_last
from medai_core.glucose.evaluation import clarke_zones, forecast_scores, hypo_scores, spaced_origins
from medai_core.glucose.forecast import (
    OUTPUT_SIZE,
    ForecastParams,
    decode_outputs,
    hypo_labels,
    params_from_artifacts,
)
from medai_core.glucose.prepare import HORIZON_STEPS, INPUT_STEPS, make_grid
from medai_core.glucose.simulate import simulated_patient
from medai_core.models import load_model, read_card


def _params() -> ForecastParams:
    coef = np.zeros((INPUT_STEPS, HORIZON_STEPS))
    coef[-1, :] = 1.0  # the linear baseline carries the last value forward
    return ForecastParams(
        margins_mg_dl=np.full(HORIZON_STEPS, 5.0),
        platt=np.tile([1.0, 0.0], (3, 1)),
        linear_coef=coef,
        linear_intercept=np.zeros(HORIZON_STEPS),
        hypo_baseline=np.tile([-0.05, 4.0], (3, 1)),
    )


@pytest.mark.parametrize(
    ("ref", "pred", "zone"),
    [
        (100, 100, "A"),
        (100, 119, "A"),
        (50, 65, "A"),
        (200, 50, "E"),
        (50, 200, "E"),
        (100, 250, "C"),
        (150, 25, "C"),
        (300, 150, "D"),
        (50, 120, "D"),
        (100, 150, "B"),
        (300, 200, "B"),
    ],
)
def test_clarke_zones(ref: float, pred: float, zone: str) -> None:
    assert clarke_zones(np.array([ref]), np.array([pred]))[0] == zone


def test_forecast_scores() -> None:
    y = np.tile(np.arange(100.0, 112.0), (4, 1))
    perfect = forecast_scores(y, y, y - 1, y + 1)
    assert perfect["rmse_avg"] == 0.0 and perfect["coverage_80"] == 1.0 and perfect["clarke_ab_percent"] == 100.0
    off = forecast_scores(y, y + 10.0)
    assert off["rmse_30"] == pytest.approx(10.0) and off["mae_60"] == pytest.approx(10.0)
    assert np.isnan(off["coverage_80"])


def test_hypo_labels_and_scores() -> None:
    y = np.full((3, 12), 120.0)
    y[0, 3] = 65.0  # < 70 within 30 min
    y[1, 10] = 50.0  # < 54 at 55 min
    labels = hypo_labels(y)
    np.testing.assert_array_equal(labels, [[1, 1, 0], [0, 1, 1], [0, 0, 0]])
    scores = hypo_scores(labels, labels * 0.9 + 0.05)
    assert scores["lt70_60min"]["auroc"] == 1.0
    assert scores["lt70_60min"]["brier"] == pytest.approx(0.0025)


def test_decode_orders_and_calibrates() -> None:
    raw = np.zeros((2, OUTPUT_SIZE), dtype=np.float32)
    raw[:, :12] = -0.4
    raw[:, 24:36] = 0.4
    raw[1, 36:] = 3.0
    batch = decode_outputs(raw, np.array([100.0, 200.0]), _params())
    np.testing.assert_allclose(batch.p50[:, 0], [100.0, 200.0])
    np.testing.assert_allclose(batch.p10[0], 100.0 - 10.0 - 5.0)
    np.testing.assert_allclose(batch.p90[1], 200.0 + 10.0 + 5.0)
    assert np.all(batch.p10 <= batch.p50) and np.all(batch.p50 <= batch.p90)
    assert batch.hypo[1, 0] == pytest.approx(1 / (1 + np.exp(-3.0)))


def test_params_round_trip_and_bad_artifacts() -> None:
    params = _params()
    back = params_from_artifacts(params.to_artifacts())
    np.testing.assert_allclose(back.linear_coef, params.linear_coef)
    with pytest.raises(ModelCardError, match="incomplete"):
        params_from_artifacts({})
    broken = params.to_artifacts() | {"conformal_margins_mg_dl": [1.0, 2.0]}
    with pytest.raises(ModelCardError, match="shape"):
        params_from_artifacts(broken)


def test_spaced_origins() -> None:
    assert spaced_origins(np.array([0, 1, 5, 6, 7, 13, 14])).tolist() == [0, 6, 13]


@pytest.fixture(scope="module")
def shipped() -> object:
    return load_model("glucose_forecast")


def test_shipped_card_beats_linear_baseline_held_out(repo_root: Path) -> None:
    card = read_card(repo_root / "models" / "glucose_forecast")
    assert card.headline.value < card.headline.baseline_value
    assert card.metrics["model"]["rmse_avg"] < card.metrics["linear_regression"]["rmse_avg"]
    assert card.metrics["model"]["rmse_avg"] < 25.0
    assert set(card.artifacts["split"]["test_patient_ids"]).isdisjoint(
        card.artifacts["split"]["validation_patient_ids"]
    )


def test_analysis_with_shipped_model(shipped: object) -> None:
    record = simulated_patient(days=3, seed=11)
    result = analyse(record, shipped)  # type: ignore[arg-type]
    f = result.forecast
    assert f is not None and result.forecast_unavailable == ""
    assert np.all(f.p10 <= f.p50) and np.all(f.p50 <= f.p90)
    assert all(0.0 <= p <= 1.0 for p in f.hypo.values())
    # integrated gradients: completeness (attributions sum to forecast minus flat-trace forecast)
    assert abs(f.attributions_mg_dl.sum() - f.attribution_total_mg_dl) <= 0.05 * max(
        abs(f.attribution_total_mg_dl), 1.0
    )
    assert f.attributions_mg_dl.shape == (INPUT_STEPS,)
    assert result.backtest is not None and result.backtest.windows > 50
    assert result.backtest.model["rmse_avg"] > 0
    assert sum(result.backtest.clarke_percent.values()) == pytest.approx(100.0)


def test_no_forecast_after_a_gap(shipped: object) -> None:
    record = simulated_patient(days=2, seed=5)
    times = record.times.copy()
    times[-1] = times[-2] + np.timedelta64(60, "m")  # a 1-hour gap before the last reading
    forecast, why = forecast_from_last(
        make_grid(times, record.glucose_mg_dl), shipped, params_from_artifacts(shipped.card.artifacts)
    )  # type: ignore[attr-defined]
    assert forecast is None and "gap" in why


def test_training_end_to_end_on_tiny_data(tmp_path: Path) -> None:
    from medai_core.glucose.train import train_glucose

    lines = ["id,time,gl"]
    for pid in range(8):
        record = simulated_patient(days=2, seed=100 + pid)
        stamps = np.datetime_as_string(record.times.astype("datetime64[s]"))
        lines += [f"{pid},{t},{v:.0f}" for t, v in zip(stamps, record.glucose_mg_dl, strict=True)]
    data = tmp_path / "tiny.csv"
    data.write_text("\n".join(lines) + "\n")
    out = tmp_path / "models" / "glucose_forecast"
    result = train_glucose(data, out, epochs=1, max_train_windows=500, log=lambda _: None)
    card = read_card(out)
    assert card.metrics["windows"] == result.evaluation.windows > 0
    assert len(card.artifacts["split"]["by_dataset"]["tiny"]["test_patient_ids"]) == 2
    assert card.artifacts["architecture"] == result.chosen in {"mlp", "tcn", "mlp+tcn"}
    # every candidate and both baselines scored on the same test patients, with paired bootstrap intervals
    table = card.metrics["candidates_test"]["tiny"]
    assert set(table) == {"last_value", "linear_regression", "mlp", "tcn", "mlp+tcn"}
    for row in table.values():
        assert row["low"] <= row["rmse_avg"] <= row["high"] and row["diff_low"] <= row["diff"] <= row["diff_high"]
    assert table["linear_regression"]["diff"] == 0.0
    assert card.manifest.count("tiny", [str(p) for p in range(8)]).n_in_test == 2
    loaded = load_model("glucose_forecast", models_dir=tmp_path / "models")
    x = np.zeros((3, INPUT_STEPS, 4), dtype=np.float32)
    np.testing.assert_allclose(loaded.predict(x), loaded.keras_model.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    assert replace(card, version="2").version == "2"
