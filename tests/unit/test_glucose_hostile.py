"""Hostile CGM inputs (fuzzing findings): each gives a result or a clear CGMInputError, quickly and in little memory.

Every input is the smallest one that triggered the finding on the earlier reader.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from medai_core import untrusted
from medai_core.errors import CGMInputError
from medai_core.glucose.readers import read_cgm, read_research_table
from medai_core.glucose.readers import text as cgm_text


def test_a_160k_column_header_is_refused_before_parsing() -> None:
    data = gzip.compress(b"time," + b"," * 160_000 + b"\n2026-01-05 00:00,100\n")
    assert len(data) < 400
    with pytest.raises(CGMInputError, match="not a CGM export"):
        read_cgm(data)


def test_a_wide_but_short_header_is_refused() -> None:
    header = ",".join(f"c{i}" for i in range(1500))
    with pytest.raises(CGMInputError, match="1,500 columns"):
        read_cgm(f"{header}\n".encode())


def test_a_very_long_line_is_refused() -> None:
    with pytest.raises(CGMInputError, match="characters"):
        read_cgm(b"timestamp,glucose\n2026-01-05 00:00," + b"1" * 70_000 + b"\n")


def test_near_dexcom_header_without_event_type_column() -> None:
    """'Event Type' appears in the header line, but not as a column: was KeyError 'Event Type'."""
    data = (
        b'"Index","Timestamp (YYYY-MM-DDThh:mm:ss)","Event Type (v2)","Glucose Value (mg/dL)"\n'
        b'"1","2026-01-05T00:00:00","EGV","100"\n'
    )
    with pytest.raises(CGMInputError, match="needs the columns 'Event Type'"):
        read_cgm(data)


def test_mixed_utc_offsets_and_naive_times() -> None:
    data = b"time,glucose\n2026-01-05T00:00:00+02:00,100\n2026-01-05T00:05:00,101\n"
    with pytest.raises(CGMInputError, match="mixes timestamps"):
        read_cgm(data)


def test_mixed_utc_offsets_alone_are_read() -> None:
    data = b"time,glucose\n2026-03-29T01:55:00+01:00,100\n2026-03-29T03:00:00+02:00,101\n"
    record = read_cgm(data)
    assert record.n_readings == 2
    assert int(np.diff(record.times).astype("timedelta64[m]")[0].astype(int)) == 5


def test_a_100_year_gap_is_refused_without_allocating_a_grid() -> None:
    data = b"time,glucose\n1926-01-05 00:00,100\n2026-01-05 00:00,110\n"
    with pytest.raises(CGMInputError, match="span 36,525 days"):
        read_cgm(data)
    with pytest.raises(CGMInputError, match="more than 731 days"):
        read_research_table(b"id,time,gl\n1,1926-01-05 00:00,100\n1,2026-01-05 00:00,110\n")


def test_too_many_rows_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cgm_text, "MAX_READINGS", 10)
    rows = "".join(f"2026-01-05 {h:02d}:00,100\n" for h in range(24))
    with pytest.raises(CGMInputError, match="at most 10 readings"):
        read_cgm(("time,glucose\n" + "\n" * 100 + rows).encode())


def test_a_gzip_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(untrusted, "MAX_DECOMPRESSED_BYTES", 1000)
    with pytest.raises(CGMInputError, match="unpacks to more than"):
        read_cgm(gzip.compress(b"time,glucose\n" + b"2026-01-05 00:00,100\n" * 200))


def test_corrupt_gzip_is_refused() -> None:
    data = gzip.compress(b"time,glucose\n2026-01-05 00:00,100\n")
    with pytest.raises(CGMInputError, match="cannot be unpacked"):
        read_cgm(data[:12] + b"\xff" * 8 + data[20:])


def test_timestamps_out_of_range_are_a_clear_error() -> None:
    with pytest.raises(CGMInputError, match="do not parse"):
        read_cgm(b"time,glucose\n99999-01-05 00:00,100\n2026-01-05 00:05,100\n")


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


def test_libre_timestamps_mixing_zones_are_a_clear_error() -> None:
    """A LibreView file whose timestamps fall back to ISO with mixed zones: was pandas' 'Mixed timezones' error."""
    from tests.unit.test_glucose_io import LIBRE_HEADER

    data = (
        "Glucose Data,Generated on,20-01-2026 08:43 UTC,Generated by,X\n"
        + LIBRE_HEADER.format(u="mg/dL")
        + "\nLibre,X,2026-01-05T00:00:00Z,0,100,,,,,,,,,,,,,,\nLibre,X,2026-01-05T00:15:00+01:00,0,101,,,,,,,,,,,,,,\n"
        + "Libre,X,2026-01-05 00:30,0,102,,,,,,,,,,,,,,\n"
    ).encode()
    with pytest.raises(CGMInputError, match="do not parse"):
        read_cgm(data)


def test_time_zone_words_are_not_silently_dropped() -> None:
    with pytest.raises(CGMInputError, match="do not parse"):
        read_cgm(b"time,glucose\n2026-01-05 00:00 UTC,100\n2026-01-05 00:05 UTC,101\n")


def test_bands_add_up_to_exactly_100() -> None:
    from medai_core.glucose.agp import glucose_metrics

    times = np.arange(7).astype("datetime64[m]").astype("datetime64[ns]")
    m = glucose_metrics(times, np.full(7, 120.0))
    assert m["tir_70_180"] == 100.0
    assert sum(m[k] for k in ("tbr_lt_54", "tbr_54_69", "tir_70_180", "tar_181_250", "tar_gt_250")) == 100.0


def test_rows_without_a_patient_id_are_ignored_with_a_note() -> None:
    data = b"id,time,gl\n1,2026-01-05 00:00,100\n,2026-01-05 00:05,101\n1,2026-01-05 00:10,102\n"
    record = read_cgm(data)
    assert record.n_readings == 2 and record.patients == ("1",)
    assert any("without a patient id" in n for n in record.notes)
    assert any("without a patient id" in n for n in read_research_table(data).attrs["notes"])
    with pytest.raises(CGMInputError, match="empty on every row"):
        read_cgm(b"id,time,gl\n,2026-01-05 00:00,100\n")


def test_make_grid_refuses_a_century_from_any_caller() -> None:
    from medai_core.glucose.prepare import make_grid

    times = np.array(["1926-01-05T00:00", "2026-01-05T00:00"], dtype="datetime64[ns]")
    with pytest.raises(CGMInputError, match="more than 731 days"):
        make_grid(times, np.array([100.0, 110.0]))
