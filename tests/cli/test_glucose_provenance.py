"""The glucose card's provenance manifest and what ``evaluate glucose`` reports from it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from medai_core.cli import main
from medai_core.errors import ModelCardError
from medai_core.glucose.cohorts import DATASET, DATASETS, provenance_manifest, rebuild_provenance, split_patients
from medai_core.glucose.datasets import dataset_name
from medai_core.models import load_model
from medai_core.models.card import read_card
from medai_core.provenance import qualified_hash

MODEL_DIR = Path(__file__).resolve().parents[2] / "models" / "glucose_forecast"


def test_card_manifest_matches_the_recorded_split() -> None:
    card = load_model("glucose_forecast").card
    manifest = card.manifest
    assert manifest.id_kind == "patient" and manifest.dataset_names == tuple(DATASETS)
    assert all(d["version"] and d["citation"] for d in manifest.datasets)
    per = card.training_data["patients"]
    assert per[DATASET] == {"train": 116, "validation": 20, "test": 34}  # the 1.0.0 split, unchanged
    assert per["colas2019"] == {"train": 141, "validation": 25, "test": 42}
    assert per["hall2018"] == {"train": 39, "validation": 7, "test": 11}
    counts = {role: len(ids) for role, ids in manifest.membership.items()}
    assert counts == {role: sum(p[role] for p in per.values()) for role in ("train", "validation", "test")}
    for dataset, split in card.artifacts["split"]["by_dataset"].items():
        for pid in split["test_patient_ids"]:
            assert manifest.role(dataset, pid) == "test"
        for pid in split["validation_patient_ids"]:
            assert manifest.role(dataset, pid) == "validation"
    assert (
        card.artifacts["split"]["test_patient_ids"]
        == card.artifacts["split"]["by_dataset"][DATASET]["test_patient_ids"]
    )
    assert qualified_hash(DATASET, "1") in manifest.membership["test"]
    # the same local id in another data set is a different patient
    assert manifest.role("colas2019", "1") == "validation" and manifest.role("hall2018", "1") is None
    assert "1" not in json.dumps(card.provenance["membership"]).split('"')


def test_manifest_builder_is_deterministic() -> None:
    ids = [str(i) for i in range(1, 41)]
    train, val, test = split_patients(ids)
    a = provenance_manifest(train, val, test).to_dict()
    b = provenance_manifest(*split_patients(list(reversed(ids)))).to_dict()
    assert a == b
    assert len(a["membership"]["test"]) == 8 and len(a["membership"]["validation"]) == 5


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("weinstock2016.csv.gz", "weinstock2016"),
        ("Colas2019.CSV", "colas2019"),
        ("hall2018.tsv.bz2", "hall2018"),
        ("export", "export"),
    ],
)
def test_dataset_name_from_file(name: str, expected: str) -> None:
    assert dataset_name(Path(name)) == expected


def _table(ids: list[str], hours: int = 6) -> str:
    rng = np.random.default_rng(1)
    rows = ["id,time,gl"]
    for k, pid in enumerate(ids):
        times = pd.date_range("2026-01-05", periods=hours * 12, freq="5min")
        values = 130 + 40 * np.sin(np.arange(times.size) / (8 + k)) + rng.normal(0, 3, times.size)
        rows += [f"{pid},{t:%Y-%m-%d %H:%M:%S},{v:.0f}" for t, v in zip(times, values, strict=True)]
    return "\n".join(rows) + "\n"


def test_evaluate_qualifies_ids_by_data_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Patient "1" of a Weinstock file is a held-out test patient; patient "1" of Colas is new."""
    weinstock = tmp_path / "weinstock2016.csv"
    weinstock.write_text(_table(["1", "999999"]))
    assert main(["evaluate", "glucose", "--data", str(weinstock), "--held-out-only", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dataset"] == "weinstock2016" and doc["held_out_only"] is True
    assert (doc["n_in_training"], doc["n_in_validation"], doc["n_in_test"], doc["n_new"]) == (0, 0, 1, 1)
    assert doc["patients"] == 2 and doc["training_patients_in_scores"] == 0
    assert any("names no unit" in n for n in doc["notes"])

    colas = tmp_path / "colas2019.csv.gz"
    colas.write_bytes(__import__("gzip").compress(_table(["1", "5"]).encode()))
    assert main(["evaluate", "glucose", "--data", str(colas), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dataset"] == "colas2019"  # Colas "1" is a validation patient, "5" a test patient (not Weinstock's)
    assert (doc["n_in_training"], doc["n_in_validation"], doc["n_in_test"], doc["n_new"]) == (0, 1, 1, 0)
    hall = tmp_path / "hall2018.csv"
    hall.write_text(_table(["1", "5"]))  # Hall's ids look like 1636-69-001: these are new
    assert main(["evaluate", "glucose", "--data", str(hall), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_new"] == 2

    assert main(["evaluate", "glucose", "--data", str(colas), "--dataset", "Weinstock2016", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["dataset"] == "weinstock2016" and (doc["n_in_test"], doc["n_new"]) == (2, 0)  # "1" and "5" are


def test_evaluate_text_says_the_membership(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "weinstock2016.csv"
    data.write_text(_table(["1"]))
    assert main(["evaluate", "glucose", "--data", str(data)]) == 0
    assert "0 training, 0 validation, 1 held-out test and 0 new patient(s)" in capsys.readouterr().out


def test_rebuild_refuses_changed_weights(tmp_path: Path) -> None:
    copy = tmp_path / "glucose_forecast"
    shutil.copytree(MODEL_DIR, copy)
    (copy / "model.keras").write_bytes(b"not the weights")
    with pytest.raises(ModelCardError, match="weights differ"):
        rebuild_provenance(tmp_path / "unused.csv", copy)


@pytest.mark.full_data
def test_rebuild_reproduces_the_shipped_manifest(shared_data: Path, tmp_path: Path) -> None:
    copy = tmp_path / "glucose_forecast"
    shutil.copytree(MODEL_DIR, copy)
    manifest = rebuild_provenance(shared_data / "cgm/glucobench", copy)
    assert manifest.to_dict() == read_card(MODEL_DIR).provenance
    assert (copy / "model.keras").read_bytes() == (MODEL_DIR / "model.keras").read_bytes()


@pytest.mark.full_data
def test_evaluate_weinstock_counts(shared_data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = shared_data / "cgm/glucobench/weinstock2016.csv.gz"
    assert main(["evaluate", "glucose", "--data", str(path), "--held-out-only", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["n_in_training"], doc["n_in_validation"], doc["n_in_test"], doc["n_new"]) == (116, 20, 34, 0)
    assert doc["patients"] == 34 and doc["rmse_avg"] == pytest.approx(23.94, abs=0.01)


def test_card_compares_every_candidate_on_each_data_sets_test_patients() -> None:
    card = load_model("glucose_forecast").card
    chosen = card.artifacts["architecture"]
    for dataset in DATASETS:
        table = card.metrics["candidates_test"][dataset]
        assert {"last_value", "linear_regression", "mlp", "tcn", "mlp+tcn"} <= set(table)
        assert table[chosen]["rmse_avg"] == pytest.approx(card.metrics["dataset"][dataset]["model"]["rmse_avg"])
        # the shipped candidate beats linear regression on the test patients of every data set (CI below zero)
        assert table[chosen]["diff_high"] < 0.0
        assert all(row["patients"] == card.training_data["patients"][dataset]["test"] for row in table.values())
    assert card.headline.value < 24.0 and card.headline.value == round(card.metrics["model"]["rmse_avg"], 2)


@pytest.mark.full_data
@pytest.mark.parametrize("dataset", ["colas2019", "hall2018"])
def test_evaluate_other_cohorts_matches_the_card(
    dataset: str, shared_data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = shared_data / f"cgm/glucobench/{dataset}.csv.gz"
    assert main(["evaluate", "glucose", "--data", str(path), "--held-out-only", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    card = read_card(MODEL_DIR)
    assert doc["n_in_test"] == doc["patients"] == card.training_data["patients"][dataset]["test"]
    assert doc["rmse_avg"] == pytest.approx(card.metrics["dataset"][dataset]["model"]["rmse_avg"], abs=1e-3)
    assert doc["rmse_avg"] < doc["baselines"]["linear_regression"]["rmse_avg"]
