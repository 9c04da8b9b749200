"""``predict ct`` and ``evaluate ct``: the JSON keys of CLI.md, the predictions CSV, exit code 2 on bad input."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from medai_core.cli import main
from medai_core.ct.commands import parse_center
from medai_core.ct.phantom import make_phantom, phantom_dicom_zip

PREDICT_KEYS = {
    "input",
    "probability",
    "interval",
    "risk_band",
    "diameter_mm",
    "volume_mm3",
    "model_id",
    "model_version",
    "weights_sha256",
}
EVALUATE_KEYS = {"n", "auc", "sensitivity_at_90_specificity", "ece", "brier"}


def test_parse_center() -> None:
    seed = parse_center("12,34,5")
    assert seed is not None and (seed.col, seed.row, seed.slice_index) == (12, 34, 5)
    assert parse_center(None) is None


def test_predict_zip_and_dicom_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    phantom = make_phantom("solid", 12.0)
    series = tmp_path / "series.zip"
    series.write_bytes(phantom_dicom_zip(phantom))
    seed = phantom.seed
    code = main(["predict", "ct", str(series), "--center", f"{seed.col},{seed.row},{seed.slice_index}", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= PREDICT_KEYS
    assert doc["input"] == str(series)
    low, high = doc["interval"]
    assert 0 <= low <= doc["probability"] <= high <= 1
    assert doc["diameter_mm"] == pytest.approx(12.0, abs=3.0) and doc["volume_mm3"] > 0
    assert doc["risk_band"] in {"low", "intermediate", "high"}


def test_predict_several_inputs_gives_a_list(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = shared_data / "ct" / "lidc_nodules" / "images" / "benign"
    nodule = next(p for p in next(root.iterdir()).iterdir() if p.is_dir())
    assert main(["predict", "ct", str(nodule), str(nodule / "1.png"), "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert isinstance(docs, list) and len(docs) == 2
    assert all(set(d) >= PREDICT_KEYS and d["diameter_mm"] is None for d in docs)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--center", "1,x"], "--center must be"),
        ([], "give the nodule centre with --center"),
        (["--center", "500,500"], "outside the image"),
    ],
)
def test_predict_bad_input_exit_2(args: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    dicom = str(get_testdata_file("CT_small.dcm"))
    assert main(["predict", "ct", dicom, *args]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_predict_not_an_image_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert main(["predict", "ct", str(text), "--json"]) == 2
    captured = capsys.readouterr()
    assert "not an image" in captured.err and captured.out == ""


def test_evaluate_small_folder(shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = shared_data / "ct" / "lidc_nodules"
    for label in ("benign", "malignant"):
        exams = sorted((source / "images" / label).iterdir())[:6]
        for exam in exams:
            shutil.copytree(exam, tmp_path / "images" / label / exam.name)
    predictions = tmp_path / "pred.csv"
    assert main(["evaluate", "ct", "--data", str(tmp_path), "--json", "--predictions", str(predictions)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= EVALUATE_KEYS
    assert 0 <= doc["auc"] <= 1 and doc["n"] >= 12
    with open(predictions, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["exam_id", "nodule_id", "label", "probability", "low", "high"]
    assert len(rows) == doc["n"]
    assert main(["evaluate", "ct", "--data", str(tmp_path)]) == 0
    assert "baseline" not in capsys.readouterr().out  # no radiomics.csv copied: no baselines


def test_evaluate_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "ct", "--data", str(tmp_path)]) == 2
    assert "images/benign" in capsys.readouterr().err
