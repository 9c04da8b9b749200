"""Glucose (CGM): upload or simulated demo -> data sufficiency -> AGP -> forecast with hypo risk -> backtest ->
attributions -> report. Every glucose number and axis follows the sidebar unit (``glucose_unit``)."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from medai_core.display import STATUS_COLOURS, Status, StatusLevel, format_percent
from medai_core.domains import GLUCOSE
from medai_core.errors import InputError, ModelError
from medai_core.glucose.personalise import distinct_decimals
from medai_core.glucose.report import audit_outputs, build_report
from medai_core.glucose.simulate import DEMO_DAYS, DEMO_SEED, SIMULATED_LABEL
from medai_core.plots.glucose import (
    agp_figure,
    attribution_strip,
    clarke_grid_figure,
    daily_profiles_figure,
    forecast_fan_figure,
    time_in_ranges_figure,
    trace_figure,
)
from medai_core.reports import sha256_bytes
from medai_core.results.glucose import analysis_payload
from medai_core.ui.cache import analyse_glucose, analyse_glucose_demo, get_card, per_result, timezone_names
from medai_core.ui.components import (
    Headline,
    error_box,
    escape_markdown,
    headline_cards,
    meaning_line,
    model_card_expander,
    record_once,
    report_downloads,
    result_chart,
    result_table,
    slow,
    status_badge,
    upload_guard,
)
from medai_core.units import CONSENSUS, band_labels, format_glucose, from_mg_dl, glucose_digits

MODEL_ID = GLUCOSE.model_id
FILE_OFFSET = "the file's own UTC offset"
HYPO_LABELS = {
    "lt70_30min": ("< 70 in 30 min", "< 3.9 in 30 min", "P(a reading < 70 mg/dL / 3.9 mmol/L within 30 minutes)"),
    "lt70_60min": ("< 70 in 60 min", "< 3.9 in 60 min", "P(a reading < 70 mg/dL / 3.9 mmol/L within 60 minutes)"),
    "lt54_60min": ("< 54 in 60 min", "< 3.0 in 60 min", "P(a reading < 54 mg/dL / 3.0 mmol/L within 60 minutes)"),
}


def hypo_status(probability: float) -> Status:
    """A hypoglycaemia probability in words and colour: high (>= 50 %), raised (>= 20 %) or low."""
    if probability >= 0.5:
        return Status(StatusLevel.PROBLEM, "", "High")
    if probability >= 0.2:
        return Status(StatusLevel.CAUTION, "", "Raised")
    return Status(StatusLevel.OK, "", "Low")


def met_cell(value: str) -> str:
    """Cell style of the targets table's status column: the status word's own colour pair."""
    level = {"Met": StatusLevel.OK, "Not met": StatusLevel.PROBLEM}.get(value, StatusLevel.INFO)
    fg, bg = STATUS_COLOURS[level]
    return f"color: {fg}; background-color: {bg}; font-weight: 600"


unit: str = st.session_state.get("glucose_unit", "mg/dL")
st.title(":material/monitoring: Glucose (CGM)")
st.markdown(
    "Dexcom Clarity or LibreView CSV exports, or a CSV with timestamp and glucose columns (mg/dL or mmol/L). "
    f"Values are shown in **{unit}** (change it in the sidebar)."
)

try:
    card = get_card(MODEL_ID)
except ModelError as exc:
    st.error(f"The glucose model cannot be used: {exc}")
    st.stop()

uploaded = st.file_uploader("CGM export (CSV)", key="glucose.upload")
zone_choice = st.selectbox(
    "Patient's time zone",
    [FILE_OFFSET, *timezone_names()],
    key="glucose.timezone",
    help="Applied to timestamps that carry a UTC offset or 'Z'; local timestamps without one are read as they are.",
)
timezone = None if zone_choice == FILE_OFFSET else zone_choice
try:
    data = upload_guard(uploaded)
except InputError as exc:
    error_box(exc)
    st.stop()

simulated = data is None
try:
    with slow("Reading the file and running the forecast…"):
        if data is None:
            st.info(f"No file uploaded: showing the demo. **{SIMULATED_LABEL}.**", icon=":material/science:")
            result, input_bytes = analyse_glucose_demo(MODEL_ID, card.version, DEMO_DAYS, DEMO_SEED)
        else:
            input_bytes = data
            patient = st.session_state.get(f"glucose.patient.{sha256_bytes(data)[:12]}")
            result = analyse_glucose(MODEL_ID, card.version, data, patient, timezone)
except InputError as exc:
    error_box(exc)
    st.stop()

answer = st.container()  # the headline cards, above every detail

if len(result.patients) > 1:
    st.selectbox(
        "Patient in this file",
        result.patients,
        index=result.patients.index(result.patient) if result.patient in result.patients else 0,
        key=f"glucose.patient.{sha256_bytes(input_bytes)[:12]}",
    )


def glucose_text(value_mg_dl: float) -> str:
    return format_glucose(value_mg_dl, unit)


# ------------------------------------------------------------------ data sufficiency
st.header("Data")
headline_cards(
    [
        Headline("Source", "simulated" if simulated else result.source_format.replace("_", " ")),
        Headline("Readings", f"{result.n_readings:,}", f"one every {result.sampling_minutes:.0f} min"),
        Headline("Days covered", f"{result.agp.metrics['days']:.1f}", "14 days recommended for an AGP"),
        Headline("CGM active", f"{result.agp.metrics['active_percent']:.0f} %", "70 % recommended"),
    ]
)
st.caption(
    f"{result.start} to {result.end} · unit in file: {result.unit_detected} · "
    f"device: {escape_markdown(result.device or 'not stated in the file')}"
)
for check in result.agp.checks:  # each line with its own status badge: the word and its colour agree
    status_badge(Status(StatusLevel.OK if check.passed else StatusLevel.PROBLEM, check.text, check.status.capitalize()))
with st.expander("How the file was read"):
    for note in result.notes:
        st.markdown(f"- {escape_markdown(note)}")

# ------------------------------------------------------------------ AGP
st.header("Ambulatory glucose profile")
m = result.agp.metrics


def target_rows() -> pd.DataFrame:
    """The AGP's consensus targets in ``unit``: metric, value, target and whether it is met."""
    rows = []
    for t in result.agp.targets:
        label = result.agp.label(t.key, unit)
        if t.key in ("mean_mg_dl", "sd_mg_dl"):
            value = glucose_text(t.value)
        elif t.key == "days":
            value = f"{t.value:.1f}"
        else:
            value = "-" if not math.isfinite(t.value) else f"{t.value:.1f} %"
        rows.append(
            {
                "metric": label,
                "value": value,
                "consensus target": t.target,
                "status": "No target" if t.passed is None else ("Met" if t.passed else "Not met"),
            }
        )
    return pd.DataFrame(rows)


# Tables and figures are built once per result (and unit) for every session (per_result), not on every run.
targets_table = per_result(result, f"glucose.targets:{unit}", target_rows)
left, right = st.columns([3, 2])
left.dataframe(targets_table.style.map(met_cell, subset=["status"]), hide_index=True, width="stretch")
with right:
    result_chart(result, "glucose.tir", lambda: time_in_ranges_figure(m, unit), variant=unit)
if result.agp.agp_available:
    agp = result.agp
    result_chart(result, "glucose.agp", lambda: agp_figure(agp.bin_minutes, agp.percentiles, unit), variant=unit)
    result_chart(result, "glucose.daily", lambda: daily_profiles_figure(agp.day_labels, agp.daily, unit), variant=unit)
result_chart(
    result,
    "glucose.trace",
    lambda: trace_figure(result.trace_times, result.trace_mg_dl, unit, ceiling_mg_dl=result.sensor_limits_mg_dl[1]),
    variant=unit,
)

# ------------------------------------------------------------------ forecast
st.header("Forecast and hypoglycaemia risk")
f = result.forecast
if f is None:
    st.info(result.forecast_unavailable)
else:
    st.caption(
        f"From the last reading at {f.origin_time} ({glucose_text(f.last_mg_dl)}); "
        "80 % interval calibrated on validation patients."
        + (
            " Adapted to this patient (median and interval shifted; see the backtest below); the hypoglycaemia "
            "risks are the shipped model's."
            if f.personalised
            else ""
        )
    )
    headline_cards(
        [
            Headline(
                f"In {int(f.minutes[i])} min",
                glucose_text(f.p50[i]),
                f"80 % interval {glucose_text(f.p10[i])} to {glucose_text(f.p90[i])}; straight-line baseline "
                f"{glucose_text(f.linear[i])}",
            )
            for i in (5, 11)
        ]
        + [
            Headline(
                f"Hypoglycaemia risk {label_mg if unit == 'mg/dL' else label_mmol}",
                format_percent(f.hypo[key]),
                f"Calibrated. Baseline from the last reading alone: {format_percent(f.hypo_baseline[key])}.",
                hypo_status(f.hypo[key]),
            )
            for key, (label_mg, label_mmol, _meaning) in HYPO_LABELS.items()
        ]
    )
    forecast = f
    result_chart(
        result,
        "glucose.fan",
        lambda: forecast_fan_figure(
            forecast.window_times,
            forecast.window_mg_dl,
            forecast.origin_time,
            forecast.minutes,
            forecast.p10,
            forecast.p50,
            forecast.p90,
            unit,
            linear_mg_dl=forecast.linear,
            not_adapted_mg_dl=forecast.p50_shipped,
            ceiling_mg_dl=result.sensor_limits_mg_dl[1],
        ),
        variant=unit,
    )

# ------------------------------------------------------------------ backtest
st.header("Backtest on this history")
b = result.backtest
if b is None:
    st.info(result.backtest_unavailable)
else:
    st.caption(
        f"{b.windows} rolling 60-minute forecasts (origins every 30 min with 3 h of input), "
        "scored against what was measured."
    )
    backtest = b

    def backtest_rows() -> pd.DataFrame:
        digits = glucose_digits(unit)
        return pd.DataFrame(
            [
                {
                    "method": name,
                    f"RMSE 30 min ({unit})": round(float(from_mg_dl(s["rmse_30"], unit)), digits + 1),
                    f"RMSE 60 min ({unit})": round(float(from_mg_dl(s["rmse_60"], unit)), digits + 1),
                    f"RMSE mean 5-60 ({unit})": round(float(from_mg_dl(s["rmse_avg"], unit)), digits + 1),
                    "80 % coverage": "-" if not math.isfinite(s["coverage_80"]) else f"{s['coverage_80']:.0%}",
                    "Clarke A+B": f"{s['clarke_ab_percent']:.1f} %",
                }
                for name, s in (
                    ("model (median)", backtest.model),
                    ("linear regression", backtest.linear),
                    ("last value", backtest.last_value),
                )
            ]
        )

    result_table(result, f"glucose.backtest:{unit}", backtest_rows, hide_index=True, width="stretch")
    left, right = st.columns([2, 3])
    left.caption(
        "Clarke zones of the model's 30-minute forecasts: "
        + ", ".join(f"{z} {p:.1f} %" for z, p in b.clarke_percent.items())
    )
    with right:
        result_chart(
            result,
            "glucose.clarke",
            lambda: clarke_grid_figure(backtest.clarke_reference, backtest.clarke_predicted, unit),
            variant=unit,
        )

st.subheader("Adapted to this patient?")
adapted = result.personalisation
status_badge(
    Status(StatusLevel.OK, adapted.reason, "Adapted") if adapted.applied else Status(StatusLevel.INFO, adapted.reason)
)
if adapted.backtest_rmse_before is not None and adapted.backtest_rmse_after is not None:
    before, after = (float(from_mg_dl(v, unit)) for v in (adapted.backtest_rmse_before, adapted.backtest_rmse_after))
    digits = distinct_decimals(before, after, least=glucose_digits(unit) + 1)
    result_table(
        result,
        f"glucose.adapted:{unit}",
        lambda: pd.DataFrame(
            [
                {
                    "forecast": name,
                    f"backtest RMSE mean 5-60 ({unit})": f"{float(from_mg_dl(value, unit)):.{digits}f}",
                    "shown on this page": "yes" if shown else "no",
                }
                for name, value, shown in (
                    ("shipped model", adapted.backtest_rmse_before, not adapted.applied),
                    ("adapted to this patient", adapted.backtest_rmse_after, adapted.applied),
                )
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    st.caption(
        f"Learnt on {adapted.fit_windows} forecasts of the first half of the history, checked on "
        f"{adapted.backtest_windows} forecasts (every 30 min) of the second half, which the adaptation never saw."
    )

# ------------------------------------------------------------------ attributions
if f is not None:
    st.header("What drove the forecast")
    st.caption(
        "Integrated gradients (Sundararajan et al. 2017) of the 30-minute median forecast over the 3-hour input, "
        f"against a flat trace at the last reading; the bars sum to {glucose_text(abs(f.attribution_total_mg_dl))} "
        f"({'up' if f.attribution_total_mg_dl >= 0 else 'down'})."
        + (" They explain the shipped model, before the adaptation to this patient." if f.personalised else "")
    )
    result_chart(
        result,
        "glucose.attributions",
        lambda: attribution_strip(forecast.window_times, forecast.attributions_mg_dl, unit),
        variant=unit,
    )

# ------------------------------------------------------------------ the answer, at the top
tir_target = next((t for t in result.agp.targets if t.key == "tir_70_180"), None)
tir_status = Status.from_check(tir_target.passed if tir_target else None)
tir_band = band_labels(result.agp.range_unit)["tir_70_180"]
with answer:
    cards = [
        Headline(f"Time in range {tir_band}", f"{m['tir_70_180']:.1f} %", "Consensus target > 70 %", tir_status),
        Headline(
            "Time below range",
            f"{m['tbr_lt_54'] + m['tbr_54_69']:.1f} %",
            f"Target < 4 %; below {CONSENSUS[unit].very_low:g} {unit}: {m['tbr_lt_54']:.1f} % (target < 1 %)",
        ),
        Headline("GMI", f"{m['gmi_percent']:.1f} %", f"Mean glucose {glucose_text(m['mean_mg_dl'])}"),
    ]
    if f is not None:
        cards += [
            Headline(
                "Forecast in 30 min",
                glucose_text(f.p50[5]),
                f"80 % interval {glucose_text(f.p10[5])} to {glucose_text(f.p90[5])}; straight-line baseline "
                f"{glucose_text(f.linear[5])}",
            ),
            Headline(
                f"Hypoglycaemia risk {HYPO_LABELS['lt70_60min'][0 if unit == 'mg/dL' else 1]}",
                format_percent(f.hypo["lt70_60min"]),
                f"Baseline from the last reading alone: {format_percent(f.hypo_baseline['lt70_60min'])}",
                hypo_status(f.hypo["lt70_60min"]),
            ),
        ]
    headline_cards(cards)
    meaning_line(
        f"over these {m['days']:.1f} days glucose was in range {m['tir_70_180']:.0f} % of the time"
        + (
            f"; the model expects {glucose_text(f.p50[5])} in 30 minutes (80 % interval "
            f"{glucose_text(f.p10[5])} to {glucose_text(f.p90[5])})."
            if f is not None
            else "."
        ),
        "a dosing recommendation: the forecast knows only the CGM trace, not meals, insulin or exercise after "
        "the last reading.",
    )

# ------------------------------------------------------------------ model, report, audit
model_card_expander(card)
report = build_report(result, card, input_bytes, unit, simulated=simulated)
report_downloads(report, analysis_payload(result), key_prefix="glucose")
record_once("glucose", card, sha256_bytes(input_bytes), audit_outputs(result))
