"""No patient id, name, sample name or file path reaches a note, a report, the audit row or the page title.

Each domain is run from bytes carrying distinctive identifiers (in the file name, the patient id column, the tumour
sample barcode, the DICOM header) through reader, analysis and report; the markers must not appear in the notes,
the rendered HTML and JSON reports, or the outputs written to the audit log.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydicom.data import get_testdata_file

from medai_core.audit import AuditLog
from medai_core.reports import render_html, render_json

FILE_PATH = "/home/dr_house/patients/Doe_Jane_1961-04-02"


def _assert_absent(text: str, markers: tuple[str, ...]) -> None:
    for marker in markers:
        assert marker.lower() not in text.lower(), marker


def test_glucose_report_notes_and_audit_hold_no_patient_id_or_file_name(tmp_path: Path) -> None:
    from medai_core.glucose.analysis import analyse
    from medai_core.glucose.readers import read_cgm
    from medai_core.glucose.report import audit_outputs, build_report
    from medai_core.models import load_model

    ids = ("MRN-884213", "MRN-0042")
    rows = ["id,time,gl"] + [
        f"{p},2026-01-05 {h:02d}:{m:02d}:00,{100 + h + (m // 5)}"
        for p in ids
        for h in range(8)
        for m in range(0, 60, 5)
    ]
    data = ("\n".join(rows) + "\n").encode()
    record = read_cgm(data, name=f"{FILE_PATH}/cgm.csv", patient="MRN-884213")
    model = load_model("glucose_forecast")
    result = analyse(record, model)
    report = build_report(result, model.card, data, "mg/dL")
    outputs = audit_outputs(result)
    log = AuditLog(tmp_path / "audit.sqlite")
    log.record("glucose", model.card.id, model.card.version, "0" * 64, outputs)
    texts = (
        " ".join(result.notes),
        render_html(report),
        render_json(report, {}),
        json.dumps(outputs),
        log.export("json"),
        report.title,
    )
    _assert_absent("\n".join(texts), ("MRN-884213", "MRN-0042", "dr_house", "Doe_Jane", "cgm.csv"))


def test_gene_report_notes_and_audit_hold_no_sample_name_or_file_name(tmp_path: Path) -> None:
    from medai_core.genomics.analysis import analyse_bytes
    from medai_core.genomics.demo import demo_maf
    from medai_core.genomics.evidence import load_evidence
    from medai_core.genomics.report import gene_report
    from medai_core.models import load_model

    data = demo_maf().replace(b"SYNTHETIC-DEMO-T01", b"SMITH-JOHN-T1")
    model = load_model("gene_ici_survival")
    result = analyse_bytes(
        data,
        f"{FILE_PATH}/panel.maf",
        model=model,
        tumour_type="Melanoma",
        panel="IMPACT410",
        evidence_base=load_evidence(tmp_path),
    )
    report = gene_report(result, model.card, data)
    texts = (
        " ".join(getattr(result, "notes", ())),
        render_html(report),
        render_json(report, {}),
        report.title,
    )
    _assert_absent("\n".join(texts), ("SMITH-JOHN", "dr_house", "Doe_Jane", "panel.maf"))


def test_ct_study_notes_and_metadata_hold_no_identifier() -> None:
    from medai_core.ct.readers import read_ct

    data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    study = read_ct(data, name=f"{FILE_PATH}/slice.dcm")
    text = " ".join(study.notes) + repr(dict(study.metadata))
    _assert_absent(text, ("CompressedSamples", "1CT1", "JFK IMAGING", "CT01_OC0", "dr_house", "Doe_Jane", "-0500"))


def test_app_page_title_is_fixed() -> None:
    app = (Path(__file__).resolve().parents[2] / "app.py").read_text()
    assert "page_title=APP_NAME" in app
