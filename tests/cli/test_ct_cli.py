"""``predict ct`` and ``evaluate ct``: the JSON keys of CLI.md, the predictions CSV, exit code 2 on bad input."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file

from medai_core.cli import main
from medai_core.cli.ct import parse_center
from medai_core.ct.phantom import make_phantom, phantom_dicom_zip

LIDC = Path(__file__).resolve().parents[1] / "data" / "ct" / "lidc"

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


def test_predict_several_inputs_gives_a_list(capsys: pytest.CaptureFixture[str]) -> None:
    root = LIDC / "images" / "benign"
    nodule = next(p for p in sorted(root.glob("*/*")) if p.is_dir())
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


def test_evaluate_small_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "lidc"
    shutil.copytree(LIDC / "images", folder / "images")  # no radiomics.csv: no baselines
    predictions = tmp_path / "pred.csv"
    assert main(["evaluate", "ct", "--data", str(folder), "--json", "--predictions", str(predictions)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc) >= EVALUATE_KEYS
    assert 0 <= doc["auc"] <= 1 and doc["n"] == 6
    with open(predictions, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:6] == ["exam_id", "nodule_id", "label", "probability", "low", "high"]
    assert len(rows) == doc["n"]
    assert main(["evaluate", "ct", "--data", str(folder)]) == 0
    captured = capsys.readouterr()
    assert "baseline" not in captured.out and "exams: 2 in training" in captured.out
    assert "2 of 6 nodules come from exams the model was trained" in captured.err


@pytest.mark.full_data
def test_evaluate_full_lidc_folder_reports_roles(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from medai_core.models import read_card

    card = read_card(Path(__file__).resolve().parents[2] / "models" / "ct_nodule")
    folder = shared_data / "ct" / "lidc_nodules"
    assert main(["evaluate", "ct", "--data", str(folder), "--json", "--held-out-only"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["n_in_training"], doc["n_in_validation"], doc["n_in_test"], doc["n_new"]) == (313, 0, 82, 0)
    assert doc["n"] == card.training_data["held_out_test"]["nodules"] == 139
    assert doc["auc"] == pytest.approx(card.metrics["model"]["auc"], abs=1e-4)
    assert doc["baselines"]["diameter_only"]["auc"] == pytest.approx(card.metrics["baseline_diameter_only"]["auc"])


def test_evaluate_bad_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "ct", "--data", str(tmp_path)]) == 2
    assert "images/benign" in capsys.readouterr().err


def test_predict_json_carries_how_the_input_was_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a single slice image of a nodule crop: the notes say the pixel size was taken from the training crops
    root = LIDC / "images" / "benign"
    image = next(p for p in sorted(root.glob("*/*/*.png")))
    assert main(["predict", "ct", str(image), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert isinstance(doc["notes"], list) and doc["notes"]
    assert all(isinstance(n, str) for n in doc["notes"])
    assert str(tmp_path) not in json.dumps(doc["notes"]) and image.name not in json.dumps(doc["notes"])
