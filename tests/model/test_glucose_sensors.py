"""Sensor cadences, limits and times through the whole analysis with the shipped glucose model (model tier)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from medai_core.cli import main
from medai_core.glucose.analysis import analyse
from medai_core.glucose.prepare import target_stride
from medai_core.glucose.readers import read_cgm
from medai_core.glucose.simulate import simulated_patient
from medai_core.models import load_model
from medai_core.results.glucose import analysis_payload
from medai_core.units import MG_DL_PER_MMOL_L
from tests.unit.test_glucose_sensors import _generic_csv, _libre_csv


@pytest.fixture(scope="module")
def shipped():  # type: ignore[no-untyped-def]
    return load_model("glucose_forecast")


# ------------------------------------------------------------------ cadence


def test_librelink_every_15_minutes_gets_a_backtest_and_adaptation(shipped) -> None:  # type: ignore[no-untyped-def]
    """40 days of historic readings every 15 min with an unbroken 8.8-day run: it used to say 'No stretch of 4
    complete hours'."""
    sim = simulated_patient(days=40, seed=5)
    times = pd.date_range("2025-01-01 00:00", periods=40 * 96, freq="15min")
    values = np.interp(
        (times - times[0]).total_seconds() / 60, (sim.times - sim.times[0]) / np.timedelta64(1, "m"), sim.glucose_mg_dl
    )
    keep = np.ones(times.size, dtype=bool)
    for day in (3.0, 7.0, 12.0, 20.8, 24.0, 30.0, 35.0):  # 1-hour gaps; the longest run is 12.0 -> 20.8 days
        start = int(day * 96)
        keep[start : start + 4] = False
    record = read_cgm(_libre_csv(times[keep], [f"{v:.0f}" for v in values[keep]]), name="librelink.csv")
    assert record.sampling_minutes == 15 and target_stride(record.sampling_minutes) == 3
    result = analyse(record, shipped)
    assert result.backtest is not None, result.backtest_unavailable
    assert result.backtest.windows > 500
    assert np.isfinite(result.backtest.model["rmse_30"]) and np.isfinite(result.backtest.model["rmse_60"])
    assert result.forecast is not None
    adapted = result.personalisation
    assert adapted.backtest_windows >= 30 and adapted.backtest_rmse_before is not None, adapted.reason
    assert "4 complete hours" not in adapted.reason
    assert any("Readings every 15 minutes" in n and "scored" in n for n in record.notes)


def test_no_backtest_reason_is_true_for_a_short_file(shipped) -> None:  # type: ignore[no-untyped-def]
    times = pd.date_range("2025-01-01", periods=40, freq="5min")  # 3.25 h
    result = analyse(read_cgm(_generic_csv(times, ["120"] * 40)), shipped)
    assert result.backtest is None
    assert "the longest such stretch here is 3.2 h" in result.backtest_unavailable


def test_one_minute_sensor_is_averaged_onto_the_grid(shipped) -> None:  # type: ignore[no-untyped-def]
    times = pd.date_range("2025-01-01", periods=60 * 30, freq="1min")  # 30 h every minute
    values = [f"{140 + 40 * np.sin(i / 150):.0f}" for i in range(times.size)]
    record = read_cgm(_generic_csv(times, values))
    assert record.sampling_minutes == 1 and any("averaged onto" in n for n in record.notes)
    result = analyse(record, shipped)
    assert result.forecast is not None and result.backtest is not None
    assert result.agp.metrics["active_percent"] == pytest.approx(100.0)


def test_evaluate_at_15_minutes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frames = []
    for pid, seed in (("a", 1), ("b", 2)):
        sim = simulated_patient(days=3, seed=seed)
        frames.append(pd.DataFrame({"id": pid, "time": sim.times, "gl": sim.glucose_mg_dl}))
    path = tmp_path / "cohort.csv"
    pd.concat(frames).to_csv(path, index=False)
    assert main(["evaluate", "glucose", "--data", str(path), "--cadence", "15", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["cadence_minutes"] == 15 and doc["windows"] > 50
    assert doc["rmse_30"] is not None and doc["rmse_60"] is not None
    assert any("15, 30, 45, 60 min" in n for n in doc["notes"])


def test_card_reports_backtest_per_cadence(shipped) -> None:  # type: ignore[no-untyped-def]
    by_cadence = shipped.card.metrics["by_cadence"]
    for minutes in ("5", "15"):
        block = by_cadence[minutes]
        assert block["patients"] >= 30 and block["windows"] > 1000
        for name in ("model", "linear_regression", "last_value"):
            assert 10 < block[name]["rmse_30"] < block[name]["rmse_60"] < 60
    # thinning to 15 minutes costs accuracy, but the model still beats carrying the last value forward
    assert by_cadence["15"]["model"]["rmse_60"] < by_cadence["15"]["last_value"]["rmse_60"]


# ------------------------------------------------------------------ sensor limits


def test_libre_hi_is_its_ceiling_and_the_forecast_reaches_it(shipped) -> None:  # type: ignore[no-untyped-def]
    """A Libre (mmol/L) rising to 22.1 mmol/L: the forecast was capped at 400 mg/dL (22.2 mmol/L)."""
    times = pd.date_range("2025-01-01", periods=12 * 12, freq="5min")  # 12 h
    mg = np.concatenate([np.full(108, 150.0), np.linspace(150, 398, 36)])
    values = [f"{v / MG_DL_PER_MMOL_L:.1f}" for v in mg]
    values[50] = "HI"
    record = read_cgm(_libre_csv(times, values, unit="mmol/L"))
    assert record.sensor == "libre" and record.glucose_recorded[50] == 27.8
    result = analyse(record, shipped)
    assert result.sensor_limits_mg_dl[0] == 40.0 and result.sensor_limits_mg_dl[1] >= 500.0
    assert result.forecast is not None and result.forecast.p90.max() > 400.0
    doc = analysis_payload(result)
    assert doc["sensor"]["ceiling_mg_dl"] >= 500.0 and doc["sensor"]["censored_at_ceiling"] == 1


def test_the_stated_last_reading_time_is_the_files(shipped) -> None:  # type: ignore[no-untyped-def]
    """Readings whose phase shifts by 2 minutes after a gap: the forecast said 18:00 for a last reading at 18:02."""
    first = pd.date_range("2025-01-01 00:00", "2025-01-01 12:00", freq="5min")
    second = pd.date_range("2025-01-01 12:32", "2025-01-01 18:02", freq="5min")
    times = first.append(second)
    values = [f"{130 + 30 * np.sin(i / 20):.0f}" for i in range(times.size)]
    result = analyse(read_cgm(_generic_csv(times, values)), shipped)
    assert result.end == "2025-01-01T18:02:00"
    assert result.forecast is not None and result.forecast.origin_time == result.end
    assert result.forecast.last_mg_dl == float(values[-1])
