"""One CGM analysis: AGP report, forecast from the last reading with hypoglycaemia risk, attributions, backtest.

:func:`analyse` takes a :class:`~medai_core.glucose.readers.CGMRecord` and the loaded forecaster and returns a frozen,
picklable :class:`GlucoseAnalysis` (all glucose in mg/dL; pages convert for display).

Every cadence is served by the 5-minute model: the record's grid is anchored at its last reading (the forecast
starts at the file's last reading time), 1-minute readings are averaged onto it, 15-minute readings have the points
between them interpolated, and the backtest and adaptation score only the steps where a reading exists
(:func:`~medai_core.glucose.prepare.target_stride`). Forecasts are kept within the sensor family's range (up to
500 mg/dL for FreeStyle Libre).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from medai_core.glucose.agp import AGPReport, agp_report
from medai_core.glucose.evaluation import Evaluation, clarke_zones, collect_windows, evaluate_windows
from medai_core.glucose.forecast import (
    DEFAULT_LIMITS_MG_DL,
    HYPO_KEYS,
    MEDIAN_SLICE,
    ForecastParams,
    decode_outputs,
    hypo_baseline_probabilities,
    linear_baseline,
    params_from_artifacts,
)
from medai_core.glucose.personalise import Personalisation, personalise
from medai_core.glucose.prepare import (
    DELTA_SCALE,
    GRID_MINUTES,
    HORIZON_STEPS,
    INPUT_STEPS,
    LEVEL_CENTER,
    LEVEL_SCALE,
    MAX_FILL_GAP_MINUTES,
    Grid,
    no_windows_reason,
    target_stride,
    window_features,
)
from medai_core.glucose.readers import CGMRecord
from medai_core.units import MG_DL, sensor_family

if TYPE_CHECKING:
    from medai_core.models import LoadedModel

__all__ = [
    "ATTRIBUTION_STEP",
    "Backtest",
    "Forecast",
    "GlucoseAnalysis",
    "analyse",
    "backtest",
    "forecast_from_last",
]

ATTRIBUTION_STEP = 6
"""Attributions explain the median forecast at step 6 (30 minutes)."""
IG_STEPS = 32
MAX_CLARKE_POINTS = 3000


@dataclass(frozen=True)
class Forecast:
    """The forecast from the last reading.

    Attributes:
        origin_time: ISO time of the last reading.
        last_mg_dl: the last reading.
        minutes: int (12,) 5..60.
        p10, p50, p90: float64 (12,) calibrated 80 % interval and median (mg/dL).
        linear: float64 (12,) the linear-regression baseline's forecast (mg/dL).
        hypo: calibrated probabilities by ``HYPO_KEYS``.
        hypo_baseline: the last-value baseline's probabilities by ``HYPO_KEYS``.
        window_times: ISO times (36,) of the input window.
        window_mg_dl: float64 (36,) the input window (short gaps interpolated).
        attributions_mg_dl: float64 (36,) integrated gradients of the 30-min median per input reading, in mg/dL,
            against a flat trace at the last reading (Sundararajan et al. 2017); they sum to
            ``attribution_total_mg_dl``.
        attribution_total_mg_dl: 30-min median forecast minus the forecast for a flat trace.
        attribution_delta_mg_dl: completeness error of the attributions (mg/dL).
        personalised: p10/p50/p90 carry this patient's correction (see
            :mod:`~medai_core.glucose.personalise`); the attributions and hypoglycaemia risks stay the shipped
            model's.
        p50_shipped: float64 (12,) the shipped model's median when ``personalised`` (else None).
    """

    origin_time: str
    last_mg_dl: float
    minutes: NDArray[np.int64]
    p10: NDArray[np.float64]
    p50: NDArray[np.float64]
    p90: NDArray[np.float64]
    linear: NDArray[np.float64]
    hypo: dict[str, float]
    hypo_baseline: dict[str, float]
    window_times: tuple[str, ...]
    window_mg_dl: NDArray[np.float64]
    attributions_mg_dl: NDArray[np.float64]
    attribution_total_mg_dl: float
    attribution_delta_mg_dl: float
    personalised: bool = False
    p50_shipped: NDArray[np.float64] | None = None


@dataclass(frozen=True)
class Backtest:
    """Rolling forecasts over the patient's own history (origins every 30 minutes with complete data).

    Attributes:
        windows: number of forecasts.
        model, linear, last_value: :func:`~medai_core.glucose.evaluation.forecast_scores` of each.
        clarke_percent: zone -> percent of the model's 30-minute forecasts.
        clarke_reference, clarke_predicted: float64 (P,) 30-minute pairs for the grid plot (at most 3000).
    """

    windows: int
    model: dict[str, float]
    linear: dict[str, float]
    last_value: dict[str, float]
    clarke_percent: dict[str, float]
    clarke_reference: NDArray[np.float64]
    clarke_predicted: NDArray[np.float64]


@dataclass(frozen=True)
class GlucoseAnalysis:
    """Everything the glucose page and ``predict glucose`` show.

    Attributes:
        source_format, unit_detected, device, sampling_minutes, notes, patient, patients: from the record.
        n_readings: number of readings.
        start, end: ISO times of the first and last reading.
        trace_times: datetime64[ns] (N,) the 5-minute grid.
        trace_mg_dl: float64 (N,) glucose on the grid (NaN in gaps longer than 15 min).
        agp: the AGP report.
        forecast: the forecast from the last reading, or None (see ``forecast_unavailable``).
        forecast_unavailable: why there is no forecast ("" when there is one).
        backtest: rolling forecasts on this history, or None with ``backtest_unavailable``.
        backtest_unavailable: why there is no backtest.
        model_id, model_version, weights_sha256: the model used.
        personalisation: whether the forecast was adapted to this patient, with the backtest before and after.
        sensor: the sensor family whose limits apply (:data:`medai_core.units.SENSOR_FAMILIES` key).
        sensor_limits_mg_dl: its floor and ceiling (mg/dL); forecasts stay within them.
        censored_low, censored_high: readings at the floor ("Low") and at the ceiling ("High").
    """

    source_format: str
    unit_detected: str
    device: str
    sampling_minutes: float
    notes: tuple[str, ...]
    patient: str | None
    patients: tuple[str, ...]
    n_readings: int
    start: str
    end: str
    trace_times: NDArray[np.datetime64]
    trace_mg_dl: NDArray[np.float64]
    agp: AGPReport
    forecast: Forecast | None
    forecast_unavailable: str
    backtest: Backtest | None
    backtest_unavailable: str
    model_id: str
    model_version: str
    weights_sha256: str
    personalisation: Personalisation
    sensor: str = "unknown"
    sensor_limits_mg_dl: tuple[float, float] = DEFAULT_LIMITS_MG_DL
    censored_low: int = 0
    censored_high: int = 0


def _iso(t: np.datetime64) -> str:
    return str(np.datetime_as_string(np.asarray(t).astype("datetime64[s]")))


def forecast_from_last(
    grid: Grid,
    model: LoadedModel,
    params: ForecastParams,
    limits_mg_dl: tuple[float, float] = DEFAULT_LIMITS_MG_DL,
) -> tuple[Forecast | None, str]:
    """Forecast from the last reading with attributions, or (None, reason) when the last 3 hours are incomplete.

    Args:
        limits_mg_dl: the sensor's floor and ceiling; the forecast range is kept within them.
    """
    from medai_core.explain import integrated_gradients

    if grid.times.size < INPUT_STEPS:
        return (
            None,
            "A forecast needs the last 3 hours of readings; the file holds "
            f"{grid.times.size * GRID_MINUTES / 60:.1f} h.",
        )
    origin = grid.times.size - 1
    if not grid.available[origin - INPUT_STEPS + 1 :].all():
        return (
            None,
            f"The last 3 hours before the last reading contain a gap longer than {MAX_FILL_GAP_MINUTES} minutes "
            "between readings, so no forecast is made.",
        )
    x, last = window_features(grid, np.array([origin]))
    raw = np.asarray(model.predict(x))
    batch = decode_outputs(raw, last, params, limits_mg_dl)
    baseline_x = x[0].copy()
    baseline_x[:, 0] = (last[0] - LEVEL_CENTER) / LEVEL_SCALE
    baseline_x[:, 1] = 0.0
    attribution = integrated_gradients(
        model.keras_model,
        x[0],
        baseline=baseline_x,
        steps=IG_STEPS,
        output_index=MEDIAN_SLICE.start + ATTRIBUTION_STEP - 1,
    )
    per_step = attribution.values.sum(axis=1).astype(np.float64) * DELTA_SCALE
    idx = np.arange(origin - INPUT_STEPS + 1, origin + 1)
    forecast = Forecast(
        origin_time=_iso(grid.times[origin]),
        last_mg_dl=float(last[0]),
        minutes=np.arange(1, HORIZON_STEPS + 1, dtype=np.int64) * GRID_MINUTES,
        p10=batch.p10[0],
        p50=batch.p50[0],
        p90=batch.p90[0],
        linear=linear_baseline(x, params)[0],
        hypo={k: float(batch.hypo[0, i]) for i, k in enumerate(HYPO_KEYS)},
        hypo_baseline={
            k: float(v) for k, v in zip(HYPO_KEYS, hypo_baseline_probabilities(last, params)[0], strict=True)
        },
        window_times=tuple(_iso(t) for t in grid.times[idx]),
        window_mg_dl=grid.glucose_mg_dl[idx].astype(np.float64),
        attributions_mg_dl=per_step,
        attribution_total_mg_dl=(attribution.f_x - attribution.f_baseline) * DELTA_SCALE,
        attribution_delta_mg_dl=attribution.delta * DELTA_SCALE,
    )
    return forecast, ""


def backtest(grid: Grid, model: LoadedModel, params: ForecastParams, stride: int = 1) -> tuple[Backtest | None, str]:
    """Rolling 60-minute forecasts every 30 minutes over the history, scored against what happened.

    Args:
        stride: grid steps between the sensor's readings (3 for 15-minute sensors); only observed steps are scored.
    """
    windows = collect_windows({"patient": grid}, stride=stride)
    if len(windows) == 0:
        return None, no_windows_reason(grid, "no backtest")
    evaluation: Evaluation = evaluate_windows(model.predict, params, windows)
    seen = np.ones(len(windows), dtype=bool) if windows.scored is None else windows.scored[:, ATTRIBUTION_STEP - 1]
    ref = windows.y[seen, ATTRIBUTION_STEP - 1]
    pred = evaluation.forecasts.p50[seen, ATTRIBUTION_STEP - 1]
    zones = clarke_zones(ref, pred)
    percent = {z: float(100.0 * np.mean(zones == z)) for z in "ABCDE"}
    if ref.size > MAX_CLARKE_POINTS:
        pick = np.linspace(0, ref.size - 1, MAX_CLARKE_POINTS).astype(int)
        ref, pred = ref[pick], pred[pick]
    return (
        Backtest(
            windows=len(windows),
            model=evaluation.model,
            linear=evaluation.linear,
            last_value=evaluation.last_value,
            clarke_percent=percent,
            clarke_reference=ref,
            clarke_predicted=pred,
        ),
        "",
    )


def analyse(record: CGMRecord, model: LoadedModel) -> GlucoseAnalysis:
    """Analyse one record with the loaded forecaster (``models/glucose_forecast``)."""
    params = params_from_artifacts(model.card.artifacts)
    grid = record.grid()
    report = agp_report(record.times, record.glucose_recorded, grid, record.unit_detected)
    family = sensor_family(record.device, record.source_format)
    floor, ceiling = family.limits[MG_DL]
    # a sensor the file does not name that reads above the common ceiling reads at least that far
    limits = (floor, max(ceiling, float(record.glucose_mg_dl.max(initial=0.0))))
    stride = target_stride(record.sampling_minutes)
    forecast, why_not = forecast_from_last(grid, model, params, limits)
    if forecast is None and record.sampling_minutes > MAX_FILL_GAP_MINUTES + 2.5:
        why_not = (
            f"Readings every {record.sampling_minutes:.0f} minutes: the forecaster's 5-minute grid bridges at most "
            f"{MAX_FILL_GAP_MINUTES} minutes between readings, so no forecast is made."
        )
    back, why_not_back = backtest(grid, model, params, stride)
    adapted = personalise(grid, model.predict, params, stride=stride, limits_mg_dl=limits)
    if forecast is not None and adapted.applied:
        shift = adapted.correction(1)[0]
        forecast = replace(
            forecast,
            p10=np.clip(forecast.p10 + shift, *limits),
            p50=np.clip(forecast.p50 + shift, *limits),
            p90=np.clip(forecast.p90 + shift, *limits),
            personalised=True,
            p50_shipped=forecast.p50,
        )
    return GlucoseAnalysis(
        source_format=record.source_format,
        unit_detected=record.unit_detected,
        device=record.device,
        sampling_minutes=record.sampling_minutes,
        notes=record.notes,
        patient=record.patient,
        patients=record.patients,
        n_readings=record.n_readings,
        start=_iso(record.times[0]),
        end=_iso(record.times[-1]),
        trace_times=grid.times,
        trace_mg_dl=grid.glucose_mg_dl,
        agp=report,
        forecast=forecast,
        forecast_unavailable=why_not,
        backtest=back,
        backtest_unavailable=why_not_back,
        model_id=model.card.id,
        model_version=model.card.version,
        weights_sha256=model.card.weights_sha256,
        personalisation=adapted,
        sensor=family.key,
        sensor_limits_mg_dl=(float(limits[0]), float(limits[1])),
        censored_low=int((record.censored_flags == -1).sum()),
        censored_high=int((record.censored_flags == 1).sum()),
    )
