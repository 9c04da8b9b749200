"""The strict cohort loader (same reader and TMB function as one panel), provenance and layering."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from medai_core.errors import PanelInputError
from medai_core.genomics.panels import resolve_panel
from medai_core.genomics.prepare import OS_STATUS, load_cohort, parse_os_status
from medai_core.genomics.readers import read_panel
from medai_core.genomics.tmb import compute_tmb

REPO = Path(__file__).resolve().parents[2]
COHORT = REPO / "tests" / "data" / "genes" / "cohort_so_terms"


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "cohort"
    shutil.copytree(COHORT, folder)
    return folder


def _edit_clinical(folder: Path, row: int, column: str, value: str) -> None:
    lines = (folder / "clinical.tsv").read_text().splitlines()
    header = lines[0].split("\t")
    fields = lines[row].split("\t")
    fields[header.index(column)] = value
    lines[row] = "\t".join(fields)
    (folder / "clinical.tsv").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize(
    ("text", "event"),
    [("1:DECEASED", 1.0), ("DECEASED", 1.0), ("1", 1.0), ("0:LIVING", 0.0), ("LIVING", 0.0), ("0", 0.0),
     ("deceased", 1.0), ("", None)],
)  # fmt: skip
def test_every_cbioportal_status_spelling(text: str, event: float | None) -> None:
    assert parse_os_status(text, "S1") == event
    assert len(OS_STATUS) >= 6


def test_unknown_status_names_the_sample() -> None:
    with pytest.raises(PanelInputError, match=r"sample S9.*DEAD-ISH"):
        parse_os_status("DEAD-ISH", "S9")


def test_cohort_with_so_terms_wes_and_sizes(tmp_path: Path) -> None:
    cohort = load_cohort(COHORT)
    assert len(cohort) == 46 and cohort.left_out == (("no overall survival time", 2),)
    assert set(cohort.panel.tolist()) == {"IMPACT468", "IMPACT410", "WES", "1.2"}
    assert set(np.unique(cohort.event).tolist()) == {0.0, 1.0}
    assert (cohort.event == 1).sum() == sum(1 for i in range(48) if i % 6 < 3 and i not in (5, 17))
    assert cohort.tmb.max() > 0 and len(set(cohort.tmb.round(3).tolist())) > 10
    # TMB is the single-panel function applied to the single-panel reader's calls
    calls = read_panel((COHORT / "mutations.maf").read_bytes(), name="mutations.maf").variants
    first = str(cohort.sample_ids[1])
    expected = compute_tmb([v for v in calls if v.sample == first], resolve_panel(str(cohort.panel[1])), cancer_type="")
    assert cohort.tmb[1] == pytest.approx(expected.tmb_per_mb)
    assert any("protein_protein_contact" in n for n in cohort.notes)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("Gene Panel", "IMPACT999", "sample SYN-P003-T01.*Unknown panel"),
        ("Gene Panel", "", "sample SYN-P003-T01.*Gene Panel is empty"),
        ("Overall Survival Status", "ALIVE?", "sample SYN-P003-T01"),
        ("Overall Survival (Months)", "-4", "negative"),
        ("Overall Survival (Months)", "soon", "not a number"),
    ],
)
def test_strict_loader_errors_name_the_sample(tmp_path: Path, column: str, value: str, message: str) -> None:
    folder = _copy(tmp_path)
    _edit_clinical(folder, 4, column, value)
    with pytest.raises(PanelInputError, match=message):
        load_cohort(folder)


def test_missing_status_or_drug_is_left_out_and_counted(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit_clinical(folder, 4, "Overall Survival Status", "")
    _edit_clinical(folder, 5, "Drug Type", "")
    left = dict(load_cohort(folder).left_out)
    assert left == {"no overall survival time": 2, "no overall survival status": 1, "no drug type": 1}


def test_cohort_maf_without_sample_ids_is_refused(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    lines = (folder / "mutations.maf").read_text().splitlines()
    (folder / "mutations.maf").write_text("\n".join(["\t".join(x.split("\t")[:1] + x.split("\t")[2:]) for x in lines]))
    with pytest.raises(PanelInputError, match="Tumor_Sample_Barcode"):
        load_cohort(folder)


def test_missing_files(tmp_path: Path) -> None:
    with pytest.raises(PanelInputError, match=r"clinical\.tsv"):
        load_cohort(tmp_path)


def test_inference_does_not_import_training() -> None:
    for module in ("analysis.py", "evaluation.py", "report.py", "prepare.py", "survival.py"):
        tree = ast.parse((REPO / "medai_core" / "genomics" / module).read_text())
        imported = {
            node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module is not None
        }
        assert "medai_core.genomics.train" not in imported, module


def test_card_manifest_is_valid_and_counts_roles() -> None:
    from medai_core.models.card import read_card

    manifest = read_card(REPO / "models" / "gene_ici_survival").manifest
    assert manifest.id_kind == "sample" and manifest.dataset_names == ("samstein2019",)
    sizes = {role: len(hashes) for role, hashes in manifest.membership.items()}
    assert sizes == {"train": 563, "validation": 100, "test": 221}
    assert manifest.count("samstein2019", ["not-a-sample"]).n_new == 1


@pytest.mark.full_data
def test_card_manifest_is_rebuilt_from_the_seeded_split(shared_data: Path) -> None:
    import hashlib

    from medai_core.genomics.evaluation import rebuild_provenance

    card = json.loads((REPO / "models" / "gene_ici_survival" / "model_card.json").read_text())
    assert rebuild_provenance(shared_data / "genes" / "samstein2019", card) == card["provenance"]
    weights = (REPO / "models" / "gene_ici_survival" / "model.keras").read_bytes()
    assert hashlib.sha256(weights).hexdigest() == card["weights_sha256"]


def test_training_writes_a_manifest_from_its_split() -> None:
    from medai_core.genomics.evaluation import DATASET, provenance_manifest

    cohort = load_cohort(COHORT)
    split = (np.arange(0, 30), np.arange(30, 36), np.arange(36, 46))
    manifest = provenance_manifest(cohort, split, seed=3)
    counts = manifest.count(DATASET, cohort.sample_ids.tolist())
    assert (counts.n_in_training, counts.n_in_validation, counts.n_in_test) == tuple(len(i) for i in split)
    assert counts.n_new == 0 and counts.n_in_training + counts.n_in_validation + counts.n_in_test == len(cohort)
    assert manifest.count("another_dataset", cohort.sample_ids.tolist()).n_new == len(cohort)
    source = (REPO / "medai_core" / "genomics" / "train.py").read_text()
    assert "provenance_manifest(cohort, (train_idx, val_idx, test_idx)" in source
    assert "provenance=manifest.to_dict()" in source
