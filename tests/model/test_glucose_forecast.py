"""The glucose forecaster trained end to end on tiny data, and the analysis and forecast with the shipped model
(model tier)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from medai_core.glucose.analysis import analyse, forecast_from_last
from medai_core.glucose.forecast import params_from_artifacts
from medai_core.glucose.prepare import INPUT_STEPS, make_grid
from medai_core.glucose.simulate import simulated_patient
from medai_core.models import load_model, read_card


@pytest.fixture(scope="module")
def shipped() -> object:
    return load_model("glucose_forecast")


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


def test_no_forecast_after_a_gap(shipped: object) -> None:
    record = simulated_patient(days=2, seed=5)
    times = record.times.copy()
    times[-1] = times[-2] + np.timedelta64(60, "m")  # a 1-hour gap before the last reading
    forecast, why = forecast_from_last(
        make_grid(times, record.glucose_mg_dl), shipped, params_from_artifacts(shipped.card.artifacts)
    )  # type: ignore[attr-defined]
    assert forecast is None and "gap" in why
