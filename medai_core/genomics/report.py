"""The case report of one gene-panel analysis (HTML/PDF/JSON through :mod:`medai_core.reports`)."""

from __future__ import annotations

from medai_core.genomics.analysis import OUTCOME_CAVEAT, GeneResult
from medai_core.models import ModelCard
from medai_core.reports import CaseReport, ReportSection, provenance_for

__all__ = ["gene_report"]


def _summary(result: GeneResult) -> str:
    """The report's one-paragraph summary: tumour, TMB, outcome, evidence and the best therapy option."""
    tmb = result.tmb
    if result.survival_modelled:
        sel = result.selected
        outcome = (
            f"Predicted 24-month overall survival on {result.drug_class}: {sel.os_24m[0]:.0%} (ensemble range "
            f"{sel.os_24m[1]:.0%}-{sel.os_24m[2]:.0%}); cancer type + TMB baseline {result.baseline_os_24m or 0:.0%}"
        )
    else:
        outcome = result.survival_note.rstrip(".")
    return (
        f"{result.tumour_type} (OncoTree {result.oncotree_code}), panel {result.panel}: {result.n_nonsynonymous} "
        f"nonsynonymous calls, TMB {tmb.tmb_per_mb:.1f} mut/Mb{' (TMB-high)' if tmb.high else ''}. {outcome}; "
        f"{len(result.evidence)} evidence items matched"
        + (
            f"; best therapy option {result.therapy_options[0].drugs} (tier {result.therapy_options[0].tier})."
            if result.therapy_options
            else "; no therapy option supported by the evidence."
        )
    )


def _more(values: tuple[str, ...], shown: int) -> str:
    """The first ``shown`` values joined, with ``(+N more)`` for the rest."""
    return "; ".join(values[:shown]) + (f" (+{len(values) - shown} more)" if len(values) > shown else "")


def _options_section(result: GeneResult) -> ReportSection:
    """Therapy options (offered, then withheld) with their support and resistance evidence."""
    options = result.therapy_options
    return ReportSection(
        "Therapy options",
        text=(
            "Drugs supported by the matched evidence, best first: AMP/ASCO/CAP 2017 tier (I-A: FDA label or "
            "CIViC level A in this tumour type; I-B: level B in this type; II-C: level A/B in another type or "
            "level C; II-D: level D), then support in this tumour type. Evidence of resistance to the same drugs "
            f"among this patient's calls is listed beside each. Sources: {result.evidence_sources}."
            if options
            else "No therapy is supported by the matched evidence. " + result.evidence_sources + "."
        ),
        table_header=("tier", "drugs", "supported by", "sources", "resistance evidence"),
        table_rows=tuple(
            (
                o.tier + (" (tumour-agnostic)" if o.agnostic else ""),
                o.drugs + (f" [withheld: {'; '.join(o.removed_by)}]" if o.removed_by else ""),
                ", ".join(o.calls),
                _more(o.sources, 4),
                _more(o.resistance, 3) or "none found",
            )
            for o in (*options[:40], *result.removed_options[:10])
        ),
    )


def _tmb_section(result: GeneResult) -> ReportSection:
    tmb = result.tmb
    pct = f"{tmb.percentile_label} ({tmb.reference_source})" if tmb.percentile is not None else "n/a"
    return ReportSection(
        "Tumour mutational burden",
        rows=(
            ("TMB", f"{tmb.tmb_per_mb:.2f} mut/Mb ({tmb.n_nonsynonymous} calls / {tmb.size_mb:g} Mb)"),
            ("Panel size source", tmb.size_source),
            ("Percentile within cancer type", pct),
            ("TMB-high (>= 10 mut/Mb)", "yes" if tmb.high else "no"),
            ("Threshold source", tmb.threshold_source),
            *(("Panel note", note) for note in result.panel_notes),
        ),
    )


def _survival_section(result: GeneResult) -> ReportSection:
    return ReportSection(
        "Predicted overall survival on immunotherapy",
        text=OUTCOME_CAVEAT if result.survival_modelled else result.survival_note,
        table_header=("drug class", "OS 12 months", "OS 24 months"),
        table_rows=tuple(
            (
                s.drug_class,
                f"{s.os_12m[0]:.0%} ({s.os_12m[1]:.0%}-{s.os_12m[2]:.0%})",
                f"{s.os_24m[0]:.0%} ({s.os_24m[1]:.0%}-{s.os_24m[2]:.0%})",
            )
            for s in result.survival
        ),
        rows=(
            (
                "Baseline (Cox: cancer type + TMB), OS 24 months",
                "not modelled" if result.baseline_os_24m is None else f"{result.baseline_os_24m:.0%}",
            ),
            ("Training cohort Kaplan-Meier, OS 24 months", f"{result.cohort_os_24m:.0%}"),
            ("Model vs evidence", result.disagreement or "no disagreement found"),
        ),
    )


def _evidence_section(result: GeneResult) -> ReportSection:
    return ReportSection(
        "Knowledge-base evidence",
        text=result.evidence_sources,
        table_header=("call", "level", "significance", "drugs", "disease", "same type", "source"),
        table_rows=tuple(
            (
                e.matched,
                e.level,
                f"{e.significance} ({e.direction})",
                e.drugs,
                e.disease,
                "yes" if e.same_tumour_type else "no",
                e.source,
            )
            for e in result.evidence[:60]
        ),
    )


def _variants_section(result: GeneResult) -> ReportSection:
    return ReportSection(
        "Variants",
        table_header=("gene", "protein change", "classification", "VAF", "nonsynonymous", "AMP/ASCO/CAP tier"),
        table_rows=tuple(
            (
                v.gene,
                v.protein_change,
                v.classification,
                "" if v.vaf is None else f"{v.vaf:.2f}",
                "yes" if v.nonsynonymous else "no",
                tier,
            )
            for v, (tier, _) in list(zip(result.variants, result.tiers, strict=True))[:500]
        ),
    )


def gene_report(result: GeneResult, card: ModelCard, input_bytes: bytes) -> CaseReport:
    """A report with the variants, evidence, TMB, survival per drug class, attributions and caveats."""
    sections = (
        _options_section(result),
        _tmb_section(result),
        _survival_section(result),
        ReportSection(
            "Attributions",
            text=result.attribution_note,
            table_header=("feature", "points of 24-month risk"),
            table_rows=tuple((f, f"{v:+.1f}") for f, v in result.attributions),
        ),
        _evidence_section(result),
        _variants_section(result),
    )
    return CaseReport(
        title="Gene panel analysis",
        page="Gene panel",
        provenance=provenance_for(card, input_bytes),
        summary=_summary(result),
        sections=sections,
        caveats=(OUTCOME_CAVEAT, *card.limitations, *result.panel_notes, *result.notes),
    )
