"""The LIDC nodule data set as the CT model sees it: reading a labelled folder, the seeded exam split, and the
provenance manifest. Shared by training (:mod:`medai_core.ct.train`) and evaluation (``evaluate ct``), and free of
any training code, so evaluation never imports the training module.

Folder layout: ``images/{benign,malignant}/<exam_id>/<nodule_id>/<k>.png`` (64 x 64 masked crops in the lung
window), optionally ``radiomics.csv`` (one row per ``exam_id, nodule_id``; used only for the baselines).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from medai_core.ct.prepare import CROP_SIZE
from medai_core.ct.readers import read_slice_folder
from medai_core.errors import ImageInputError
from medai_core.provenance import ProvenanceManifest

__all__ = [
    "DATASET",
    "DATASET_NAME",
    "NoduleSet",
    "RADIOMICS_EXCLUDED",
    "SPLIT_SEED",
    "SPLIT_TEXT",
    "baseline_probability",
    "held_out_split",
    "listing_fingerprint",
    "load_nodules",
    "provenance_manifest",
    "radiomics_table",
]

DATASET_NAME = "lidc_nodules"
"""The data set's name in provenance manifests (ids are qualified with it)."""

DATASET: dict[str, str] = {
    "name": DATASET_NAME,
    "version": "MaximoDouglas/pulmonary-nodule-classification crops: 699 nodules in 395 exams, listing sha256 "
    "391cac25504f656b",
    "source": "LIDC-IDRI (The Cancer Imaging Archive) via the nodule crops of "
    "MaximoDouglas/pulmonary-nodule-classification",
    "licence": "CC BY 3.0",
    "citation": "Armato SG III et al. Med Phys 2011;38(2):915-931.",
}
"""The data set entry of the CT card's manifest. The version names the crop release and a fingerprint of its
listing (:func:`listing_fingerprint`: sorted ``label/exam/nodule`` paths), so a changed folder is detectable."""

SPLIT_SEED = 20240601
"""Seed of the exam-grouped splits (the held-out fold and the ensemble's inner folds use ``SPLIT_SEED + 1``)."""

SPLIT_TEXT = (
    "by exam_id: the first fold of StratifiedGroupKFold(5, shuffle=True, random_state=20240601) over exams, "
    "stratified by nodule label, is the held-out test (used for nothing but the card's numbers). Every development "
    "exam trained four of the five CNN members (inner grouped 5-fold split, random_state=20240602) and its "
    "out-of-fold logits fitted the stacker/calibrator and chose it, the risk thresholds and the reference "
    "histograms; no exam was used for selection alone, so all development exams are train and validation is empty."
)
"""The manifest's ``split`` sentence for the shipped CT model."""

RADIOMICS_EXCLUDED = ("exam_id", "nodule_id", "malignancy", "class")


@dataclass(frozen=True)
class NoduleSet:
    """Nodules of a folder with the LIDC layout ``images/{benign,malignant}/<exam_id>/<nodule_id>/<k>.png``.

    Attributes:
        volumes: N uint8 crops (D_i, 64, 64), 0 outside the nodule mask.
        labels: (N,) 1 = malignant, 0 = benign.
        exam_ids: (N,) exam identifiers (the grouping unit).
        nodule_ids: (N,) nodule identifiers within their exam.
    """

    volumes: tuple[NDArray[np.uint8], ...]
    labels: NDArray[np.int64]
    exam_ids: NDArray[np.str_]
    nodule_ids: NDArray[np.str_]

    def subset(self, index: NDArray[np.int64]) -> NoduleSet:
        """The nodules at ``index``."""
        return NoduleSet(
            tuple(self.volumes[i] for i in index), self.labels[index], self.exam_ids[index], self.nodule_ids[index]
        )


def _nodule_folders(data_dir: Path) -> list[tuple[int, str, str, Path]]:
    """``(label, exam_id, nodule_id, folder)`` of every nodule, benign first, each sorted by name.

    Raises:
        ImageInputError: no ``images/benign`` or ``images/malignant`` folder, or no nodules.
    """
    root = Path(data_dir) / "images"
    if not (root / "benign").is_dir() and not (root / "malignant").is_dir():
        raise ImageInputError(
            f"{data_dir} has no images/benign or images/malignant folder. Expected the layout "
            "images/{benign,malignant}/<exam_id>/<nodule_id>/<k>.png"
        )
    found = []
    for label, name in ((0, "benign"), (1, "malignant")):
        folder = root / name
        if not folder.is_dir():
            continue
        for exam in sorted(p for p in folder.iterdir() if p.is_dir()):
            for nodule in sorted(p for p in exam.iterdir() if p.is_dir()):
                found.append((label, exam.name, nodule.name, nodule))
    if not found:
        raise ImageInputError(f"{data_dir}: no nodule folders under images/benign or images/malignant")
    return found


def listing_fingerprint(data_dir: Path) -> str:
    """First 16 hex digits of the sha256 of the sorted ``label/exam_id/nodule_id`` lines of a folder."""
    lines = sorted(f"{label}/{exam}/{nodule}" for label, exam, nodule, _ in _nodule_folders(data_dir))
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()[:16]


def load_nodules(data_dir: Path) -> NoduleSet:
    """Read every nodule under ``data_dir/images``.

    Raises:
        ImageInputError: no ``images/benign`` or ``images/malignant`` folder, no nodules, or crops not 64 x 64.
    """
    volumes, labels, exams, nodules = [], [], [], []
    for label, exam, nodule, folder in _nodule_folders(data_dir):
        volume = read_slice_folder(folder)
        if volume.shape[1:] != (CROP_SIZE, CROP_SIZE):
            raise ImageInputError(
                f"{exam}/{nodule}: crops must be {CROP_SIZE} x {CROP_SIZE} pixels, got "
                f"{volume.shape[2]} x {volume.shape[1]}"
            )
        volumes.append(volume)
        labels.append(label)
        exams.append(exam)
        nodules.append(nodule)
    return NoduleSet(tuple(volumes), np.array(labels, dtype=np.int64), np.array(exams), np.array(nodules))


def held_out_split(labels: NDArray[Any], exam_ids: NDArray[Any]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The seeded exam-grouped split of the shipped model: (development indices, held-out test indices).

    Args:
        labels: (N,) nodule labels, in :func:`load_nodules` order.
        exam_ids: (N,) exam ids, same order.

    Returns:
        two index arrays into the N nodules; no exam is in both.
    """
    from sklearn.model_selection import StratifiedGroupKFold

    outer = StratifiedGroupKFold(5, shuffle=True, random_state=SPLIT_SEED)
    dev_idx, test_idx = next(outer.split(np.zeros(len(labels)), labels, exam_ids))
    return np.asarray(dev_idx, dtype=np.int64), np.asarray(test_idx, dtype=np.int64)


def provenance_manifest(train_exams: Iterable[str], test_exams: Iterable[str]) -> ProvenanceManifest:
    """The CT card's manifest: development exams as ``train``, held-out exams as ``test``, ``validation`` empty.

    Raises:
        ModelCardError: an exam in both lists.
    """
    return ProvenanceManifest.build(
        id_kind="exam",
        datasets=[DATASET],
        members={
            "train": [(DATASET_NAME, e) for e in train_exams],
            "validation": [],
            "test": [(DATASET_NAME, e) for e in test_exams],
        },
        split=SPLIT_TEXT,
    )


def radiomics_table(data_dir: Path, data: NoduleSet) -> tuple[NDArray[np.float64], list[str]] | None:
    """radiomics.csv rows of ``data``'s nodules (baselines only; never a model input), or None when absent.

    Returns None also where the CSV lacks a row for one of the nodules (baselines are then not reported).
    """
    import pandas as pd

    path = Path(data_dir) / "radiomics.csv"
    if not path.is_file():
        return None
    table = pd.read_csv(path).set_index(["exam_id", "nodule_id"])
    columns = [c for c in table.columns if c not in RADIOMICS_EXCLUDED]
    keys = list(zip(data.exam_ids, data.nodule_ids, strict=True))
    if not all(key in table.index for key in keys):
        return None
    return table.loc[keys, columns].to_numpy(dtype=np.float64), columns  # type: ignore[index]


def baseline_probability(artifact: dict[str, Any], x: NDArray[Any]) -> NDArray[np.float64]:
    """Probabilities of a stored logistic baseline on the raw columns ``artifact["columns"]``.

    Args:
        artifact: ``columns``, ``mean``, ``scale``, ``coef``, ``intercept`` as stored in the card.
        x: (N, len(columns)) raw feature values.
    """
    z = ((x - np.asarray(artifact["mean"])) / np.asarray(artifact["scale"])) @ np.asarray(artifact["coef"])
    return np.asarray(expit(z + artifact["intercept"]), dtype=np.float64)


def rebuild_card_manifest(data_dir: Path, model_dir: Path) -> ProvenanceManifest:
    """Rebuild the provenance manifest of a trained CT card from the same seeded split, without retraining.

    The split is recomputed from the folder listing (labels and exam ids; no image is read) and must give
    exactly the card's ``held_out_exam_ids``; the weights file must still match the card's sha256. The card is
    then written back with the manifest; nothing else changes.

    Args:
        data_dir: the LIDC nodule folder the model was trained on.
        model_dir: ``models/ct_nodule``.

    Raises:
        ModelCardError: the recomputed held-out exams differ from the card's (another folder or split).
        ModelIntegrityError: the weights no longer match the card's sha256.
    """
    from dataclasses import replace

    from medai_core.errors import ModelCardError, ModelIntegrityError
    from medai_core.models.card import read_card, write_card
    from medai_core.reports import sha256_bytes

    card = read_card(Path(model_dir))
    weights = Path(model_dir) / card.weights_file
    if sha256_bytes(weights.read_bytes()) != card.weights_sha256:
        raise ModelIntegrityError(f"{weights.name}: sha256 differs from the card's; not touching the card")
    found = _nodule_folders(data_dir)
    labels = np.array([label for label, _, _, _ in found])
    exams = np.array([exam for _, exam, _, _ in found])
    dev_idx, test_idx = held_out_split(labels, exams)
    test_exams = sorted(set(exams[test_idx].tolist()))
    if test_exams != list(card.artifacts.get("held_out_exam_ids", [])):
        raise ModelCardError(
            f"the recomputed held-out exams ({len(test_exams)}) differ from the card's; this is not the folder or "
            "the split the model was trained on"
        )
    manifest = provenance_manifest(sorted(set(exams[dev_idx].tolist())), test_exams)
    write_card(replace(card, provenance=manifest.to_dict()), Path(model_dir))
    return manifest
