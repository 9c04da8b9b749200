"""The 5-minute grid and the AGP report: checked against iglu-python on the same series."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from medai_core.glucose.agp import PERCENTILES, agp_report, glucose_metrics
from medai_core.glucose.prepare import make_grid, valid_origins
from medai_core.glucose.readers import CGMRecord, read_cgm
from medai_core.glucose.simulate import simulated_csv, simulated_patient
from medai_core.units import MG_DL_PER_MMOL_L, from_mg_dl, to_mg_dl


def _times(minutes: list[float]) -> np.ndarray:
    return np.datetime64("2024-01-01T00:00", "ns") + (np.asarray(minutes) * 60e9).astype("timedelta64[ns]")


def test_units_round_trip() -> None:
    assert float(to_mg_dl(10.0, "mmol/L")) == pytest.approx(180.16)
    assert float(from_mg_dl(180.16, "mmol/L")) == pytest.approx(10.0)
    assert float(from_mg_dl(123.0, "mg/dL")) == 123.0
    assert MG_DL_PER_MMOL_L == 18.016


def test_grid_interpolates_short_gaps_only() -> None:
    # readings at 0, 5, 20 (15-min gap: bridged), 45 (25-min gap: left as a gap), 50 min
    grid = make_grid(_times([0, 5, 20, 45, 50.4]), np.array([100.0, 110.0, 140.0, 200.0, 210.0]))
    assert grid.times.size == 11
    np.testing.assert_allclose(grid.glucose_mg_dl[:5], [100, 110, 120, 130, 140])
    assert np.isnan(grid.glucose_mg_dl[5:9]).all()
    assert grid.observed.tolist() == [True, True, False, False, True, False, False, False, False, True, True]


def test_valid_origins_need_full_input_and_observed_targets() -> None:
    minutes = [5.0 * i for i in range(60)]
    values = 100 + np.arange(60, dtype=float)
    grid = make_grid(_times(minutes), values)
    origins = valid_origins(grid)
    assert origins.tolist() == list(range(35, 48))
    gap = [m for m in minutes if not 200 <= m <= 230]
    assert valid_origins(make_grid(_times(gap), np.interp(gap, minutes, values))).size == 0


def _iglu_frame(record_times: np.ndarray, glucose: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"id": "p", "time": pd.to_datetime(record_times), "gl": glucose})


FIXTURES = Path(__file__).resolve().parents[1] / "data" / "glucose"


@pytest.mark.parametrize("source", ["dexcom_clarity_g7_mgdl.csv", "libreview_us_mgdl.csv", "simulated"])
def test_metrics_agree_with_iglu(source: str) -> None:
    if source == "simulated":
        record = read_cgm(simulated_csv(simulated_patient(days=10, seed=3)))
    else:
        record = read_cgm((FIXTURES / source).read_bytes())
    _check_against_iglu(record)


@pytest.mark.full_data
@pytest.mark.parametrize("source", ["dexcom_clarity_g7_export.csv", "libreview_us_mgdl_export.csv"])
def test_metrics_agree_with_iglu_on_vendor_exports(source: str, shared_data: Path) -> None:
    _check_against_iglu(read_cgm((shared_data / "cgm/vendor_exports" / source).read_bytes()))


def _check_against_iglu(record: CGMRecord) -> None:
    import iglu_python as iglu

    ours = glucose_metrics(record.times, record.glucose_recorded, record.unit_detected)
    frame = _iglu_frame(record.times, record.glucose_mg_dl)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        below = iglu.below_percent(frame, targets_below=[54, 70]).iloc[0]
        above = iglu.above_percent(frame, targets_above=[180, 250]).iloc[0]
        expected = {
            "mean_mg_dl": iglu.mean_glu(frame)["mean"].iloc[0],
            "gmi_percent": iglu.gmi(frame)["GMI"].iloc[0],
            "cv_percent": iglu.cv_glu(frame)["CV"].iloc[0],
            "sd_mg_dl": iglu.sd_glu(frame)["SD"].iloc[0],
            "tbr_lt_54": below["below_54"],
            "tbr_54_69": below["below_70"] - below["below_54"],
            "tir_70_180": iglu.in_range_percent(frame, target_ranges=[[70, 180]])["in_range_70_180"].iloc[0],
            "tar_181_250": above["above_180"] - above["above_250"],
            "tar_gt_250": above["above_250"],
            "active_percent": iglu.active_percent(frame, tz="UTC")["active_percent"].iloc[0],
        }
    for key, value in expected.items():
        assert ours[key] == pytest.approx(float(value), abs=1e-6), key
    assert ours["days"] == pytest.approx((record.times[-1] - record.times[0]) / np.timedelta64(1, "D"))


def test_targets_and_percentile_day() -> None:
    record = simulated_patient(days=14, seed=1)
    report = agp_report(record.times, record.glucose_mg_dl, record.grid())
    checks = {t.key: t for t in report.targets}
    assert checks["tir_70_180"].passed == (report.metrics["tir_70_180"] > 70)
    assert checks["mean_mg_dl"].passed is None
    assert checks["days"].passed is True
    assert report.agp_available
    assert report.percentiles.shape == (len(PERCENTILES), 96)
    p = report.percentiles
    assert np.all(np.diff(p, axis=0) >= -1e-9)  # 5 <= 25 <= 50 <= 75 <= 95 in every bin
    assert report.daily.shape == (len(report.day_labels), 288)
    assert report.day_labels[0] == "2025-03-03"


def test_short_record_says_what_is_missing() -> None:
    times = _times([5.0 * i for i in range(100)])  # 8.25 h
    report = agp_report(times, np.full(100, 130.0), make_grid(times, np.full(100, 130.0)))
    assert not report.agp_available
    assert "need at least 24 h" in report.sufficiency[0]
    assert report.metrics["tir_70_180"] == 100.0
    assert np.isnan(report.percentiles).all() and report.daily.shape[0] == 0


def test_failing_targets() -> None:
    times = _times([5.0 * i for i in range(600)])
    glucose = np.where(np.arange(600) % 10 == 0, 45.0, 260.0)
    metrics = glucose_metrics(times, glucose)
    report = agp_report(times, glucose, make_grid(times, glucose))
    checks = {t.key: t.passed for t in report.targets}
    assert metrics["tbr_lt_54"] == pytest.approx(10.0)
    assert checks["tbr_lt_54"] is False and checks["tir_70_180"] is False and checks["tar_gt_250"] is False
