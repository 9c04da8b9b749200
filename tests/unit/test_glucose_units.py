"""Time in ranges of mmol/L files: classified with the consensus' own mmol/L bounds (issue: 10.0 mmol/L in range)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from medai_core.glucose.agp import agp_report, glucose_metrics
from medai_core.glucose.prepare import make_grid
from medai_core.glucose.readers import read_cgm
from medai_core.results.glucose import analysis_payload
from medai_core.units import MG_DL_PER_MMOL_L


def _csv(values: np.ndarray, column: str, decimals: int) -> bytes:
    times = pd.date_range("2026-01-05", periods=values.size, freq="5min")
    lines = [f"timestamp,{column}"] + [
        f"{t:%Y-%m-%dT%H:%M:%S},{v:.{decimals}f}" for t, v in zip(times, values, strict=True)
    ]
    return ("\n".join(lines) + "\n").encode()


def test_even_split_of_7_10_13_9_mmol_has_tir_67_percent() -> None:
    """The issue's example: 7.0, 10.0 and 13.9 mmol/L in equal shares give TIR 67 %, not 33 %."""
    record = read_cgm(_csv(np.tile([7.0, 10.0, 13.9], 96), "glucose_mmol_l", 1))
    assert record.unit_detected == "mmol/L"
    report = agp_report(record.times, record.glucose_recorded, record.grid(), record.unit_detected)
    m = report.metrics
    assert m["tir_70_180"] == pytest.approx(200 / 3)
    assert m["tar_181_250"] == pytest.approx(100 / 3)
    assert m["tar_gt_250"] == 0.0
    assert report.range_unit == "mmol/L"
    assert report.label("tir_70_180", "mg/dL") == "Time in range 3.9-10.0 mmol/L (%)"


def test_mmol_file_metrics_equal_mg_dl_file_within_rounding() -> None:
    rng = np.random.default_rng(4)
    mg = np.clip(np.round(140 + 60 * np.sin(np.arange(2016) / 40.0) + rng.normal(0, 25, 2016)), 40, 400)
    mmol = np.round(mg / MG_DL_PER_MMOL_L, 1)
    # readings within 1 mg/dL of a bound may round across it in mmol/L; keep the comparison away from them
    edges = np.array([54, 70, 180, 250])
    away = np.abs(mg[:, None] - edges[None, :]).min(axis=1) > 1.5
    mg, mmol = mg[away], mmol[away]
    a = read_cgm(_csv(mg, "glucose_mg_dl", 0))
    b = read_cgm(_csv(mmol, "glucose_mmol_l", 1))
    ma = glucose_metrics(a.times, a.glucose_recorded, a.unit_detected)
    mb = glucose_metrics(b.times, b.glucose_recorded, b.unit_detected)
    for key in ("tbr_lt_54", "tbr_54_69", "tir_70_180", "tar_181_250", "tar_gt_250", "active_percent", "days"):
        assert ma[key] == pytest.approx(mb[key], abs=1e-9), key
    for key in ("mean_mg_dl", "sd_mg_dl"):
        assert ma[key] == pytest.approx(mb[key], abs=0.5), key
    assert ma["gmi_percent"] == pytest.approx(mb["gmi_percent"], abs=0.02)
    assert ma["cv_percent"] == pytest.approx(mb["cv_percent"], abs=0.3)


def test_dexcom_mmol_low_high_use_mmol_sensor_limits() -> None:
    header = (
        '"Index","Timestamp (YYYY-MM-DDThh:mm:ss)","Event Type","Event Subtype","Patient Info","Device Info",'
        '"Source Device ID","Glucose Value (mmol/L)"\n'
    )
    rows = [
        f'"{i}","2026-01-05T00:{5 * i:02d}:00","EGV","","","","G7","{v}"\n'
        for i, v in enumerate(["Low", "3.0", "10.0", "High"])
    ]
    record = read_cgm((header + "".join(rows)).encode())
    np.testing.assert_allclose(record.glucose_recorded, [2.2, 3.0, 10.0, 22.2])
    m = glucose_metrics(record.times, record.glucose_recorded, "mmol/L")
    assert m["tbr_lt_54"] == 25.0 and m["tbr_54_69"] == 25.0 and m["tir_70_180"] == 25.0 and m["tar_gt_250"] == 25.0
    assert any("2.2 mmol/L" in n for n in record.notes)


def test_single_reading_reports_sd_and_cv_unavailable_with_a_note() -> None:
    times = np.array(["2026-01-05T08:00"], dtype="datetime64[ns]")
    report = agp_report(times, np.array([120.0]), make_grid(times, np.array([120.0])))
    assert np.isnan(report.metrics["sd_mg_dl"]) and np.isnan(report.metrics["cv_percent"])
    assert any("standard deviation and coefficient of variation" in n for n in report.sufficiency)
    cv = next(t for t in report.targets if t.key == "cv_percent")
    assert cv.passed is None


def test_payload_carries_no_patient_id_and_says_the_range_unit() -> None:
    from medai_core.glucose.analysis import analyse
    from medai_core.models import load_model

    ids = ("PT-7781", "PT-9")
    rows = ["id,time,gl"] + [
        f"{p},2026-01-05 {h:02d}:{m:02d}:00,{100 + h}" for p in ids for h in range(5) for m in (0, 30)
    ]
    record = read_cgm(("\n".join(rows) + "\n").encode())
    payload = analysis_payload(analyse(record, load_model("glucose_forecast")))
    text = repr(payload)
    assert "PT-7781" not in text and "PT-9" not in text
    assert payload["patients_in_file"] == 2 and payload["ranges_unit"] == "mg/dL"
    assert any("2 patients" in n for n in payload["notes"])
