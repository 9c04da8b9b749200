"""Reports carry provenance in every form (HTML, PDF, JSON)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from medai_core.config import APP_VERSION
from medai_core.models import ModelCard
from medai_core.models.testing import tiny_card_dict
from medai_core.reports import (
    RESEARCH_USE_NOTICE,
    CaseReport,
    ReportSection,
    provenance_for,
    render_html,
    render_json,
    render_pdf,
    sha256_bytes,
)


@pytest.fixture
def report() -> CaseReport:
    card = ModelCard.from_dict({**tiny_card_dict(), "weights_sha256": "ab" * 32})
    prov = provenance_for(card, b"uploaded bytes", timestamp=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    return CaseReport(
        title="Test analysis",
        page="test",
        provenance=prov,
        summary="Probability 0.42 (interval 0.30–0.55) ≥ threshold <script>",
        sections=(
            ReportSection("Result", rows=(("Probability", "0.42"),)),
            ReportSection("Table", table_header=("a", "b"), table_rows=(("1", "2"),), text="µ and ³"),
        ),
        caveats=("Not validated outside LIDC.",),
    )


def test_provenance_fields(report: CaseReport) -> None:
    prov = report.provenance
    assert prov.app_version == APP_VERSION
    assert (prov.model_id, prov.model_version) == ("tiny_test", "0.0.1")
    assert prov.weights_sha256 == "ab" * 32
    assert prov.input_sha256 == sha256_bytes(b"uploaded bytes")
    assert prov.timestamp == "2026-01-02T03:04:05+00:00"


def test_html_has_provenance_notice_and_escapes(report: CaseReport) -> None:
    page = render_html(report)
    for value in ("ab" * 32, sha256_bytes(b"uploaded bytes"), "tiny_test v0.0.1", APP_VERSION, "2026-01-02T03:04:05"):
        assert value in page
    assert RESEARCH_USE_NOTICE in page
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_pdf_is_a_pdf_with_provenance(report: CaseReport) -> None:
    import zlib

    pdf = render_pdf(report)
    assert pdf.startswith(b"%PDF")
    text = b""
    for chunk in pdf.split(b"stream")[1:]:
        body = chunk.split(b"endstream")[0].strip(b"\r\n")
        try:
            text += zlib.decompress(body)
        except zlib.error:
            continue
    assert b"abababab" in text and b"tiny_test" in text


def test_json_record(report: CaseReport) -> None:
    record = json.loads(render_json(report, {"probability": np.float32(0.42), "curve": np.arange(3)}))
    assert record["provenance"]["weights_sha256"] == "ab" * 32
    assert record["provenance"]["input_sha256"] == sha256_bytes(b"uploaded bytes")
    assert record["result"] == {"probability": pytest.approx(0.42), "curve": [0, 1, 2]}
    assert record["notice"] == RESEARCH_USE_NOTICE


def test_table_rows_must_match_header() -> None:
    with pytest.raises(ValueError, match="does not match"):
        ReportSection("bad", table_header=("a", "b"), table_rows=(("1",),))
