"""The glucose training cohorts: the data sets training knows, their seeded patient splits, and the card's
provenance manifest (written at training time, or rebuilt from the same splits without retraining).

Patients (never readings) are split inside each data set with one fixed seed into training (~68 %), validation
(~12 %) and test (20 %); Weinstock's split is the one of the 1.0.0 card. Patient ids are qualified with their data
set in the manifest, so patient "1" of one data set is never patient "1" of another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from medai_core.glucose.prepare import Grid
from medai_core.glucose.readers import grids_by_patient, read_research_table
from medai_core.provenance import ProvenanceManifest

__all__ = [
    "DATASET",
    "DATASETS",
    "SEED",
    "SPLIT_SENTENCE",
    "Splits",
    "cohort_manifest",
    "dataset_of",
    "load_cohorts",
    "provenance_manifest",
    "rebuild_provenance",
    "split_patients",
]

SEED = 20240611
TEST_FRACTION = 0.20
VALIDATION_FRACTION = 0.15
DATASET = "weinstock2016"
"""The reference data set (its test patients carry the card's headline); ids are qualified with the data set."""
DATASETS: dict[str, dict[str, str]] = {
    "weinstock2016": {
        "name": "weinstock2016",
        "version": "GlucoBench processed release (IrinaStatsLab/GlucoBench, weinstock2016.csv.gz: 170 patients)",
        "source": "Weinstock et al. 2016, Jaeb Center study of severe hypoglycaemia in older adults with T1D, as "
        "processed by GlucoBench (Sergazinov et al., ICLR 2024)",
        "citation": "Weinstock RS et al. J Clin Endocrinol Metab 2016;101(8):3096-3104",
    },
    "colas2019": {
        "name": "colas2019",
        "version": "GlucoBench processed release (IrinaStatsLab/GlucoBench, colas2019.csv.gz: 208 patients)",
        "source": "Colas et al. 2019, 2-3 days of CGM in adults at risk of type 2 diabetes (mostly without "
        "diabetes), as processed by GlucoBench (Sergazinov et al., ICLR 2024)",
        "citation": "Colas A, Vigil L, Vargas B, Cuesta-Frau D, Varela M. PLoS One 2019;14(12):e0225817",
    },
    "hall2018": {
        "name": "hall2018",
        "version": "GlucoBench processed release (IrinaStatsLab/GlucoBench, hall2018.csv.gz: 57 patients)",
        "source": "Hall et al. 2018, glucotypes: CGM of adults without diabetes, with prediabetes or type 2 "
        "diabetes, as processed by GlucoBench (Sergazinov et al., ICLR 2024)",
        "citation": "Hall H, Perelman D, Breschi A, et al. PLoS Biol 2018;16(7):e2005143",
    },
}
"""The data sets training knows (one table): name -> description written into the provenance manifest."""
DATASET_DESCRIPTION = DATASETS[DATASET]
SPLIT_SENTENCE = (
    f"by patient inside each data set with numpy default_rng({SEED}) over its sorted ids: 20 % test, 15 % of the "
    "rest validation (early stopping, model selection, conformal margins, Platt scaling), the rest training"
)
SPLIT_SENTENCE_1_0 = (
    f"by patient with numpy default_rng({SEED}) over the sorted ids: 20 % test, 15 % of the rest validation "
    "(early stopping, conformal margins, Platt scaling), the rest training"
)
"""The split as the 1.0.0 card (Weinstock only, one architecture) states it."""


def split_patients(ids: list[str], seed: int = SEED) -> tuple[list[str], list[str], list[str]]:
    """Split patient ids into (train, validation, test) with a fixed seed."""
    ordered = sorted(ids)
    perm = np.random.default_rng(seed).permutation(len(ordered))
    n_test = max(1, round(TEST_FRACTION * len(ordered)))
    n_val = max(1, round(VALIDATION_FRACTION * (len(ordered) - n_test)))
    test = sorted(ordered[i] for i in perm[:n_test])
    val = sorted(ordered[i] for i in perm[n_test : n_test + n_val])
    train = sorted(ordered[i] for i in perm[n_test + n_val :])
    return train, val, test


Splits = Mapping[str, tuple[list[str], list[str], list[str]]]
"""data set -> (train, validation, test) patient ids."""


def cohort_manifest(splits: Splits, split_sentence: str = SPLIT_SENTENCE) -> ProvenanceManifest:
    """The card's provenance manifest: every data set's patient ids, dataset-qualified and hashed, by role."""
    return ProvenanceManifest.build(
        id_kind="patient",
        datasets=[DATASETS.get(name, {"name": name, "version": "unknown", "source": name}) for name in splits],
        members={
            role: [(name, p) for name, parts in splits.items() for p in parts[k]]
            for k, role in enumerate(("train", "validation", "test"))
        },
        split=split_sentence,
    )


def provenance_manifest(train: list[str], validation: list[str], test: list[str]) -> ProvenanceManifest:
    """The manifest of a Weinstock-only split (the 1.0.0 card)."""
    return cohort_manifest({DATASET: (train, validation, test)}, SPLIT_SENTENCE_1_0)


def dataset_of(path: Path) -> str:
    """The data set a ``<name>.csv[.gz]`` file holds, from its name (``weinstock2016.csv.gz`` -> ``weinstock2016``)."""
    from medai_core.glucose.datasets import dataset_name

    return dataset_name(path)


def load_cohorts(data: Path, log: Callable[[str], None] = print) -> dict[str, dict[str, Grid]]:
    """Grids by patient of each data set: a folder holding the known ``<name>.csv.gz`` files, or one file.

    Raises:
        CGMInputError: the folder holds none of the known data sets, or a file cannot be read.
    """
    from medai_core.errors import CGMInputError

    data = Path(data)
    if data.is_dir():
        found = {dataset_of(f): f for f in sorted(data.iterdir()) if f.is_file() and dataset_of(f) in DATASETS}
        ignored = sorted(f.name for f in data.iterdir() if f.is_file() and dataset_of(f) not in DATASETS)
        if ignored:
            log(f"ignored (not a known training data set): {', '.join(ignored)}")
        if not found:
            raise CGMInputError(
                f"{data.name}: none of the training data sets ({', '.join(DATASETS)}) as <name>.csv.gz in this folder."
            )
        files = {name: found[name] for name in DATASETS if name in found}
    else:
        files = {dataset_of(data): data}
    return {name: grids_by_patient(read_research_table(path)) for name, path in files.items()}


def rebuild_provenance(data: Path, model_dir: Path) -> ProvenanceManifest:
    """Rebuild the shipped card's manifest from the same seeded patient splits, without retraining.

    Checks that the splits reproduce the card's patient counts and its recorded validation/test ids, and that the
    weights' sha256 is unchanged, then writes the card with the manifest.

    Raises:
        ModelCardError: the split does not reproduce the card, or the weights differ from the card's hash.
    """
    from dataclasses import replace

    from medai_core.errors import ModelCardError
    from medai_core.models.card import read_card, write_card
    from medai_core.models.registry import file_sha256

    card = read_card(model_dir)
    weights = Path(model_dir) / card.weights_file
    if file_sha256(weights) != card.weights_sha256:
        raise ModelCardError(f"{weights.name}: the weights differ from the card's sha256; the card cannot be rebuilt")
    cohorts = load_cohorts(data, log=lambda _: None)
    splits = {name: split_patients(list(grids)) for name, grids in cohorts.items()}
    recorded = card.artifacts.get("split", {})
    by_dataset = recorded.get("by_dataset")
    sentence = SPLIT_SENTENCE
    if by_dataset is None:  # the 1.0.0 card: Weinstock only
        sentence = SPLIT_SENTENCE_1_0
        by_dataset = {
            DATASET: {
                "test_patient_ids": recorded.get("test_patient_ids", []),
                "validation_patient_ids": recorded.get("validation_patient_ids", []),
            }
        }
    for name in set(splits) | set(by_dataset):
        if name not in splits or name not in by_dataset:
            raise ModelCardError(f"data set {name!r} is in the card or in {Path(data).name}, not in both")
        _, validation, test = splits[name]
        if sorted(test) != sorted(by_dataset[name].get("test_patient_ids", [])) or sorted(validation) != sorted(
            by_dataset[name].get("validation_patient_ids", [])
        ):
            raise ModelCardError(f"the seeded split of {name} does not reproduce the card's split")
    manifest = cohort_manifest({name: split for name, split in splits.items() if name in by_dataset}, sentence)
    write_card(replace(card, provenance=manifest.to_dict()), model_dir)
    return manifest
