"""The analysis payload of a two-patient file carries no patient id and names its range unit (model tier:
the shipped model)."""

from __future__ import annotations

from medai_core.glucose.readers import read_cgm
from medai_core.results.glucose import analysis_payload


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
