"""Hostile CGM files through the whole analysis with the shipped model (model tier)."""

from __future__ import annotations

from medai_core.glucose.readers import read_cgm


def test_a_single_reading_gives_a_result_with_unavailable_sd_and_a_note() -> None:
    from medai_core.glucose.analysis import analyse
    from medai_core.models import load_model
    from medai_core.results.glucose import analysis_payload

    result = analyse(read_cgm(b"time,glucose\n2026-01-05 08:00,120\n"), load_model("glucose_forecast"))
    payload = analysis_payload(result)
    assert payload["metrics"]["sd_mg_dl"] is None and payload["metrics"]["cv_percent"] is None
    assert payload["metrics"]["mean_mg_dl"] == 120.0
    assert any("need at least 2 readings" in n for n in payload["notes"])
    assert payload["forecast"] is None


def test_report_and_notes_never_carry_the_patient_id() -> None:
    from medai_core.glucose.analysis import analyse
    from medai_core.glucose.report import audit_outputs, build_report
    from medai_core.models import load_model
    from medai_core.reports import render_html, render_json
    from medai_core.results.glucose import analysis_payload

    rows = ["id,time,gl"]
    for pid in ("Jane-Doe-1962", "MRN-004471"):
        rows += [f"{pid},2026-01-05 {h:02d}:{m:02d}:00,{110 + h}" for h in range(6) for m in range(0, 60, 5)]
    data = ("\n".join(rows) + "\n").encode()
    model = load_model("glucose_forecast")
    for patient in (None, "MRN-004471"):
        result = analyse(read_cgm(data, patient=patient), model)
        report = build_report(result, model.card, data, "mmol/L")
        payload = analysis_payload(result)
        text = render_html(report) + render_json(report, payload) + repr(audit_outputs(result)) + repr(result.notes)
        assert "Jane-Doe" not in text and "MRN-004471" not in text
