"""JSON payloads of the gene-panel domain: one analysis (``predict genes``), and one cohort evaluation
(``evaluate genes``), shared by the CLI, the page and the report (keys per ``docs/CLI.md``; fields only added)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from medai_core.genomics.evidence import evidence_rows

if TYPE_CHECKING:
    from medai_core.genomics.analysis import GeneResult
    from medai_core.models import ModelCard
    from medai_core.provenance import Membership

__all__ = ["evaluation_payload", "result_payload"]


def result_payload(result: GeneResult, card: ModelCard) -> dict[str, Any]:
    """The JSON document of one analysis: TMB, variants with their AMP/ASCO/CAP ``tier``, evidence,
    ``therapy_options`` (best first), survival per drug class, attributions, notes and the model's identity.

    Where the tumour type is outside the immunotherapy cohort, ``survival_modelled`` is false, ``survival_note``
    says why, and the survival fields are null (``by_drug_class`` empty)."""
    selected = result.selected if result.survival_modelled else None
    return {
        "tumour_type": result.tumour_type,
        "panel": result.panel,
        "tmb": round(result.tmb.tmb_per_mb, 3),
        "tmb_high": result.tmb.high,
        "tmb_percentile": None if result.tmb.percentile is None else round(result.tmb.percentile, 1),
        "tmb_reference": result.tmb.reference_source,
        "n_nonsynonymous": result.n_nonsynonymous,
        "variants": [
            {
                "gene": v.gene,
                "protein_change": v.protein_change,
                "classification": v.classification,
                "vaf": v.vaf,
                "tier": tier,
                "tier_reason": reason,
            }
            for v, (tier, reason) in zip(result.variants, result.tiers, strict=True)
        ],
        "therapy_options": [o.to_dict() for o in result.therapy_options],
        "evidence": evidence_rows(result.evidence),
        "evidence_sources": result.evidence_sources,
        "drug_class": result.drug_class,
        "survival": None
        if selected is None
        else {
            "months": [float(m) for m in result.months],
            "probability": [round(float(p), 4) for p in selected.probability],
            "low": [round(float(p), 4) for p in selected.low],
            "high": [round(float(p), 4) for p in selected.high],
        },
        "os_12m": None if selected is None else round(selected.os_12m[0], 4),
        "os_12m_interval": None if selected is None else [round(selected.os_12m[1], 4), round(selected.os_12m[2], 4)],
        "os_24m": None if selected is None else round(selected.os_24m[0], 4),
        "os_24m_interval": None if selected is None else [round(selected.os_24m[1], 4), round(selected.os_24m[2], 4)],
        "by_drug_class": {
            s.drug_class: {"os_24m": round(s.os_24m[0], 4), "interval": [round(s.os_24m[1], 4), round(s.os_24m[2], 4)]}
            for s in result.survival
        },
        "baseline_os_24m": None if result.baseline_os_24m is None else round(result.baseline_os_24m, 4),
        "attributions": [{"feature": f, "value": round(v, 3)} for f, v in result.attributions],
        "disagreement": result.disagreement,
        "notes": list(result.notes),
        "panel_notes": list(result.panel_notes),
        "genome_build": result.genome_build,
        "oncotree_code": result.oncotree_code,
        "cohort_type": result.cohort_type,
        "tumour_note": result.tumour_note,
        "survival_modelled": result.survival_modelled,
        "survival_note": result.survival_note,
        "therapy_options_removed": [o.to_dict() for o in result.removed_options],
        "caveat": "outcome on treatment in an observational cohort, not randomised benefit",
        "model_id": card.id,
        "model_version": card.version,
        "weights_sha256": card.weights_sha256,
    }


def evaluation_payload(
    metrics: Mapping[str, Any],
    baselines: Mapping[str, Any],
    *,
    membership: Membership,
    held_out_only: bool,
    left_out: Mapping[str, int],
    card: ModelCard,
) -> dict[str, Any]:
    """The JSON document of ``evaluate genes``.

    Args:
        metrics: the model's metrics (``n``, ``c_index``, ``auc_12m``, ``auc_24m``, ``calibration_24m``).
        baselines: name -> the same metrics for each stored baseline on the same patients.
        membership: how many of the scored samples the card's manifest puts in each role.
        held_out_only: whether only samples used neither in training nor in model selection were scored.
        left_out: reason -> number of patients left out before scoring (no survival time, ...).
        card: the model card.
    """
    return {
        "n": metrics["n"],
        "c_index": metrics["c_index"],
        "auc_12m": metrics["auc_12m"],
        "auc_24m": metrics["auc_24m"],
        "calibration_24m": metrics.get("calibration_24m"),
        "baselines": dict(baselines),
        **membership.to_dict(),
        "held_out_only": held_out_only,
        "n_left_out": int(sum(left_out.values())),
        "left_out": dict(left_out),
        "model_id": card.id,
        "model_version": card.version,
        "weights_sha256": card.weights_sha256,
    }
