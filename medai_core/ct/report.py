"""The CT case report (HTML/PDF/JSON through :mod:`medai_core.reports`) and the audit outputs of one analysis."""

from __future__ import annotations

from typing import Any

from medai_core.ct.analysis import NoduleAnalysis
from medai_core.domains import CT
from medai_core.models import ModelCard
from medai_core.reports import CaseReport, ReportSection, provenance_for

__all__ = ["audit_outputs", "build_report", "report_payload"]


def _mm(value: float | None, unit: str = "mm") -> str:
    """A length (or volume) with one decimal and its unit, or why it is unknown."""
    return "unknown (no pixel spacing)" if value is None else f"{value:.1f} {unit}"


def build_report(result: NoduleAnalysis, card: ModelCard, input_bytes: bytes) -> CaseReport:
    """The printable report: result, size, guideline, explanation check, input, model metrics, caveats."""
    return CaseReport(
        title="CT nodule report",
        page=CT.page_name,
        provenance=provenance_for(card, input_bytes),
        summary=(
            f"Malignancy probability {result.probability:.2f} (interval {result.low:.2f}-{result.high:.2f}), "
            f"{result.risk_band} risk band; size-based Lung-RADS {result.lung_rads.category}."
        ),
        sections=_sections(result, card),
        caveats=tuple(card.limitations),
    )


def _sections(result: NoduleAnalysis, card: ModelCard) -> tuple[ReportSection, ...]:
    """The report's sections in order; the explanation check and the contributions only where there are some."""
    held_out = card.metrics.get("model", {})
    sections = [_result_section(result), _size_section(result)]
    if result.deletion is not None:
        sections.append(
            ReportSection(
                f"Explanation check (Grad-CAM, evidence for {result.grad_cam_target})", text=result.deletion.reading
            )
        )
    sections.append(
        ReportSection(
            "Input",
            rows=(("Format", result.source_format), *((k, v) for k, v in result.metadata.items() if k != "Format")),
            text="; ".join(result.notes),
        )
    )
    if result.contributions:
        sections.append(
            ReportSection(
                "Top contributions to the probability (log-odds; coefficient x standardised value)",
                rows=tuple((label, f"{share:+.2f}") for label, _, share in result.labelled_contributions[:5]),
            )
        )
    sections.append(
        ReportSection(
            "Model performance on held-out exams",
            rows=tuple((k, str(v)) for k, v in held_out.items() if isinstance(v, (int, float))),
        )
    )
    return tuple(sections)


def _result_section(result: NoduleAnalysis) -> ReportSection:
    """The model's probability, interval and risk band."""
    return ReportSection(
        "Model result",
        rows=(
            ("Malignancy probability", f"{result.probability:.2f}"),
            ("Interval", f"{result.low:.2f} - {result.high:.2f}"),
            ("Interval meaning", result.interval_meaning or "lowest to highest ensemble member"),
            ("Risk band", f"{result.risk_band} (cut-offs {result.thresholds[0]:.2f} / {result.thresholds[1]:.2f})"),
        ),
    )


def _size_section(result: NoduleAnalysis) -> ReportSection:
    """The measured size and the size-only Lung-RADS category (not the model)."""
    return ReportSection(
        "Size and size-based guideline (not the model)",
        rows=(
            ("Long axis", _mm(result.long_axis_mm)),
            ("Short axis", _mm(result.short_axis_mm)),
            ("Mean diameter", _mm(result.mean_diameter_mm)),
            ("Volume", _mm(result.volume_mm3, "mm^3")),
            ("Lung-RADS (size only)", f"{result.lung_rads.category}: {result.lung_rads.meaning}"),
            ("Rule", result.lung_rads.rule),
            ("Guideline", result.lung_rads.source),
        ),
    )


def report_payload(result: NoduleAnalysis) -> dict[str, Any]:
    """The JSON record's payload: the CLI keys plus the explanation check and the seed."""
    payload = result.summary()
    payload["interval_meaning"] = result.interval_meaning
    payload["top_contributions"] = [
        {"input": name, "standardised_value": round(z, 3), "log_odds": round(share, 4)}
        for name, z, share in result.contributions[:5]
    ]
    payload["lung_rads"] = {"category": result.lung_rads.category, "rule": result.lung_rads.rule}
    payload["seed"] = (
        None if result.seed is None else {"x": result.seed.col, "y": result.seed.row, "slice": result.seed.slice_index}
    )
    if result.deletion is not None:
        payload["deletion"] = {
            "auc_salient": round(result.deletion.auc_salient, 4),
            "auc_random": round(result.deletion.auc_random, 4),
            "reading": result.deletion.reading,
        }
    return payload


def audit_outputs(result: NoduleAnalysis) -> dict[str, Any]:
    """What the audit row records: numbers only, nothing identifying."""
    return {
        "probability": round(result.probability, 4),
        "interval": [round(result.low, 4), round(result.high, 4)],
        "risk_band": result.risk_band,
        "lung_rads": result.lung_rads.category,
    }
