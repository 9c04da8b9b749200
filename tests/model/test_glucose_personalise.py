"""Personalisation through the shipped glucose model, its JSON and its card (model tier)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from medai_core.cli import main
from medai_core.glucose.analysis import analyse
from medai_core.glucose.forecast import params_from_artifacts
from medai_core.glucose.personalise import MIN_DAYS
from medai_core.glucose.report import audit_outputs, build_report
from medai_core.glucose.simulate import simulated_csv, simulated_patient
from medai_core.models import load_model
from medai_core.results.glucose import analysis_payload


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
