"""Features of the immunotherapy outcome model: one float32 vector per patient and drug class.

Layout (``FeatureSpec.names``), in order:

* ``type=<cancer type>``: one-hot cancer type; types with few training patients pooled as ``Other``.
* ``log_tmb``: ``log1p(TMB in mutations/Mb)``, standardised with the training mean and SD.
* ``age=<group>``: one-hot age group; unknown age -> the training prevalence of each group.
* ``sex=male``: 1 male, 0 female; unknown -> training prevalence.
* ``drug=<class>``: one-hot immune checkpoint inhibitor class (PD-1/PD-L1, CTLA-4, combination).
* ``mut=<gene>``: 1 when the gene carries a nonsynonymous call, 0 otherwise (also 0 when unobserved).
* ``obs=<gene>``: 1 when the panel observes the gene; 0 for genes off the panel (IMPACT341 patients are not wild
  type for IMPACT410-only genes: they are unobserved, and the model sees that).

The spec is stored in the model card's ``artifacts["features"]`` so inference encodes exactly as training did.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medai_core.errors import PanelInputError
from medai_core.genomics.panels import NONSYNONYMOUS_CLASSES, Panel, normalise_gene, resolve_panel

__all__ = [
    "AGE_GROUPS",
    "Cohort",
    "DRUG_CLASSES",
    "FeatureSpec",
    "OTHER_TYPE",
    "encode",
    "encode_cohort",
    "load_cohort",
]

AGE_GROUPS: tuple[str, ...] = ("<30", "31-50", "50-60", "61-70", ">71")
#: Display name of each drug class -> the cohort's "Drug Type" value.
DRUG_CLASSES: dict[str, str] = {"PD-1/PD-L1": "PD-1/PDL-1", "CTLA-4": "CTLA4", "Combination": "Combo"}
OTHER_TYPE = "Other"


@dataclass(frozen=True)
class Cohort:
    """The Samstein 2019 cohort as arrays (one row per sequenced patient).

    Attributes:
        sample_ids: (N,) tumour sample barcodes.
        patient_ids: (N,) patient ids (the split unit).
        cancer_type, drug_type, panel, age_group, sex: (N,) strings as in ``clinical.tsv``.
        tmb: (N,) nonsynonymous mutations per Mb, recomputed from the MAF with the panel sizes used at inference.
        os_months: (N,) overall survival from the start of immunotherapy, months.
        event: (N,) 1 deceased, 0 alive at last follow-up.
        mutated: per sample, the set of normalised genes with a nonsynonymous call.
    """

    sample_ids: NDArray[np.str_]
    patient_ids: NDArray[np.str_]
    cancer_type: NDArray[np.str_]
    drug_type: NDArray[np.str_]
    panel: NDArray[np.str_]
    age_group: NDArray[np.str_]
    sex: NDArray[np.str_]
    tmb: NDArray[np.float64]
    os_months: NDArray[np.float64]
    event: NDArray[np.float64]
    mutated: tuple[frozenset[str], ...]

    def __len__(self) -> int:
        return len(self.sample_ids)

    def subset(self, idx: NDArray[np.int64]) -> Cohort:
        """The rows ``idx``."""
        arrays = {
            k: getattr(self, k)[idx]
            for k in (
                "sample_ids",
                "patient_ids",
                "cancer_type",
                "drug_type",
                "panel",
                "age_group",
                "sex",
                "tmb",
                "os_months",
                "event",
            )
        }
        return Cohort(**arrays, mutated=tuple(self.mutated[i] for i in idx))


def load_cohort(data_dir: Path) -> Cohort:
    """Read ``clinical.tsv``, ``mutations.maf.gz`` (or ``.maf``) and ``sequenced_samples.txt`` from ``data_dir``.

    Patients not listed in ``sequenced_samples.txt`` are skipped; a listed sample with no MAF rows had no calls.

    Raises:
        PanelInputError: a file or column is missing.
    """
    import pandas as pd

    data_dir = Path(data_dir)
    maf_path = data_dir / "mutations.maf.gz"
    if not maf_path.is_file():
        maf_path = data_dir / "mutations.maf"
    for path in (data_dir / "clinical.tsv", maf_path, data_dir / "sequenced_samples.txt"):
        if not path.is_file():
            raise PanelInputError(
                f"{path} is missing. The cohort folder needs clinical.tsv, mutations.maf.gz and "
                "sequenced_samples.txt (the samstein2019 layout)."
            )
    clinical = pd.read_csv(data_dir / "clinical.tsv", sep="\t", dtype=str)
    needed = [
        "Patient ID",
        "Sample ID",
        "Cancer Type",
        "Drug Type",
        "Gene Panel",
        "Age Group at Diagnosis in Years",
        "Sex",
        "Overall Survival (Months)",
        "Overall Survival Status",
    ]
    missing = [c for c in needed if c not in clinical.columns]
    if missing:
        raise PanelInputError(f"clinical.tsv lacks columns {missing}; found {list(clinical.columns)[:12]}...")
    sequenced = set((data_dir / "sequenced_samples.txt").read_text(encoding="utf-8").split())
    clinical = clinical[clinical["Sample ID"].isin(sequenced)].reset_index(drop=True)
    opener = gzip.open if maf_path.suffix == ".gz" else open
    with opener(maf_path, "rt", encoding="utf-8") as handle:
        maf = pd.read_csv(
            handle, sep="\t", comment="#", usecols=["Hugo_Symbol", "Tumor_Sample_Barcode", "Variant_Classification"]
        )
    maf = maf[maf["Variant_Classification"].isin(NONSYNONYMOUS_CLASSES)]
    genes_by_sample: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for gene, sample in zip(maf["Hugo_Symbol"].astype(str), maf["Tumor_Sample_Barcode"].astype(str), strict=True):
        genes_by_sample.setdefault(sample, set()).add(normalise_gene(gene))
        counts[sample] = counts.get(sample, 0) + 1
    sizes = {name: resolve_panel(name).size_mb for name in ("IMPACT341", "IMPACT410", "IMPACT468")}
    samples = clinical["Sample ID"].to_numpy(dtype=str)
    panels = clinical["Gene Panel"].fillna("IMPACT410").to_numpy(dtype=str)
    tmb = np.array([counts.get(s, 0) / sizes.get(p, sizes["IMPACT410"]) for s, p in zip(samples, panels, strict=True)])
    status = clinical["Overall Survival Status"].fillna("").str.startswith("1")
    return Cohort(
        sample_ids=samples,
        patient_ids=clinical["Patient ID"].to_numpy(dtype=str),
        cancer_type=clinical["Cancer Type"].fillna(OTHER_TYPE).to_numpy(dtype=str),
        drug_type=clinical["Drug Type"].fillna("").to_numpy(dtype=str),
        panel=panels,
        age_group=clinical["Age Group at Diagnosis in Years"].fillna("").to_numpy(dtype=str),
        sex=clinical["Sex"].fillna("").to_numpy(dtype=str),
        tmb=tmb,
        os_months=pd.to_numeric(clinical["Overall Survival (Months)"], errors="coerce").fillna(0).to_numpy(float),
        event=status.to_numpy().astype(np.float64),
        mutated=tuple(frozenset(genes_by_sample.get(s, ())) for s in samples),
    )


@dataclass(frozen=True)
class FeatureSpec:
    """How a patient becomes the model's input vector (see the module docstring for the layout).

    Attributes:
        cancer_types: one-hot cancer types (the last is ``Other``).
        genes: normalised gene symbols with a mutation feature.
        log_tmb_mean, log_tmb_sd: standardisation of ``log1p(TMB)`` (training split).
        age_prevalence: (5,) training share of each age group (the encoding of an unknown age).
        male_prevalence: training share of men (the encoding of an unknown sex).
    """

    cancer_types: tuple[str, ...]
    genes: tuple[str, ...]
    log_tmb_mean: float
    log_tmb_sd: float
    age_prevalence: tuple[float, ...]
    male_prevalence: float
    type_prevalence: tuple[float, ...] = field(default=())

    @property
    def names(self) -> list[str]:
        """Feature names, in input order."""
        return [
            *(f"type={t}" for t in self.cancer_types),
            "log_tmb",
            *(f"age={a}" for a in AGE_GROUPS),
            "sex=male",
            *(f"drug={d}" for d in DRUG_CLASSES),
            *(f"mut={g}" for g in self.genes),
            *(f"obs={g}" for g in self.genes),
        ]

    @property
    def n_features(self) -> int:
        """Length of the input vector."""
        return len(self.names)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for the model card."""
        return {
            "cancer_types": list(self.cancer_types),
            "genes": list(self.genes),
            "log_tmb_mean": self.log_tmb_mean,
            "log_tmb_sd": self.log_tmb_sd,
            "age_prevalence": list(self.age_prevalence),
            "male_prevalence": self.male_prevalence,
            "type_prevalence": list(self.type_prevalence),
            "names": self.names,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSpec:
        """Inverse of :meth:`to_dict`."""
        return cls(
            cancer_types=tuple(data["cancer_types"]),
            genes=tuple(data["genes"]),
            log_tmb_mean=float(data["log_tmb_mean"]),
            log_tmb_sd=float(data["log_tmb_sd"]),
            age_prevalence=tuple(float(v) for v in data["age_prevalence"]),
            male_prevalence=float(data["male_prevalence"]),
            type_prevalence=tuple(float(v) for v in data.get("type_prevalence", ())),
        )

    @classmethod
    def fit(cls, cohort: Cohort, *, min_type_count: int = 20, min_gene_share: float = 0.05) -> FeatureSpec:
        """Choose cancer types (>= ``min_type_count`` patients) and genes (mutated in >= ``min_gene_share`` of the
        patients whose panel observes them) from the training split, and the standardisation."""
        types, counts = np.unique(cohort.cancer_type, return_counts=True)
        kept = tuple(
            sorted(str(t) for t, c in zip(types, counts, strict=True) if c >= min_type_count and t != OTHER_TYPE)
        )
        gene_counts: dict[str, int] = {}
        for genes in cohort.mutated:
            for g in genes:
                gene_counts[g] = gene_counts.get(g, 0) + 1
        panels = {p: resolve_panel(p) for p in set(cohort.panel.tolist())}
        chosen = []
        for gene, count in sorted(gene_counts.items()):
            observed = sum(panels[p].observes(gene) for p in cohort.panel)
            if observed and count / observed >= min_gene_share:
                chosen.append(gene)
        log_tmb = np.log1p(cohort.tmb)
        age = np.array([[a == g for g in AGE_GROUPS] for a in cohort.age_group], dtype=np.float64)
        known_age = age.sum(axis=1) > 0
        known_sex = np.isin(cohort.sex, ["Male", "Female"])
        all_types = (*kept, OTHER_TYPE)
        mapped = np.array([t if t in kept else OTHER_TYPE for t in cohort.cancer_type])
        return cls(
            cancer_types=all_types,
            genes=tuple(chosen),
            log_tmb_mean=float(log_tmb.mean()),
            log_tmb_sd=float(log_tmb.std() or 1.0),
            age_prevalence=tuple(float(v) for v in age[known_age].mean(axis=0)),
            male_prevalence=float((cohort.sex[known_sex] == "Male").mean()),
            type_prevalence=tuple(float((mapped == t).mean()) for t in all_types),
        )


def encode(
    spec: FeatureSpec,
    *,
    cancer_type: str,
    tmb: float,
    mutated: Iterable[str],
    panel: Panel,
    drug_class: str,
    age_group: str | None = None,
    sex: str | None = None,
) -> NDArray[np.float32]:
    """One patient's (F,) float32 input vector.

    Args:
        spec: the model's feature spec.
        cancer_type: cohort cancer type (unknown types are encoded as ``Other``).
        tmb: nonsynonymous mutations per Mb.
        mutated: normalised symbols of genes with a nonsynonymous call.
        panel: the panel the tumour was sequenced with (decides which genes are observed).
        drug_class: one of :data:`DRUG_CLASSES` (display name) or its cohort value.
        age_group: one of :data:`AGE_GROUPS`, or None when unknown.
        sex: ``Male``/``Female`` (any case), or None when unknown.
    """
    type_vec = [float(cancer_type == t) for t in spec.cancer_types]
    if not any(type_vec):
        type_vec[-1] = 1.0
    z_tmb = (np.log1p(max(tmb, 0.0)) - spec.log_tmb_mean) / spec.log_tmb_sd
    age_vec = [float(age_group == a) for a in AGE_GROUPS] if age_group in AGE_GROUPS else list(spec.age_prevalence)
    sex_text = (sex or "").strip().lower()
    male = 1.0 if sex_text == "male" else 0.0 if sex_text == "female" else spec.male_prevalence
    drug_values = {**{k: k for k in DRUG_CLASSES}, **{v: k for k, v in DRUG_CLASSES.items()}}
    if drug_class not in drug_values:
        raise PanelInputError(f"Unknown drug class {drug_class!r}; accepted: {', '.join(DRUG_CLASSES)}")
    drug_vec = [float(drug_values[drug_class] == d) for d in DRUG_CLASSES]
    genes = set(mutated)
    observed = [float(panel.observes(g)) for g in spec.genes]
    mut_vec = [float(g in genes) * o for g, o in zip(spec.genes, observed, strict=True)]
    return np.array([*type_vec, z_tmb, *age_vec, male, *drug_vec, *mut_vec, *observed], dtype=np.float32)


def encode_cohort(spec: FeatureSpec, cohort: Cohort) -> NDArray[np.float32]:
    """(N, F) inputs for every cohort patient with their own drug class."""
    panels = {p: resolve_panel(p if p else "IMPACT410") for p in set(cohort.panel.tolist())}
    rows: Sequence[NDArray[np.float32]] = [
        encode(
            spec,
            cancer_type=str(cohort.cancer_type[i]),
            tmb=float(cohort.tmb[i]),
            mutated=cohort.mutated[i],
            panel=panels[str(cohort.panel[i])],
            drug_class=str(cohort.drug_type[i]),
            age_group=str(cohort.age_group[i]),
            sex=str(cohort.sex[i]),
        )
        for i in range(len(cohort))
    ]
    return np.stack(rows).astype(np.float32)
