"""The glucose case report (HTML/PDF/JSON through :mod:`medai_core.reports`) in the reader's unit."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from medai_core.glucose.analysis import Backtest, Forecast, GlucoseAnalysis
from medai_core.glucose.personalise import Personalisation, distinct_decimals
from medai_core.models import ModelCard
from medai_core.reports import CaseReport, ReportSection, provenance_for
from medai_core.units import band_labels, format_glucose, from_mg_dl, glucose_digits

__all__ = ["audit_outputs", "build_report"]


def _pct(value: float, digits: int = 1) -> str:
    return "-" if not math.isfinite(value) else f"{value:.{digits}f} %"


def _metric_text(key: str, value: float, unit: str) -> str:
    if key in ("mean_mg_dl", "sd_mg_dl"):
        return format_glucose(value, unit)
    if key == "days":
        return "-" if not math.isfinite(value) else f"{value:.1f}"
    return _pct(value)


def audit_outputs(result: GlucoseAnalysis) -> dict[str, Any]:
    """The numbers recorded in the audit log for this analysis (no identifiers, mg/dL)."""
    out: dict[str, Any] = {
        "source_format": result.source_format,
        "n_readings": result.n_readings,
        "tir_70_180": round(result.agp.metrics["tir_70_180"], 2),
        "mean_mg_dl": round(result.agp.metrics["mean_mg_dl"], 1),
    }
    out["personalised"] = result.personalisation.applied
    if result.forecast is not None:
        out["p50_30min_mg_dl"] = round(float(result.forecast.p50[5]), 1)
        out["p50_60min_mg_dl"] = round(float(result.forecast.p50[11]), 1)
        out["hypo_risk"] = {k: round(v, 4) for k, v in result.forecast.hypo.items()}
    return out


def build_report(
    result: GlucoseAnalysis, card: ModelCard, input_bytes: bytes, unit: str, *, simulated: bool = False
) -> CaseReport:
    """The case report of one analysis, every glucose value in ``unit``."""
    agp = result.agp
    summary = (
        f"Time in range {band_labels(agp.range_unit)['tir_70_180']} {_pct(agp.metrics['tir_70_180'])}, "
        f"mean {format_glucose(agp.metrics['mean_mg_dl'], unit)}."
    )
    sections = [_data_section(result, simulated), _metrics_section(result, unit)]
    f = result.forecast
    if f is not None:
        sections.append(_forecast_section(f, unit))
        summary += (
            f" Forecast in 30 min {format_glucose(f.p50[5], unit)}; "
            f"P(< {format_glucose(70.0, unit)} within 60 min) {f.hypo['lt70_60min']:.0%}."
        )
    else:
        sections.append(ReportSection("Forecast", text=result.forecast_unavailable))
    if result.backtest is not None:
        sections.append(_backtest_section(result.backtest, unit))
    sections.append(_adaptation_section(result.personalisation, unit))
    caveats = tuple(card.limitations) + (("Simulated demo data: not a real patient.",) if simulated else ())
    return CaseReport(
        title="Glucose CGM report",
        page="glucose",
        provenance=provenance_for(card, input_bytes),
        summary=summary,
        sections=tuple(sections),
        caveats=caveats,
    )


def _data_section(result: GlucoseAnalysis, simulated: bool) -> ReportSection:
    """Where the readings come from, and the reader's notes and the AGP's data checks."""
    rows = (
        ("Source", result.source_format + (" (simulated, not a real patient)" if simulated else "")),
        ("Unit in the file", result.unit_detected),
        ("Device", result.device or "-"),
        ("Readings", str(result.n_readings)),
        ("Period", f"{result.start} to {result.end}"),
        ("Sampling", f"every {result.sampling_minutes:.0f} min"),
    )
    checks = tuple(f"{c.status.capitalize()}: {c.text}" for c in result.agp.checks)
    return ReportSection("Data", rows=rows, text=" ".join(result.notes + checks))


def _metrics_section(result: GlucoseAnalysis, unit: str) -> ReportSection:
    """The AGP metrics against the consensus targets."""
    agp = result.agp
    return ReportSection(
        "AGP metrics (2019 International Consensus on Time in Range)",
        table_header=("Metric", "Value", "Target", "Met"),
        table_rows=tuple(
            (
                agp.label(t.key, unit),
                _metric_text(t.key, t.value, unit),
                t.target,
                "-" if t.passed is None else ("yes" if t.passed else "no"),
            )
            for t in agp.targets
        ),
    )


def _forecast_section(f: Forecast, unit: str) -> ReportSection:
    """The forecast at 15-60 minutes with its intervals, the hypoglycaemia risks, and the readings that moved it."""
    rows = tuple(
        (
            f"+{int(m)} min",
            f"{format_glucose(f.p50[i], unit)} "
            f"(80 % interval {format_glucose(f.p10[i], unit)} to {format_glucose(f.p90[i], unit)})",
        )
        for i, m in enumerate(f.minutes)
        if int(m) in (15, 30, 45, 60)
    )
    risk = tuple((k, f"{v:.1%} (last-value baseline {f.hypo_baseline[k]:.1%})") for k, v in f.hypo.items())
    top = np.argsort(-np.abs(f.attributions_mg_dl))[:3]
    digits = glucose_digits(unit) + 1
    attribution_text = (
        f"The 30-minute forecast is {format_glucose(abs(f.attribution_total_mg_dl), unit).split()[0]} {unit} "
        f"{'above' if f.attribution_total_mg_dl >= 0 else 'below'} the forecast for a flat trace; the readings "
        "that moved it most: "
        + ", ".join(
            f"{f.window_times[i][11:16]} ({float(from_mg_dl(f.attributions_mg_dl[i], unit)):+.{digits}f} {unit})"
            for i in top
        )
        + " (integrated gradients)."
    )
    if f.personalised:
        attribution_text += (
            " The forecast is adapted to this patient (see 'Adapted to this patient?'); the attributions and "
            "hypoglycaemia risks are the shipped model's."
        )
    return ReportSection(f"Forecast from the last reading ({f.origin_time})", rows=rows + risk, text=attribution_text)


def _backtest_section(b: Backtest, unit: str) -> ReportSection:
    """The rolling-forecast backtest of the model and both baselines on this history."""
    header = ("Method", "RMSE 30 min", "RMSE 60 min", "RMSE mean 5-60", "80 % coverage", "Clarke A+B")

    def row(name: str, s: dict[str, float]) -> tuple[str, ...]:
        cov = "-" if not math.isfinite(s["coverage_80"]) else f"{s['coverage_80']:.0%}"
        return (
            name,
            format_glucose(s["rmse_30"], unit),
            format_glucose(s["rmse_60"], unit),
            format_glucose(s["rmse_avg"], unit),
            cov,
            _pct(s["clarke_ab_percent"]),
        )

    return ReportSection(
        f"Backtest on this history ({b.windows} rolling forecasts)",
        table_header=header,
        table_rows=(row("model", b.model), row("linear regression", b.linear), row("last value", b.last_value)),
    )


def _adaptation_section(adapted: Personalisation, unit: str) -> ReportSection:
    """Whether the forecast was adapted to this patient: both backtest errors where there are, and why."""
    if adapted.backtest_rmse_before is None or adapted.backtest_rmse_after is None:
        return ReportSection("Adapted to this patient?", text=adapted.reason)
    shown = [float(from_mg_dl(v, unit)) for v in (adapted.backtest_rmse_before, adapted.backtest_rmse_after)]
    digits = distinct_decimals(*shown, least=glucose_digits(unit) + 1)  # never "21.7" beside "21.7"
    return ReportSection(
        "Adapted to this patient?",
        table_header=("Forecast", "Backtest RMSE mean 5-60 (second half of the history)", "Shown"),
        table_rows=(
            ("shipped model", f"{shown[0]:.{digits}f} {unit}", "no" if adapted.applied else "yes"),
            ("adapted to this patient", f"{shown[1]:.{digits}f} {unit}", "yes" if adapted.applied else "no"),
        ),
        text=adapted.reason,
    )
