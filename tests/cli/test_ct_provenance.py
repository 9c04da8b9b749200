"""The CT card's provenance manifest and ``evaluate ct`` by role: training, validation, held-out test, new.

Fixture: six LIDC crops in ``tests/data/ct/lidc`` (two exams from the shipped model's training split, four from its
held-out test split). Regression (issue 9): a folder of exams the model never saw used to be reported as coming
"from exams the model was developed on"; now such exams are new.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from medai_core.cli import main
from medai_core.ct.data import (
    DATASET_NAME,
    SPLIT_TEXT,
    held_out_split,
    listing_fingerprint,
    load_nodules,
    provenance_manifest,
    rebuild_card_manifest,
)
from medai_core.errors import ModelCardError
from medai_core.models import read_card
from medai_core.provenance import qualified_hash

REPO = Path(__file__).resolve().parents[2]
LIDC = REPO / "tests" / "data" / "ct" / "lidc"
CARD_DIR = REPO / "models" / "ct_nodule"


@pytest.fixture(scope="module")
def card():
    return read_card(CARD_DIR)


def _evaluate(capsys: pytest.CaptureFixture[str], folder: Path, *extra: str) -> dict:
    assert main(["evaluate", "ct", "--data", str(folder), "--json", *extra]) == 0
    return json.loads(capsys.readouterr().out)


def test_card_manifest_matches_the_held_out_exams(card) -> None:
    manifest = card.manifest
    assert manifest.id_kind == "exam" and manifest.dataset_names == (DATASET_NAME,)
    assert manifest.datasets[0]["version"] and "train" in manifest.split and "validation is empty" in manifest.split
    held_out = card.artifacts["held_out_exam_ids"]
    assert set(manifest.roles(DATASET_NAME, held_out)) == {"test"}
    assert len(manifest.membership["test"]) == len(held_out) == card.training_data["held_out_test"]["exams"]
    assert len(manifest.membership["train"]) == card.training_data["development"]["exams"]
    assert manifest.membership["validation"] == ()
    # ids are dataset-qualified hashes: the same exam id of another data set is not in the manifest
    assert manifest.role("another_dataset", held_out[0]) is None
    assert qualified_hash(DATASET_NAME, held_out[0]) in manifest.membership["test"]


def test_fixture_exams_have_both_roles(card) -> None:
    data = load_nodules(LIDC)
    roles = card.manifest.roles(DATASET_NAME, data.exam_ids.tolist())
    assert roles.count("train") == 2 and roles.count("test") == 4


def test_manifest_builder_rejects_an_exam_in_two_roles() -> None:
    with pytest.raises(ModelCardError, match="both"):
        provenance_manifest(["a", "b"], ["b"])
    assert provenance_manifest(["a"], ["b"]).split == SPLIT_TEXT


def test_evaluate_reports_roles_and_held_out_metrics_apart(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _evaluate(capsys, LIDC, "--predictions", str(tmp_path / "p.csv"))
    assert (doc["n_in_training"], doc["n_in_validation"], doc["n_in_test"], doc["n_new"]) == (2, 0, 4, 0)
    assert doc["n"] == 6 and doc["n_training_exam_nodules"] == 2 and doc["held_out_only"] is False
    assert doc["held_out"]["n"] == 4 and len(doc["held_out"]["auc_ci95_by_exam"]) == 2
    assert set(doc["baselines"]) == {"diameter_only", "radiomics_csv"}  # radiomics.csv rows ship with the fixture
    roles = sorted(line.rsplit(",", 1)[1] for line in (tmp_path / "p.csv").read_text().splitlines()[1:])
    assert roles == ["test"] * 4 + ["train"] * 2


def test_held_out_only_keeps_exams_never_used(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = _evaluate(capsys, LIDC, "--held-out-only", "--predictions", str(tmp_path / "p.csv"))
    assert doc["n"] == 4 and doc["held_out_only"] is True and doc["held_out"]["n"] == 4
    assert doc["n_in_training"] == 2  # the folder's counts are still reported
    assert {line.rsplit(",", 1)[1] for line in (tmp_path / "p.csv").read_text().splitlines()[1:]} == {"test"}


def test_renamed_exams_are_new(tmp_path: Path, capsys: pytest.CaptureFixture[str], card) -> None:
    folder = tmp_path / "unseen"
    for k, nodule in enumerate(sorted(p for p in (LIDC / "images").glob("*/*/*") if p.is_dir())):
        label = nodule.parent.parent.name
        shutil.copytree(nodule, folder / "images" / label / f"external-{k:02d}" / nodule.name)
    doc = _evaluate(capsys, folder)
    assert (doc["n_in_training"], doc["n_in_validation"], doc["n_in_test"], doc["n_new"]) == (0, 0, 0, 6)
    assert doc["n_training_exam_nodules"] == 0 and doc["held_out"]["n"] == 6
    assert "baselines" not in doc  # no radiomics rows for these exams
    assert main(["evaluate", "ct", "--data", str(folder)]) == 0
    captured = capsys.readouterr()
    assert "6 new" in captured.out and "developed on" not in captured.err and "trained" not in captured.err


def test_held_out_only_on_training_exams_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str], card) -> None:
    folder = tmp_path / "train_only"
    data = load_nodules(LIDC)
    train_exams = {e for e in data.exam_ids.tolist() if card.manifest.role(DATASET_NAME, e) == "train"}
    for nodule in (LIDC / "images").glob("*/*/*"):
        if nodule.parent.name in train_exams:
            shutil.copytree(nodule, folder / "images" / nodule.parent.parent.name / nodule.parent.name / nodule.name)
    assert main(["evaluate", "ct", "--data", str(folder), "--held-out-only", "--json"]) == 2
    assert "none of its 2 exams is held out" in capsys.readouterr().err


def test_commands_never_import_training() -> None:
    readers = [f"ct/readers/{p.name}" for p in sorted((REPO / "medai_core" / "ct" / "readers").glob("*.py"))]
    for module in ("cli/ct.py", "ct/evaluation.py", "ct/data.py", "ct/analysis.py", *readers):
        tree = ast.parse((REPO / "medai_core" / module).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert "medai_core.ct.train" not in imported, module
    code = (
        "import sys; from medai_core.cli import main; "
        f"main(['evaluate', 'ct', '--data', {str(LIDC)!r}, '--json']); "
        "print('TRAIN_LOADED' if 'medai_core.ct.train' in sys.modules else 'TRAIN_NOT_LOADED')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=600)
    assert "TRAIN_NOT_LOADED" in out.stdout, out.stderr[-2000:]


@pytest.mark.full_data
def test_split_reproduces_the_cards_held_out_exams(shared_data: Path, card, tmp_path: Path) -> None:
    folder = shared_data / "ct" / "lidc_nodules"
    assert listing_fingerprint(folder) in card.manifest.datasets[0]["version"]
    data = load_nodules(folder)
    dev_idx, test_idx = held_out_split(data.labels, data.exam_ids)
    assert sorted(set(data.exam_ids[test_idx].tolist())) == card.artifacts["held_out_exam_ids"]
    assert not set(data.exam_ids[dev_idx].tolist()) & set(data.exam_ids[test_idx].tolist())
    # rebuilding the manifest on a copy of the model folder gives the shipped one, weights untouched
    copy = tmp_path / "ct_nodule"
    shutil.copytree(CARD_DIR, copy)
    rebuilt = rebuild_card_manifest(folder, copy)
    assert rebuilt.to_dict() == card.manifest.to_dict()
    assert read_card(copy).weights_sha256 == card.weights_sha256


def test_training_writes_the_manifest_into_the_card(card) -> None:
    """train_ct passes provenance_manifest(...) to build_card; the card it builds carries a valid manifest."""
    from medai_core.ct.card import build_card

    manifest = provenance_manifest(["dev-1", "dev-2"], ["test-1"])
    built = build_card(
        metrics=card.metrics,
        calibration=card.calibration,
        artifacts=card.artifacts,
        n_train=(2, 2),
        n_test=(1, 1),
        created="2026-11-30",
        version="0.0.0",
        provenance=manifest.to_dict(),
    )
    assert built.manifest.role(DATASET_NAME, "dev-2") == "train"
    assert built.manifest.role(DATASET_NAME, "test-1") == "test"
    assert built.manifest.role(DATASET_NAME, "elsewhere") is None
    source = (REPO / "medai_core" / "ct" / "train.py").read_text()
    assert "provenance=provenance_manifest(" in source
