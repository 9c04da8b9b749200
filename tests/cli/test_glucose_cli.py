"""``predict glucose`` and ``evaluate glucose``: JSON keys exactly as CLI.md, exit code 2 with one line on bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from medai_core.cli import main
from medai_core.glucose.simulate import simulated_csv, simulated_patient

PREDICT_KEYS = {
    "source_format",
    "unit_detected",
    "n_readings",
    "start",
    "end",
    "metrics",
    "forecast",
    "hypo_risk",
    "model_id",
    "model_version",
    "weights_sha256",
}
METRIC_KEYS = {
    "mean_mg_dl",
    "gmi_percent",
    "cv_percent",
    "sd_mg_dl",
    "tbr_lt_54",
    "tbr_54_69",
    "tir_70_180",
    "tar_181_250",
    "tar_gt_250",
    "active_percent",
    "days",
}
EVALUATE_KEYS = {
    "patients",
    "windows",
    "rmse_30",
    "rmse_60",
    "rmse_avg",
    "mae_30",
    "mae_60",
    "coverage_80",
    "clarke_ab_percent",
}


def test_predict_json_mmol_file_reports_mg_dl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    record = simulated_patient(days=3, seed=2)
    stamps = np.datetime_as_string(record.times.astype("datetime64[s]"))
    path = tmp_path / "mmol.csv"
    path.write_text(
        "timestamp,glucose (mmol/L)\n"
        + "".join(f"{t},{v / 18.016:.2f}\n" for t, v in zip(stamps, record.glucose_mg_dl, strict=True))
    )
    assert main(["predict", "glucose", str(path), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= PREDICT_KEYS
    assert set(doc["metrics"]) == METRIC_KEYS
    assert doc["unit_detected"] == "mmol/L" and doc["source_format"] == "generic_csv"
    assert doc["metrics"]["mean_mg_dl"] == pytest.approx(record.glucose_mg_dl.mean(), abs=0.5)  # mg/dL, not mmol/L
    assert doc["forecast"]["minutes"] == list(range(5, 65, 5))
    assert all(
        lo <= mid <= hi
        for lo, mid, hi in zip(doc["forecast"]["p10"], doc["forecast"]["p50"], doc["forecast"]["p90"], strict=True)
    )
    assert set(doc["hypo_risk"]) == {"lt70_30min", "lt70_60min", "lt54_60min"}
    assert doc["model_id"] == "glucose_forecast" and len(doc["weights_sha256"]) == 64


def test_predict_vendor_fixture_text(capsys: pytest.CaptureFixture[str]) -> None:
    path = Path(__file__).resolve().parents[1] / "data" / "glucose" / "libreview_us_mgdl.csv"
    assert main(["predict", "glucose", str(path)]) == 0
    out = capsys.readouterr().out
    assert "libreview (mg/dL)" in out and "hypoglycaemia risk" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"time,heart_rate\n2024-01-01 00:00,60\n", "no glucose column"), (b"%PDF-1.4 binary", "PDF")],
)
def test_predict_bad_input_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    assert main(["predict", "glucose", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err and captured.err.count("\n") == 1


def test_predict_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["predict", "glucose", str(tmp_path / "absent.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_evaluate_json_and_predictions(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = ["id,time,gl"]
    for pid in ("a", "b"):
        text = simulated_csv(simulated_patient(days=2, seed=ord(pid))).decode().splitlines()[1:]
        lines += [f"{pid},{row}" for row in text]
    data = tmp_path / "two.csv"
    data.write_text("\n".join(lines) + "\n")
    preds = tmp_path / "preds.csv"
    assert main(["evaluate", "glucose", "--data", str(data), "--json", "--predictions", str(preds)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= EVALUATE_KEYS
    assert doc["patients"] == 2 and doc["windows"] > 20
    assert 0.0 <= doc["coverage_80"] <= 1.0 and 0.0 <= doc["clarke_ab_percent"] <= 100.0
    assert set(doc["baselines"]) == {"last_value", "linear_regression"}
    with open(preds, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["id", "origin", "step", "y_true", "p10", "p50", "p90"]
    assert len(rows) == 12 * doc["windows"]
    assert {r["step"] for r in rows} == {str(s) for s in range(1, 13)}


def test_evaluate_bad_table_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "bad.csv"
    data.write_text("patient,when,value\n1,2024-01-01,100\n")
    assert main(["evaluate", "glucose", "--data", str(data)]) == 2
    assert "no timestamp column" in capsys.readouterr().err


def test_evaluate_too_short_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "short.csv"
    data.write_text("id,time,gl\n1,2024-01-01 00:00,100\n1,2024-01-01 00:05,104\n")
    assert main(["evaluate", "glucose", "--data", str(data)]) == 2
    assert "no window" in capsys.readouterr().err
