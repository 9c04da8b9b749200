"""The glucose page: simulated demo, vendor uploads, unit switch, patient picker, error path, audit row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from medai_core.audit import AuditLog
from tests.app.headlines import headlines

REPO = Path(__file__).resolve().parents[2]
PAGE = "pages/glucose.py"
TIR = "Time in range 70-180 mg/dL"


def _page() -> AppTest:
    at = AppTest.from_file(str(REPO / "app.py"), default_timeout=180)
    at.run()
    at.switch_page(PAGE)
    at.run()
    return at


def _metrics(at: AppTest) -> dict[str, str]:
    return headlines(at)


def _badges(at: AppTest) -> list[Any]:
    """Markdown elements that carry a status badge (its word and colour in the project's markup)."""
    return [m for m in at.markdown if "medai-status" in m.value]


def test_demo_then_unit_switch() -> None:
    at = _page()
    assert not at.exception, [e.value for e in at.exception]
    assert any("Simulated" in i.value for i in at.info)
    metrics = _metrics(at)
    assert metrics["Source"] == "simulated"
    assert metrics["In 30 min"].endswith(" mg/dL") and metrics["GMI"].endswith(" %")
    hypo = [value for label, value in metrics.items() if label.startswith("Hypoglycaemia risk")]
    assert hypo and all(value.split(" | ")[1] in {"Low", "Raised", "High"} for value in hypo)  # words, not emoji
    assert metrics[TIR].split(" | ")[1] in {"Met", "Not met"}
    assert any("What this means:" in m.value for m in at.markdown)
    active = [m.value for m in _badges(at) if "CGM active" in m.value]
    assert active and all(">Met</span>" in m for m in active)  # the check's word on its badge
    assert len(at.get("plotly_chart")) >= 6  # TIR, AGP, daily, trace, fan, Clarke, attributions
    assert len(at.get("download_button")) == 3
    # the 14-day demo is long enough to adapt: the decision and its before/after backtest are shown
    assert any(s.value == "Adapted to this patient?" for s in at.subheader)
    decision = [m.value for m in at.markdown if "medai-status" in m.value and "dapted" in m.value]
    assert len(decision) == 1 and "backtest error" in decision[0]
    assert any("backtest RMSE mean 5-60 (mg/dL)" in df.value.columns for df in at.dataframe)
    at.session_state["glucose_unit"] = "mmol/L"
    at.run()
    assert not at.exception
    metrics = _metrics(at)
    assert metrics["In 30 min"].endswith(" mmol/L")
    assert float(metrics["In 30 min"].split()[0]) < 15.0  # converted, not mg/dL
    assert any(label.endswith("< 3.9 in 30 min") for label in metrics)
    rows = AuditLog().rows()
    assert len(rows) == 1 and rows[0].page == "glucose"  # same analysis in another unit: one audit row


FIXTURES = REPO / "tests" / "data" / "glucose"


def test_upload_dexcom_mmol_fixture() -> None:
    at = _page()
    data = (FIXTURES / "dexcom_clarity_g6_mmol.csv").read_bytes()
    at.file_uploader(key="glucose.upload").set_value(("clarity.csv", data, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = _metrics(at)
    assert metrics["Source"] == "dexcom clarity"
    assert metrics["Readings"] == "864"
    assert any("14 days" in m.value and ">Not met</span>" in m.value for m in _badges(at))  # 3 days: said, not hidden
    assert any("mmol/L" in str(c.value) for c in at.caption)


def test_time_zone_choice_moves_the_clock() -> None:
    at = _page()
    rows = ["timestamp,glucose_mmol_l"] + [
        f"2026-01-05T{h:02d}:{m:02d}:00Z,6.{h % 10}" for h in range(6) for m in range(0, 60, 5)
    ]
    data = ("\n".join(rows) + "\n").encode()
    at.file_uploader(key="glucose.upload").set_value(("utc.csv", data, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("2026-01-05T00:00:00 to" in str(c.value) for c in at.caption)
    at.selectbox(key="glucose.timezone").set_value("Asia/Tokyo").run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("2026-01-05T09:00:00 to" in str(c.value) for c in at.caption)


@pytest.mark.full_data
def test_upload_dexcom_fixture(shared_data: Path) -> None:
    at = _page()
    data = (shared_data / "cgm/vendor_exports/dexcom_clarity_g7_export.csv").read_bytes()
    at.file_uploader(key="glucose.upload").set_value(("clarity.csv", data, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    metrics = _metrics(at)
    assert metrics["Source"] == "dexcom clarity"
    assert metrics["Readings"] == "2,772"
    assert metrics[TIR].startswith("99.8 %")
    assert any("14 days" in m.value and ">Not met</span>" in m.value for m in _badges(at))  # 9.8 days: said, not hidden


def test_multi_patient_table_has_picker() -> None:
    at = _page()
    data = (FIXTURES / "research_id_time_gl.csv").read_bytes()
    at.file_uploader(key="glucose.upload").set_value(("table.csv", data, "text/csv")).run()
    assert not at.exception
    picker = next(s for s in at.selectbox if s.label == "Patient in this file")
    assert len(picker.options) == 3
    first = _metrics(at)["Readings"]
    picker.set_value(picker.options[1]).run()
    assert not at.exception
    assert _metrics(at)["Readings"] != first


def test_bad_upload_shows_error() -> None:
    at = _page()
    at.file_uploader(key="glucose.upload").set_value(
        ("hr.csv", b"time,heart_rate\n2024-01-01 00:00,60\n", "text/csv")
    ).run()
    assert not at.exception
    assert any("no glucose column" in e.value for e in at.error)
    assert not at.get("plotly_chart")


def test_short_upload_shows_what_it_can() -> None:
    rows = "".join(
        f"2024-03-01 {h:02d}:{m:02d},{120 + (h * 12 + m // 5) % 30}\n" for h in range(8) for m in range(0, 60, 5)
    )
    at = _page()
    at.file_uploader(key="glucose.upload").set_value(("short.csv", f"time,glucose\n{rows}".encode(), "text/csv")).run()
    assert not at.exception
    assert any("need at least 24 h" in m.value and ">Not met</span>" in m.value for m in _badges(at))
    assert "In 30 min" in _metrics(at)  # 8 hours are enough for a forecast
    decision = [m.value for m in at.markdown if "medai-status" in m.value and "needs at least 7 days" in m.value]
    assert decision and ">Note</span>" in decision[0]  # too short to adapt, and it says so in words
