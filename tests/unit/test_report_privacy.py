"""No patient id, name, sample name or file path reaches a note, a report, the audit row or the page title.

Each domain is run from bytes carrying distinctive identifiers (in the file name, the patient id column, the tumour
sample barcode, the DICOM header) through reader, analysis and report; the markers must not appear in the notes,
the rendered HTML and JSON reports, or the outputs written to the audit log.
"""

from __future__ import annotations

from pathlib import Path

from pydicom.data import get_testdata_file

FILE_PATH = "/home/dr_house/patients/Doe_Jane_1961-04-02"


def _assert_absent(text: str, markers: tuple[str, ...]) -> None:
    for marker in markers:
        assert marker.lower() not in text.lower(), marker


def test_ct_study_notes_and_metadata_hold_no_identifier() -> None:
    from medai_core.ct.readers import read_ct

    data = Path(get_testdata_file("CT_small.dcm")).read_bytes()
    study = read_ct(data, name=f"{FILE_PATH}/slice.dcm")
    text = " ".join(study.notes) + repr(dict(study.metadata))
    _assert_absent(text, ("CompressedSamples", "1CT1", "JFK IMAGING", "CT01_OC0", "dr_house", "Doe_Jane", "-0500"))


def test_app_page_title_is_fixed() -> None:
    app = (Path(__file__).resolve().parents[2] / "app.py").read_text()
    assert "page_title=APP_NAME" in app
