"""``python -m medai_core deidentify`` and ``audit verify|export``: outputs, JSON, exit codes."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file

from medai_core.audit import get_audit_log
from medai_core.cli import main
from medai_core.ct.readers import read_ct
from medai_core.deid_profile import profile_leaks

CT_SMALL = Path(get_testdata_file("CT_small.dcm"))
MR_SMALL = Path(get_testdata_file("MR_small.dcm"))


def test_deidentify_writes_clean_copies_named_by_new_uid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    named = tmp_path / "in" / "DOE_JANE_chest.dcm"
    named.parent.mkdir()
    shutil.copy(CT_SMALL, named)
    out = tmp_path / "out"
    assert main(["deidentify", str(named), "--out", str(out), "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert len(docs) == 1 and docs[0]["elements_after"] < docs[0]["elements_before"]
    written = Path(docs[0]["output"])
    assert written.parent == out and "DOE" not in written.name and written.name.startswith("2.25.")
    original = pydicom.dcmread(CT_SMALL)
    assert profile_leaks(pydicom.dcmread(written), frozenset({str(original.SOPInstanceUID)})) == []
    np.testing.assert_array_equal(
        read_ct(written.read_bytes(), name="x").hu, read_ct(CT_SMALL.read_bytes(), name="CT_small.dcm").hu
    )


def test_deidentify_recurses_into_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in" / "a" / "b").mkdir(parents=True)
    shutil.copy(CT_SMALL, tmp_path / "in" / "a" / "ct.dcm")
    shutil.copy(MR_SMALL, tmp_path / "in" / "a" / "b" / "mr.dcm")
    assert main(["deidentify", str(tmp_path / "in"), "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "2 file(s) de-identified" in text
    assert len(list((tmp_path / "out").glob("*.dcm"))) == 2


def test_unreadable_input_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "in").mkdir()
    shutil.copy(CT_SMALL, tmp_path / "in" / "ct.dcm")
    (tmp_path / "in" / "notes.txt").write_text("not DICOM")
    assert main(["deidentify", str(tmp_path / "in"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "notes.txt is not a DICOM file" in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()
    truncated = tmp_path / "cut.dcm"
    truncated.write_bytes(CT_SMALL.read_bytes()[:400])
    assert main(["deidentify", str(truncated), "--out", str(tmp_path / "out")]) == 2
    assert "truncated or incomplete" in capsys.readouterr().err
    assert main(["deidentify", str(tmp_path / "missing.dcm"), "--out", str(tmp_path / "out")]) == 2


def test_deidentify_requires_out(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["deidentify", str(CT_SMALL)])
    assert info.value.code == 2 and "--out" in capsys.readouterr().err


def _log_with_rows(n: int) -> Path:
    log = get_audit_log()
    for i in range(n):
        log.record("glucose", "m", "1", f"{i:064x}", {"tir": 70 + i})
    return log.path


def test_audit_verify_intact_then_tampered(capsys: pytest.CaptureFixture[str]) -> None:
    path = _log_with_rows(3)
    assert main(["audit", "verify", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is True and doc["rows"] == 3 and doc["anchored_rows"] == 3
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER analyses_no_delete")
        conn.execute("DELETE FROM analyses WHERE id = 3")
    assert main(["audit", "verify"]) == 1
    assert "TAMPERING FOUND" in capsys.readouterr().out
    assert main(["audit", "verify", "--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and "removed from the end" in doc["reason"]


def test_audit_export_json_and_csv(capsys: pytest.CaptureFixture[str]) -> None:
    _log_with_rows(2)
    assert main(["audit", "export"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert [d["outputs"]["tir"] for d in docs] == [70, 71]
    assert main(["audit", "export", "--csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 2 and rows[1]["page"] == "glucose"
    with pytest.raises(SystemExit) as info:
        main(["audit", "export", "--csv", "--json"])
    assert info.value.code == 2


def test_pixel_data_cut_short_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cut = tmp_path / "cut_pixels.dcm"
    cut.write_bytes(CT_SMALL.read_bytes()[:-1000])
    assert main(["deidentify", str(cut), "--out", str(tmp_path / "out")]) == 2
    assert "pixel data is cut short" in capsys.readouterr().err


def test_audit_verify_of_a_file_that_is_not_a_database_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "audit.sqlite"
    bad.write_bytes(b"this is not an SQLite database, it was replaced" * 100)
    monkeypatch.setenv("MEDAI_AUDIT_DB", str(bad))
    assert main(["audit", "verify"]) == 1
    assert "cannot be read" in capsys.readouterr().err
    assert main(["audit", "export", "--csv"]) == 1
