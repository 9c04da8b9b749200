"""One gene panel in, one frozen result out: variants, evidence, TMB, survival on immunotherapy per drug class with
an ensemble interval, integrated-gradients attributions, the cancer type + TMB Cox baseline, and a one-line note
where the model and the evidence disagree.

The survival outcome comes from a cohort in which every patient was treated (Samstein et al. 2019): it is the
outcome *on* each drug class, not the randomised benefit of one over another (:data:`OUTCOME_CAVEAT`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.errors import PanelInputError
from medai_core.genomics.evidence import EvidenceBase, EvidenceItem, TherapyOption
from medai_core.genomics.findings import PanelFindings, panel_findings, panel_notes
from medai_core.genomics.panels import Panel
from medai_core.genomics.prepare import DRUG_CLASSES, FeatureSpec, encode
from medai_core.genomics.readers import PanelFile, Variant
from medai_core.genomics.survival import cox_from_artifact
from medai_core.genomics.tmb import TmbResult
from medai_core.genomics.tumours import COHORT_TYPES, TumourType, resolve_tumour

if TYPE_CHECKING:
    from medai_core.models import LoadedModel

__all__ = [
    "NO_SURVIVAL_WITHOUT_CALLS",
    "ClassSurvival",
    "GeneResult",
    "OUTCOME_CAVEAT",
    "analyse_bytes",
    "analyse_panel",
    "not_modelled_note",
    "panel_notes",
]

OUTCOME_CAVEAT = (
    "Every patient in the training cohort received immunotherapy, and the drug class was chosen by their doctors, "
    "not randomised: these curves show survival on each treatment in similar patients, not the benefit of one "
    "treatment over another or over no immunotherapy."
)
_ICI_DRUGS = (
    "pembrolizumab",
    "nivolumab",
    "ipilimumab",
    "atezolizumab",
    "durvalumab",
    "avelumab",
    "cemiplimab",
    "tremelimumab",
    "immune checkpoint",
    "anti-pd-1",
    "anti-pd-l1",
    "anti-ctla-4",
)
IG_STEPS = 32
NO_SURVIVAL_WITHOUT_CALLS = (
    "No survival estimate: the file holds no calls, so there is no tumour profile to estimate it from (TMB 0 here "
    "counts nothing)."
)


def not_modelled_note(tumour: TumourType) -> str:
    """Why no survival estimate is shown for a tumour type outside the immunotherapy cohort."""
    return (
        f"Survival on immunotherapy is not modelled for {tumour.label}: the outcome model was trained on "
        f"{', '.join(COHORT_TYPES[:-1])} and {COHORT_TYPES[-1]} (Samstein et al. 2019), and {tumour.main_type} is "
        "not among them. TMB, evidence and therapy options are given; no survival estimate is."
    )


@dataclass(frozen=True)
class ClassSurvival:
    """Predicted survival on one drug class.

    Attributes:
        drug_class: ``PD-1/PD-L1``, ``CTLA-4`` or ``Combination``.
        probability, low, high: (K,) ensemble mean and 10th/90th member percentiles at ``GeneResult.months``.
        os_12m, os_24m: (mean, low, high) at 12 and 24 months.
    """

    drug_class: str
    probability: NDArray[np.float32]
    low: NDArray[np.float32]
    high: NDArray[np.float32]
    os_12m: tuple[float, float, float]
    os_24m: tuple[float, float, float]


@dataclass(frozen=True)
class GeneResult:
    """Everything the page, the report and the CLI show for one tumour panel.

    Attributes:
        tumour_type: the OncoTree node name (``Lung Adenocarcinoma``); panel: panel name.
        variants: every call of the sample (silent/intronic included, flagged by ``nonsynonymous``).
        tmb: TMB with percentile and flag.
        evidence: matched knowledge-base items (sorted, see :func:`match_evidence`).
        evidence_sources: the knowledge bases used.
        months: (K,) months at which survival is given.
        survival: one :class:`ClassSurvival` per drug class; empty where the tumour type is not modelled.
        drug_class: the class the attributions and the headline refer to.
        attributions: (feature, contribution) to the predicted 24-month risk of death, percentage points;
            positive = raises the risk. Sorted by magnitude.
        attribution_note: what the attributions are relative to, and their completeness error.
        unmodelled_genes: mutated genes that are not model inputs.
        baseline_os_24m: the cancer type + TMB Cox baseline's 24-month survival for this patient (None where not
            modelled).
        cohort_os_24m: Kaplan-Meier 24-month survival of the training cohort.
        disagreement: one line where model and evidence disagree, else None.
        notes: reader notes (filtered calls, Unknown calls, tumour column, ...).
        tiers: per variant (same order), its AMP/ASCO/CAP 2017 tier (``I-A`` ... ``IV``) and the reason.
        therapy_options: drugs supported by the evidence, best first (see
            :func:`medai_core.genomics.evidence.therapy_options`).
        panel_notes: calls outside the panel's genes; caveats for exome input.
        genome_build: ``GRCh37``, ``GRCh38`` or ``NCBI36`` where the file states it, else None.
        oncotree_code: the OncoTree code of the tumour type; cohort_type: the immunotherapy cohort's cancer type it
            belongs to, or None (then no survival is modelled and ``survival_note`` says so).
        tumour_note: how free text was read as an OncoTree node (empty for an exact code or name).
        removed_options: options withheld because of resistance or a label exclusion, each with ``removed_by``.
    """

    tumour_type: str
    panel: str
    variants: tuple[Variant, ...]
    tmb: TmbResult
    evidence: tuple[EvidenceItem, ...]
    evidence_sources: str
    months: NDArray[np.float32]
    survival: tuple[ClassSurvival, ...]
    drug_class: str
    attributions: tuple[tuple[str, float], ...]
    attribution_note: str
    unmodelled_genes: tuple[str, ...]
    baseline_os_24m: float | None
    cohort_os_24m: float
    disagreement: str | None
    notes: tuple[str, ...] = ()
    tiers: tuple[tuple[str, str], ...] = ()
    therapy_options: tuple[TherapyOption, ...] = ()
    panel_notes: tuple[str, ...] = ()
    genome_build: str | None = None
    oncotree_code: str = ""
    cohort_type: str | None = None
    tumour_note: str = ""
    survival_note: str = ""
    removed_options: tuple[TherapyOption, ...] = ()

    @property
    def survival_modelled(self) -> bool:
        """Whether the survival model covers this tumour type (its cohort cancer type)."""
        return bool(self.survival)

    @property
    def selected(self) -> ClassSurvival:
        """The survival of :attr:`drug_class` (raises StopIteration where survival is not modelled)."""
        return next(s for s in self.survival if s.drug_class == self.drug_class)

    @property
    def n_nonsynonymous(self) -> int:
        """Nonsynonymous calls in the sample (all genes)."""
        return sum(v.nonsynonymous for v in self.variants)


@lru_cache(maxsize=4)
def _attribution_fn(model: Any, index_24m: int) -> Any:
    """The 24-month risk of death (percentage points) as one traced function per model, so that integrated
    gradients differentiate a compiled graph instead of running the ensemble eagerly on every call."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def risk_24m(x: Any) -> Any:
        surv = model(x, training=False)
        return 100.0 * (1.0 - tf.reduce_mean(surv[:, :, index_24m], axis=1))

    return risk_24m


def _baseline_os24(artifacts: Any, spec: FeatureSpec, tumour_type: str, tmb: float) -> float:
    """The cancer type + TMB Cox baseline's 24-month survival (``tmb`` on the model's training scale)."""
    cox = cox_from_artifact(artifacts["baseline_cox_type_tmb"])
    x = np.array([[float(tumour_type == t) for t in spec.cancer_types[:-1]] + [float(np.log1p(tmb))]])
    return float(cox.survival_at(x, 24.0)[0])


def _disagreement(os_24m: float, cohort_24m: float, evidence: Sequence[EvidenceItem], drug_class: str) -> str | None:
    favourable = os_24m >= cohort_24m
    same = [e for e in evidence if e.same_tumour_type and e.direction == "Supports"]

    def ici(e: EvidenceItem) -> bool:
        return any(d in e.drugs.lower() for d in _ICI_DRUGS)

    if favourable:
        against = sorted((e for e in same if e.is_resistance and ici(e)), key=lambda e: e.level)
        if against:
            e = against[0]
            what = "immunotherapy"
            return (
                f"Model and evidence disagree: the model predicts better-than-cohort 24-month survival on "
                f"{drug_class} ({os_24m:.0%} vs {cohort_24m:.0%}), but {e.matched} has level {e.level} resistance "
                f"evidence to {what} in {e.disease} ({e.source})."
            )
    else:
        support = sorted(
            (e for e in same if e.significance == "Sensitivity/Response" and ici(e)), key=lambda e: e.level
        )
        if support:
            e = support[0]
            return (
                f"Model and evidence disagree: the model predicts worse-than-cohort 24-month survival on {drug_class} "
                f"({os_24m:.0%} vs {cohort_24m:.0%}), but {e.matched} has level {e.level} evidence of response to "
                f"{e.drugs} in {e.disease} ({e.source})."
            )
    return None


def _tmb_reference(model: LoadedModel, tumour: TumourType) -> Mapping[str, Sequence[float]]:
    """The cohort TMB values the percentile is ranked against (none where the tumour type is not modelled)."""
    return (model.card.artifacts.get("tmb_reference") or {}) if tumour.cohort_type else {}


def _isolated_findings(
    calls: Sequence[Variant], tumour: TumourType, panel: Panel, base: EvidenceBase, model: LoadedModel, label: str
) -> PanelFindings:
    """:func:`~medai_core.genomics.findings.panel_findings` in an isolated worker, under the reader's limits.

    Raises:
        PanelInputError: the step passed the time or memory limit, or its worker died.
    """
    from medai_core.isolation import run_isolated

    genes = FeatureSpec.from_dict(model.card.artifacts["features"]).genes
    reference = _tmb_reference(model, tumour)
    run = run_isolated(
        panel_findings,
        calls,
        tumour,
        panel,
        base,
        tmb_reference=reference,
        model_genes=genes,
        error=PanelInputError,
        label=label,
        step="analyse",
    )
    findings: PanelFindings = run.value
    return findings


def analyse_panel(
    variants: Sequence[Variant],
    *,
    model: LoadedModel,
    tumour_type: str | TumourType,
    panel: Panel,
    evidence_base: EvidenceBase,
    drug_class: str = "PD-1/PD-L1",
    age_group: str | None = None,
    sex: str | None = None,
    notes: Sequence[str] = (),
    genome_build: str | None = None,
    findings: PanelFindings | None = None,
) -> GeneResult:
    """Analyse one tumour's calls.

    Args:
        variants: the sample's calls (from :meth:`PanelFile.for_sample`).
        model: the loaded ``gene_ici_survival`` model.
        tumour_type: an OncoTree code, name or synonym, or a resolved node (see
            :func:`medai_core.genomics.tumours.resolve_tumour`). The survival model runs only for the cohort's
            cancer types; for any other solid tumour the result carries evidence, TMB and therapy options, and a
            ``survival_note`` instead of survival.
        panel: the sequencing panel.
        evidence_base: from :func:`medai_core.genomics.evidence.load_evidence`.
        drug_class: the class the attributions and the disagreement line refer to.
        age_group, sex: optional; unknown values are encoded as the cohort's mix.
        notes: reader notes carried into the result.
        genome_build: the reference build the file states (:attr:`PanelFile.genome_build`), carried into the result.
        findings: :func:`~medai_core.genomics.findings.panel_findings` of the calls if already computed.
    """
    tumour = tumour_type if isinstance(tumour_type, TumourType) else resolve_tumour(tumour_type)
    cohort = tumour.cohort_type
    artifacts = model.card.artifacts
    spec = FeatureSpec.from_dict(artifacts["features"])
    calls = tuple(variants)
    if findings is None:
        reference = _tmb_reference(model, tumour)
        findings = panel_findings(calls, tumour, panel, evidence_base, tmb_reference=reference, model_genes=spec.genes)
    common = _common_fields(calls, tumour, panel, evidence_base, findings, spec, artifacts)
    common.update(drug_class=drug_class, notes=tuple(notes), genome_build=genome_build)
    if cohort is None or not calls:
        return GeneResult(
            survival=(),
            attributions=(),
            attribution_note="",
            baseline_os_24m=None,
            disagreement=None,
            survival_note=not_modelled_note(tumour) if cohort is None else NO_SURVIVAL_WITHOUT_CALLS,
            **common,
        )
    tmb, mutated = findings.tmb, set(findings.mutated)
    survival, attributions, note = _survival(model, spec, cohort, tmb, mutated, panel, drug_class, age_group, sex)
    os_selected = survival[list(DRUG_CLASSES).index(drug_class)].os_24m[0]
    return GeneResult(
        survival=survival,
        attributions=attributions,
        attribution_note=note,
        baseline_os_24m=_baseline_os24(artifacts, spec, cohort, spec.model_tmb(tmb.tmb_per_mb, panel)),
        disagreement=_disagreement(os_selected, common["cohort_os_24m"], findings.evidence, drug_class),
        **common,
    )


def _common_fields(
    calls: tuple[Variant, ...],
    tumour: TumourType,
    panel: Panel,
    evidence_base: EvidenceBase,
    findings: PanelFindings,
    spec: FeatureSpec,
    artifacts: Mapping[str, Any],
) -> dict[str, Any]:
    """The :class:`GeneResult` fields that do not depend on whether survival is modelled."""
    n_bins, bin_months = int(artifacts["n_bins"]), float(artifacts["bin_months"])
    return {
        "tumour_type": tumour.name,
        "panel": panel.name,
        "variants": calls,
        "tmb": findings.tmb,
        "evidence": findings.evidence,
        "evidence_sources": evidence_base.description,
        "months": (np.arange(1, n_bins + 1) * bin_months).astype(np.float32),
        "unmodelled_genes": tuple(sorted(findings.mutated - set(spec.genes))),
        "cohort_os_24m": float(artifacts["cohort_km_train"]["24"]),
        "tiers": findings.tiers,
        "therapy_options": findings.offered,
        "panel_notes": findings.panel_notes,
        "oncotree_code": tumour.code,
        "cohort_type": tumour.cohort_type,
        "tumour_note": tumour.note,
        "removed_options": findings.removed,
    }


def _class_survival(surv: NDArray[np.float32], bin_months: float) -> tuple[ClassSurvival, ...]:
    """One :class:`ClassSurvival` per drug class from the ensemble's (classes, members, K) survival."""
    index_24m = round(24 / bin_months) - 1
    index_12m = round(12 / bin_months) - 1
    survival = []
    for i, name in enumerate(DRUG_CLASSES):
        mean = surv[i].mean(axis=0)
        low, high = np.percentile(surv[i], [10, 90], axis=0)
        survival.append(
            ClassSurvival(
                name,
                mean.astype(np.float32),
                low.astype(np.float32),
                high.astype(np.float32),
                (float(mean[index_12m]), float(low[index_12m]), float(high[index_12m])),
                (float(mean[index_24m]), float(low[index_24m]), float(high[index_24m])),
            )
        )
    return tuple(survival)


def _attributions(
    model: LoadedModel, spec: FeatureSpec, x: NDArray[np.float32], cohort: str, tmb: TmbResult, mutated: set[str]
) -> tuple[tuple[tuple[str, float], ...], float]:
    """Integrated gradients of the 24-month risk of death for the input ``x``, grouped (cancer type, TMB, each
    mutated model gene) and sorted by magnitude, with the completeness error."""
    from medai_core.explain import integrated_gradients

    index_24m = round(24 / float(model.card.artifacts["bin_months"])) - 1
    names = spec.names
    baseline = x.copy()
    n_types = len(spec.cancer_types)
    baseline[:n_types] = np.asarray(spec.type_prevalence, dtype=np.float32)
    baseline[names.index("log_tmb")] = 0.0
    first_mut = names.index(f"mut={spec.genes[0]}") if spec.genes else len(names)
    baseline[first_mut : first_mut + len(spec.genes)] = 0.0
    attribution = integrated_gradients(
        _attribution_fn(model.keras_model, index_24m), x, baseline=baseline, steps=IG_STEPS
    )
    values = attribution.values
    grouped: list[tuple[str, float]] = [
        (f"cancer type: {cohort}", float(values[:n_types].sum())),
        (f"TMB {tmb.tmb_per_mb:.1f} mut/Mb", float(values[names.index("log_tmb")])),
    ]
    grouped += [(f"{g} mutated", float(values[first_mut + k])) for k, g in enumerate(spec.genes) if g in mutated]
    grouped.sort(key=lambda item: -abs(item[1]))
    return tuple(grouped), float(attribution.delta)


def _survival(
    model: LoadedModel,
    spec: FeatureSpec,
    cohort: str,
    tmb: TmbResult,
    mutated: set[str],
    panel: Panel,
    drug_class: str,
    age_group: str | None,
    sex: str | None,
) -> tuple[tuple[ClassSurvival, ...], tuple[tuple[str, float], ...], str]:
    """Survival per drug class with the ensemble interval, and the integrated-gradients attributions of the
    selected class, for a cohort cancer type."""
    rows = np.stack(
        [
            encode(
                spec,
                cancer_type=cohort,
                tmb=tmb.tmb_per_mb,
                mutated=mutated,
                panel=panel,
                drug_class=d,
                age_group=age_group,
                sex=sex,
            )
            for d in DRUG_CLASSES
        ]
    )
    surv = np.asarray(model.predict(rows))  # (3, M, K)
    survival = _class_survival(surv, float(model.card.artifacts["bin_months"]))
    x = rows[list(DRUG_CLASSES).index(drug_class)]
    grouped, delta = _attributions(model, spec, x, cohort, tmb, mutated)
    note = (
        "Integrated gradients (Sundararajan et al. 2017) of the predicted 24-month risk of death on "
        f"{drug_class}, in percentage points, relative to a patient with the cohort's cancer-type mix, average TMB "
        f"and none of the model's genes mutated (same age, sex, drug class and panel). Completeness error "
        f"{delta:+.2f} points."
    )
    return survival, grouped, note


def analyse_bytes(
    data: bytes,
    filename: str,
    *,
    model: LoadedModel,
    tumour_type: str,
    panel: str | float = "IMPACT468",
    sample: str | None = None,
    drug_class: str = "PD-1/PD-L1",
    age_group: str | None = None,
    sex: str | None = None,
    evidence_base: EvidenceBase | None = None,
    panel_file: PanelFile | None = None,
) -> GeneResult:
    """Read a panel file's bytes and analyse one sample (the path shared by the page, the CLI and the benchmark).

    The bytes are untrusted: they are parsed by :func:`~medai_core.genomics.readers.read_panel` in an isolated worker
    (:func:`~medai_core.isolation.read_isolated`), never in the calling (server) process. A caller that has already
    read the file that way passes the result as ``panel_file`` and the bytes are not parsed again. The analysis step
    whose cost grows with the number of calls (:func:`~medai_core.genomics.findings.panel_findings`: TMB, evidence,
    tiers, options) runs the same way, under the same time and memory limits as the reader; the model step reads a
    fixed-size input. (Inside an analysis-pool worker, which has ``MEDAI_ISOLATION=off``, both run in place, under
    the pool's time limit.)

    Args:
        data: the uploaded file's bytes (not read when ``panel_file`` is given).
        filename: the uploaded name, used only to word messages.
        panel_file: the :class:`~medai_core.genomics.readers.PanelFile` already read from ``data``, if any.

    Raises:
        PanelInputError: unreadable file (including one the worker could not read or analyse within the limits),
            unknown tumour type, panel or sample.
    """
    from medai_core.genomics.evidence import load_evidence
    from medai_core.genomics.panels import resolve_panel
    from medai_core.genomics.readers import read_panel
    from medai_core.isolation import read_isolated

    tumour = resolve_tumour(tumour_type)
    resolved_panel = resolve_panel(panel)
    label = filename or "The file"
    if panel_file is None:
        panel_file = read_isolated(read_panel, data, name=filename, label=label)
    calls = panel_file.for_sample(sample)
    base = evidence_base if evidence_base is not None else load_evidence()
    findings = _isolated_findings(calls, tumour, resolved_panel, base, model, label)
    return analyse_panel(
        calls,
        model=model,
        tumour_type=tumour,
        panel=resolved_panel,
        evidence_base=base,
        findings=findings,
        drug_class=drug_class,
        age_group=age_group,
        sex=sex,
        notes=panel_file.notes,
        genome_build=panel_file.genome_build,
    )
