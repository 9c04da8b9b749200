"""Features of the immunotherapy outcome model: one float32 vector per patient and drug class.

Layout (``FeatureSpec.names``), in order:

* ``type=<cancer type>``: one-hot cancer type; types with few training patients pooled as ``Other``.
* ``log_tmb``: ``log1p(TMB in mutations/Mb)``, standardised with the training mean and SD. TMB enters on the scale
  the model was trained on: calls over the panel sizes of ``FeatureSpec.tmb_panel_mb`` (:meth:`FeatureSpec.model_tmb`
  converts a TMB computed with today's sizes; model 1.0.0 was trained with IMPACT468 sized as IMPACT410).
* ``age=<group>``: one-hot age group; unknown age -> the training prevalence of each group.
* ``sex=male``: 1 male, 0 female; unknown -> training prevalence.
* ``drug=<class>``: one-hot immune checkpoint inhibitor class (PD-1/PD-L1, CTLA-4, combination).
* ``mut=<gene>``: 1 when the gene carries a nonsynonymous call, 0 otherwise (also 0 when unobserved).
* ``obs=<gene>``: 1 when the panel observes the gene; 0 for genes off the panel (IMPACT341 patients are not wild
  type for IMPACT410-only genes: they are unobserved, and the model sees that).

The spec is stored in the model card's ``artifacts["features"]`` so inference encodes exactly as training did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medai_core.errors import PanelInputError
from medai_core.genomics.panels import Panel, resolve_panel

__all__ = [
    "AGE_GROUPS",
    "LEGACY_TMB_PANEL_MB",
    "Cohort",
    "DRUG_CLASSES",
    "FeatureSpec",
    "OTHER_TYPE",
    "encode",
    "cohort_model_tmb",
    "encode_cohort",
    "load_cohort",
    "parse_os_status",
    "resolve_sample_panel",
]

AGE_GROUPS: tuple[str, ...] = ("<30", "31-50", "50-60", "61-70", ">71")
#: Display name of each drug class -> the cohort's "Drug Type" value.
DRUG_CLASSES: dict[str, str] = {"PD-1/PD-L1": "PD-1/PDL-1", "CTLA-4": "CTLA4", "Combination": "Combo"}
OTHER_TYPE = "Other"
#: The panel sizes (Mb) behind the training TMB of cards written before ``tmb_panel_mb`` was recorded
#: (gene_ici_survival 1.0.0): IMPACT468 was then sized as IMPACT410.
LEGACY_TMB_PANEL_MB: tuple[tuple[str, float], ...] = (("IMPACT341", 0.896), ("IMPACT410", 1.016), ("IMPACT468", 1.016))


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
        left_out: (reason, number of patients) left out of the arrays (no survival time, ...).
        notes: the MAF reader's notes (unknown consequence terms, ...).
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
    left_out: tuple[tuple[str, int], ...] = ()
    notes: tuple[str, ...] = ()

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
        return Cohort(**arrays, mutated=tuple(self.mutated[i] for i in idx), left_out=self.left_out, notes=self.notes)


#: cBioPortal spellings of the overall-survival status -> event (1 deceased, 0 alive at last follow-up).
OS_STATUS: dict[str, float] = {
    "1:DECEASED": 1.0,
    "DECEASED": 1.0,
    "1": 1.0,
    "1.0": 1.0,
    "0:LIVING": 0.0,
    "LIVING": 0.0,
    "0": 0.0,
    "0.0": 0.0,
}
CLINICAL_COLUMNS: tuple[str, ...] = (
    "Patient ID",
    "Sample ID",
    "Cancer Type",
    "Drug Type",
    "Gene Panel",
    "Age Group at Diagnosis in Years",
    "Sex",
    "Overall Survival (Months)",
    "Overall Survival Status",
)


def parse_os_status(value: str, sample: str) -> float | None:
    """Event indicator from a cBioPortal status (``1:DECEASED``, ``DECEASED``, ``1``, ``0:LIVING``, ``LIVING``,
    ``0``; any case); None when empty.

    Raises:
        PanelInputError: any other value (naming the sample).
    """
    text = value.strip().upper()
    if not text or text in {"NA", "NAN", "[NOT AVAILABLE]"}:
        return None
    if text not in OS_STATUS:
        raise PanelInputError(
            f"clinical.tsv, sample {sample}: unknown Overall Survival Status {value!r}. Accepted: 1:DECEASED, "
            "DECEASED, 1, 0:LIVING, LIVING, 0."
        )
    return OS_STATUS[text]


def resolve_sample_panel(value: str, sample: str) -> Panel:
    """The panel of one cohort sample (``IMPACT341/410/468``, ``WES``/exome, or a size in Mb).

    Raises:
        PanelInputError: an empty or unknown panel, naming the sample.
    """
    if not value.strip():
        raise PanelInputError(
            f"clinical.tsv, sample {sample}: the Gene Panel is empty. Give IMPACT341, IMPACT410, IMPACT468, WES or "
            "the panel's covered size in Mb; TMB cannot be computed without it."
        )
    try:
        return resolve_panel(value)
    except PanelInputError as exc:
        raise PanelInputError(f"clinical.tsv, sample {sample}: {exc}") from None


def _cohort_paths(data_dir: Path) -> tuple[Path, Path, Path]:
    """(clinical.tsv, the MAF, sequenced_samples.txt) of a cohort folder.

    Raises:
        PanelInputError: one is missing.
    """
    maf_path = data_dir / "mutations.maf.gz"
    if not maf_path.is_file():
        maf_path = data_dir / "mutations.maf"
    paths = (data_dir / "clinical.tsv", maf_path, data_dir / "sequenced_samples.txt")
    for path in paths:
        if not path.is_file():
            raise PanelInputError(
                f"{path.name} is missing from the cohort folder. It needs clinical.tsv, mutations.maf.gz and "
                "sequenced_samples.txt (the samstein2019 layout)."
            )
    return paths


def _read_clinical(path: Path, sequenced_path: Path) -> Any:
    """The clinical table's rows of the sequenced samples (a pandas DataFrame of text).

    Raises:
        PanelInputError: unreadable, or a column of :data:`CLINICAL_COLUMNS` is missing.
    """
    import pandas as pd

    try:
        clinical = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (ValueError, pd.errors.ParserError) as exc:
        raise PanelInputError(f"clinical.tsv cannot be read as a tab-separated table ({exc}).") from None
    missing = [c for c in CLINICAL_COLUMNS if c not in clinical.columns]
    if missing:
        raise PanelInputError(f"clinical.tsv lacks columns {missing}; found {list(clinical.columns)[:12]}...")
    sequenced = set(sequenced_path.read_text(encoding="utf-8").split())
    return clinical[clinical["Sample ID"].isin(sequenced)].reset_index(drop=True)


def _calls_by_sample(maf_path: Path) -> tuple[Any, dict[str, list[Any]]]:
    """The cohort MAF read by :func:`~medai_core.genomics.readers.read_panel`, and its calls by sample.

    Raises:
        PanelInputError: unreadable, or a call without a sample id.
    """
    from medai_core.genomics.readers import read_panel

    panel_file = read_panel(maf_path.read_bytes(), name=maf_path.name)
    if panel_file.variants and "" in panel_file.samples:
        raise PanelInputError(
            f"{maf_path.name}: some rows have no Tumor_Sample_Barcode, so their calls cannot be given to a patient. "
            "A cohort MAF needs the sample id of every call (the Sample ID of clinical.tsv)."
        )
    calls_by_sample: dict[str, list[Any]] = {}
    for call in panel_file.variants:
        calls_by_sample.setdefault(call.sample, []).append(call)
    return panel_file, calls_by_sample


def _os_months(os_text: str, sample: str) -> float:
    """Overall survival in months (NaN where not available).

    Raises:
        PanelInputError: neither a number nor a not-available marker, or negative.
    """
    import pandas as pd

    months = pd.to_numeric(os_text, errors="coerce") if os_text else float("nan")
    if os_text and months != months and os_text.upper() not in {"NA", "NAN", "[NOT AVAILABLE]"}:
        raise PanelInputError(
            f"clinical.tsv, sample {sample}: Overall Survival (Months) {os_text!r} is not a number of months."
        )
    if months == months and float(months) < 0:
        raise PanelInputError(f"clinical.tsv, sample {sample}: Overall Survival (Months) is negative ({os_text}).")
    return float(months)


def _left_out_reason(months: float, event: float | None, drug: str) -> str | None:
    """Why a patient is left out of the cohort (no survival time, status or drug type), or None."""
    if months != months:
        return "no overall survival time"
    if event is None:
        return "no overall survival status"
    if not drug.strip():
        return "no drug type"
    return None


def _patients(
    clinical: Any, calls_by_sample: Mapping[str, Sequence[Any]]
) -> tuple[list[int], list[str], list[float], list[float], list[float], dict[str, int]]:
    """Per kept patient: clinical row index, panel name, TMB, death event and survival months; and the count of
    patients left out by reason.

    Raises:
        PanelInputError: a sample's panel or survival status is not recognised, or its survival time is not valid.
    """
    from medai_core.genomics.tmb import compute_tmb

    left_out: dict[str, int] = {}
    rows: list[int] = []
    panels: list[str] = []
    tmb: list[float] = []
    events: list[float] = []
    times: list[float] = []
    resolved: dict[str, Panel] = {}
    for i, row in clinical.iterrows():
        sample = str(row["Sample ID"])
        panel_text = str(row["Gene Panel"]).strip()
        if panel_text not in resolved:
            resolved[panel_text] = resolve_sample_panel(panel_text, sample)
        panel = resolved[panel_text]
        event = parse_os_status(str(row["Overall Survival Status"]), sample)
        months = _os_months(str(row["Overall Survival (Months)"]).strip(), sample)
        reason = _left_out_reason(months, event, str(row["Drug Type"]))
        if reason is not None:
            left_out[reason] = left_out.get(reason, 0) + 1
            continue
        rows.append(int(i))  # type: ignore[call-overload]
        panels.append(panel.name if panel.name != "custom" else panel_text)
        tmb.append(compute_tmb(calls_by_sample.get(sample, []), panel, cancer_type="").tmb_per_mb)
        events.append(float(event))  # type: ignore[arg-type]
        times.append(months)
    return rows, panels, tmb, events, times, left_out


def load_cohort(data_dir: Path) -> Cohort:
    """Read ``clinical.tsv``, ``mutations.maf.gz`` (or ``.maf``) and ``sequenced_samples.txt`` from ``data_dir``.

    The MAF goes through :func:`medai_core.genomics.readers.read_panel` (the reader of single uploads: MAF or Sequence
    Ontology terms alike) and TMB through :func:`medai_core.genomics.tmb.compute_tmb` with each sample's panel.
    Patients not listed in ``sequenced_samples.txt`` are skipped; a listed sample with no MAF rows had no calls.
    Patients without an overall-survival time, status or drug class are left out and counted in
    :attr:`Cohort.left_out`.

    Raises:
        PanelInputError: a file or column is missing; a sample's panel or survival status is not recognised; a
            survival time is negative.
    """

    clinical_path, maf_path, sequenced_path = _cohort_paths(Path(data_dir))
    clinical = _read_clinical(clinical_path, sequenced_path)
    panel_file, calls_by_sample = _calls_by_sample(maf_path)
    rows, panels, tmb, events, times, left_out = _patients(clinical, calls_by_sample)
    kept = clinical.iloc[rows].reset_index(drop=True)
    samples = kept["Sample ID"].to_numpy(dtype=str)

    def text(name: str, default: str = "") -> NDArray[np.str_]:
        return kept[name].replace("", default).to_numpy(dtype=str) if len(kept) else np.array([], dtype=str)

    return Cohort(
        sample_ids=samples,
        patient_ids=text("Patient ID"),
        cancer_type=text("Cancer Type", OTHER_TYPE),
        drug_type=text("Drug Type"),
        panel=np.array(panels, dtype=str),
        age_group=text("Age Group at Diagnosis in Years"),
        sex=text("Sex"),
        tmb=np.array(tmb, dtype=np.float64),
        os_months=np.array(times, dtype=np.float64),
        event=np.array(events, dtype=np.float64),
        mutated=tuple(frozenset(v.gene for v in calls_by_sample.get(str(s), ()) if v.nonsynonymous) for s in samples),
        left_out=tuple(sorted(left_out.items())),
        notes=tuple(panel_file.notes),
    )


def _frequent_genes(cohort: Cohort, min_gene_share: float) -> list[str]:
    """Genes mutated in at least ``min_gene_share`` of the patients whose panel observes them, sorted."""
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
    return chosen


@dataclass(frozen=True)
class FeatureSpec:
    """How a patient becomes the model's input vector (see the module docstring for the layout).

    Attributes:
        cancer_types: one-hot cancer types (the last is ``Other``).
        genes: normalised gene symbols with a mutation feature.
        log_tmb_mean, log_tmb_sd: standardisation of ``log1p(TMB)`` (training split).
        age_prevalence: (5,) training share of each age group (the encoding of an unknown age).
        male_prevalence: training share of men (the encoding of an unknown sex).
        type_prevalence: training share of each cancer type (the attribution baseline).
        tmb_panel_mb: (panel, Mb) sizes the training TMB was computed with; a TMB computed with other sizes for
            the same panel is converted back (:meth:`model_tmb`), so the model keeps receiving its training feature.
    """

    cancer_types: tuple[str, ...]
    genes: tuple[str, ...]
    log_tmb_mean: float
    log_tmb_sd: float
    age_prevalence: tuple[float, ...]
    male_prevalence: float
    type_prevalence: tuple[float, ...] = field(default=())
    tmb_panel_mb: tuple[tuple[str, float], ...] = LEGACY_TMB_PANEL_MB

    def model_tmb(self, tmb: float, panel: Panel) -> float:
        """``tmb`` (calls / ``panel.size_mb``) on the training scale: calls over the size the training used for the
        same panel. Panels the training did not size (exome, custom sizes) are passed through unchanged."""
        sizes = dict(self.tmb_panel_mb)
        if panel.name not in sizes:
            return tmb
        return tmb * panel.size_mb / sizes[panel.name]

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
            "tmb_panel_mb": dict(self.tmb_panel_mb),
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
            tmb_panel_mb=tuple((str(k), float(v)) for k, v in data["tmb_panel_mb"].items())
            if "tmb_panel_mb" in data
            else LEGACY_TMB_PANEL_MB,
        )

    @classmethod
    def fit(cls, cohort: Cohort, *, min_type_count: int = 20, min_gene_share: float = 0.05) -> FeatureSpec:
        """Choose cancer types (>= ``min_type_count`` patients) and genes (mutated in >= ``min_gene_share`` of the
        patients whose panel observes them) from the training split, and the standardisation."""
        types, counts = np.unique(cohort.cancer_type, return_counts=True)
        kept = tuple(
            sorted(str(t) for t, c in zip(types, counts, strict=True) if c >= min_type_count and t != OTHER_TYPE)
        )
        chosen = _frequent_genes(cohort, min_gene_share)
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
            tmb_panel_mb=tuple((name, resolve_panel(name).size_mb) for name in ("IMPACT341", "IMPACT410", "IMPACT468")),
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
        tmb: nonsynonymous mutations per Mb of ``panel`` (converted to the training scale here).
        mutated: normalised symbols of genes with a nonsynonymous call.
        panel: the panel the tumour was sequenced with (decides which genes are observed).
        drug_class: one of :data:`DRUG_CLASSES` (display name) or its cohort value.
        age_group: one of :data:`AGE_GROUPS`, or None when unknown.
        sex: ``Male``/``Female`` (any case), or None when unknown.
    """
    type_vec = [float(cancer_type == t) for t in spec.cancer_types]
    if not any(type_vec):
        type_vec[-1] = 1.0
    z_tmb = (np.log1p(max(spec.model_tmb(tmb, panel), 0.0)) - spec.log_tmb_mean) / spec.log_tmb_sd
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


def cohort_model_tmb(spec: FeatureSpec, cohort: Cohort) -> NDArray[np.float64]:
    """(N,) the cohort's TMB on the model's training scale (:meth:`FeatureSpec.model_tmb` per patient's panel)."""
    panels = {p: resolve_panel(p) for p in set(cohort.panel.tolist())}
    return np.array(
        [spec.model_tmb(float(t), panels[str(p)]) for t, p in zip(cohort.tmb, cohort.panel, strict=True)],
        dtype=np.float64,
    )


def encode_cohort(spec: FeatureSpec, cohort: Cohort) -> NDArray[np.float32]:
    """(N, F) inputs for every cohort patient with their own drug class."""
    panels = {p: resolve_panel(p) for p in set(cohort.panel.tolist())}
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
