"""The Ambulatory Glucose Profile (AGP) report and the 2019 International Consensus on Time in Range.

Metrics follow Battelino et al., Diabetes Care 2019;42:1593-1603 (time in ranges and targets) and Bergenstal et
al., Diabetes Care 2018;41:2275-2280 (GMI = 3.31 + 0.02392 x mean mg/dL). Metrics are computed on the readings as
recorded (not the interpolated grid), the way iglu (Broll et al., PLoS ONE 2021) computes them, so that they can be
checked against iglu-python. Bands (see :mod:`medai_core.units`): < 54, 54 to < 70, 70-180 inclusive, > 180 to
250, > 250 mg/dL, and for readings recorded in mmol/L the consensus' own mmol/L bounds (< 3.0, 3.0 to < 3.9,
3.9-10.0 inclusive, > 10.0 to 13.9, > 13.9), so a reading of 10.0 mmol/L is in range. % time CGM
active follows iglu's ``active_percent`` (Danne et al. 2017): expected readings over the span at the median
sampling interval, less those missing in gaps. Every metric counts one reading per timestamp (readings stamped
with the same time are merged first, as the readers do). Each data-sufficiency statement carries its own status
(:class:`SufficiencyCheck`), so a check that fails is never shown as met.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from medai_core.glucose.prepare import GRID_MINUTES, Grid, merge_duplicates
from medai_core.units import BAND_KEYS, MG_DL, band_counts, band_labels, check_unit, to_mg_dl

__all__ = [
    "AGPReport",
    "AGP_BIN_MINUTES",
    "METRIC_KEYS",
    "MIN_DAYS_FOR_AGP",
    "PERCENTILES",
    "STATUS_WORDS",
    "SufficiencyCheck",
    "TargetCheck",
    "agp_report",
    "glucose_metrics",
    "target_label",
]

PERCENTILES = (5, 25, 50, 75, 95)
AGP_BIN_MINUTES = 15
"""The percentile day is computed in 15-minute bins of time of day, then smoothed over 5 bins (75 min, circular)."""
MIN_DAYS_FOR_AGP = 14
"""The consensus asks for 14 days with >= 70 % of data for a representative AGP."""
MIN_HOURS_FOR_REPORT = 24
METRIC_KEYS: tuple[str, ...] = (
    "mean_mg_dl",
    "gmi_percent",
    "cv_percent",
    "sd_mg_dl",
    "tbr_lt_54",
    "tbr_54_69",
    "tir_70_180",
    "tar_181_250",
    "tar_gt_250",
    "active_percent",
    "days",
)
"""Keys of :func:`glucose_metrics` (and of ``metrics`` in ``predict glucose --json``)."""


MIN_READINGS_FOR_SD = 2
"""SD and CV need at least two readings; with fewer they are reported as unavailable (NaN) with a note."""


def glucose_metrics(
    times: NDArray[np.datetime64], glucose: NDArray[np.floating], unit: str = MG_DL
) -> dict[str, float]:
    """Consensus CGM metrics of readings (time-in-range values in percent of readings).

    Args:
        times: datetime64 (M,) reading times, sorted.
        glucose: (M,) readings in ``unit``, as recorded.
        unit: the unit the readings were recorded in; the five ranges are classified with that unit's consensus
            bounds (:data:`medai_core.units.CONSENSUS`). Mean and SD are returned in mg/dL whatever the unit.

    Returns:
        ``mean_mg_dl, gmi_percent, cv_percent, sd_mg_dl, tbr_lt_54, tbr_54_69, tir_70_180, tar_181_250,
        tar_gt_250, active_percent, days``; NaN where the data cannot support a metric (SD and CV of fewer than
        :data:`MIN_READINGS_FOR_SD` readings; everything without readings).
    """
    recorded = np.asarray(glucose, dtype=np.float64)
    t = np.asarray(times, dtype="datetime64[ns]")
    keep = np.isfinite(recorded)
    recorded, t = recorded[keep], t[keep]
    order = np.argsort(t, kind="stable")
    t, (recorded,), _, _ = merge_duplicates(t[order], recorded[order])
    nan = float("nan")
    if recorded.size == 0:
        return dict.fromkeys(METRIC_KEYS, nan)
    g = to_mg_dl(recorded, check_unit(unit))
    mean = float(g.mean())
    enough = g.size >= MIN_READINGS_FOR_SD
    sd = float(g.std(ddof=1)) if enough else nan
    minutes = t.astype(np.int64) / 60e9
    diffs = np.diff(minutes)
    if diffs.size:
        dt0 = max(1, round(float(np.median(diffs))))
        total = minutes[-1] - minutes[0]
        theoretical = round(total / dt0) + 1
        gaps = diffs[diffs > dt0]
        missing = round((gaps.sum() - gaps.size * dt0) / dt0)
        active = 100.0 * (theoretical - missing) / theoretical
        days = total / (24 * 60)
    else:
        active, days = 100.0, 0.0
    counts = band_counts(recorded, unit)
    return {
        "mean_mg_dl": mean,
        "gmi_percent": 3.31 + 0.02392 * mean,
        "cv_percent": 100.0 * sd / mean if enough else nan,
        "sd_mg_dl": sd,
        **{key: 100.0 * counts[key] / g.size for key in BAND_KEYS},
        "active_percent": float(active),
        "days": float(days),
    }


_BAND_WORDS = {
    "tbr_lt_54": "Time below",
    "tbr_54_69": "Time below range",
    "tir_70_180": "Time in range",
    "tar_181_250": "Time above range",
    "tar_gt_250": "Time above",
}


def target_label(key: str, unit: str) -> str:
    """Display label of a metric in ``unit``, e.g. ``"Time in range 3.9-10.0 mmol/L (%)"``."""
    if key in _BAND_WORDS:
        text = band_labels(unit)[key]
        if key in ("tbr_lt_54", "tar_gt_250"):
            text = text.lstrip("<> ")
        return f"{_BAND_WORDS[key]} {text} (%)"
    return {
        "cv_percent": "Coefficient of variation (%)",
        "gmi_percent": "Glucose management indicator (%)",
        "mean_mg_dl": f"Mean glucose ({unit})",
        "sd_mg_dl": f"Standard deviation ({unit})",
        "active_percent": "Time CGM active (%)",
        "days": "Days covered",
    }[key]


@dataclass(frozen=True)
class TargetCheck:
    """One metric beside its consensus target.

    Attributes:
        key: the metric's key in :func:`glucose_metrics`.
        label: display name in the unit the ranges were classified in, e.g. ``"Time in range 70-180 mg/dL (%)"``
            (see :func:`target_label` for another display unit).
        value: the metric (mg/dL, % or days).
        target: the target in words, e.g. ``"> 70 %"``.
        passed: True/False, or None where the consensus sets no target.
    """

    key: str
    label: str
    value: float
    target: str
    passed: bool | None


def _targets(m: dict[str, float], unit: str) -> tuple[TargetCheck, ...]:
    rows = [
        ("tir_70_180", "> 70 %", m["tir_70_180"] > 70),
        ("tbr_54_69", "< 4 % (with the lowest band)", m["tbr_54_69"] + m["tbr_lt_54"] < 4),
        ("tbr_lt_54", "< 1 %", m["tbr_lt_54"] < 1),
        ("tar_181_250", "< 25 % (with the highest band)", m["tar_181_250"] + m["tar_gt_250"] < 25),
        ("tar_gt_250", "< 5 %", m["tar_gt_250"] < 5),
        ("cv_percent", "<= 36 %", m["cv_percent"] <= 36),
        ("gmi_percent", "< 7 % (individualise)", m["gmi_percent"] < 7),
        ("mean_mg_dl", "no consensus target", None),
        ("sd_mg_dl", "no consensus target", None),
        ("active_percent", ">= 70 %", m["active_percent"] >= 70),
        ("days", ">= 14 days", round(m["days"], 1) >= 14),
    ]
    return tuple(
        TargetCheck(
            key,
            target_label(key, unit if key in _BAND_WORDS else MG_DL),
            m[key],
            target,
            None if ok is None or not np.isfinite(m[key]) else bool(ok),
        )
        for key, target, ok in rows
    )


STATUS_WORDS: dict[bool, str] = {True: "met", False: "not met"}
"""How a check's status is written (pages show the word beside the colour, never a symbol alone)."""


@dataclass(frozen=True)
class SufficiencyCheck:
    """One data-sufficiency statement with its own status.

    Attributes:
        text: the statement, e.g. ``"CGM active 61 % of the time (consensus: at least 70 %)."``.
        passed: whether the data meet what the statement checks.
    """

    text: str
    passed: bool

    @property
    def status(self) -> str:
        """``"met"`` or ``"not met"``."""
        return STATUS_WORDS[self.passed]


@dataclass(frozen=True)
class AGPReport:
    """The AGP report of one series.

    Attributes:
        metrics: :func:`glucose_metrics` values.
        targets: each metric with its consensus target and pass/fail.
        bin_minutes: float64 (B,) start of each time-of-day bin in minutes after midnight.
        percentiles: float64 (5, B) smoothed 5/25/50/75/95th percentiles by time of day (mg/dL; NaN without data).
        day_labels: ISO dates of the daily profiles.
        daily: float64 (D, 288) glucose per day on the 5-minute time-of-day grid (NaN where missing).
        sufficiency: plain-language statements about what the data support (the texts of ``checks``).
        agp_available: whether there is at least 24 h of data for the percentile day and daily profiles.
        range_unit: the unit the readings were recorded in, whose consensus bounds classified the five ranges.
        checks: the same statements, each with its status.
    """

    metrics: dict[str, float]
    targets: tuple[TargetCheck, ...]
    bin_minutes: NDArray[np.float64]
    percentiles: NDArray[np.float64]
    day_labels: tuple[str, ...]
    daily: NDArray[np.float64]
    sufficiency: tuple[str, ...]
    agp_available: bool
    range_unit: str = MG_DL
    checks: tuple[SufficiencyCheck, ...] = ()

    def label(self, key: str, display_unit: str) -> str:
        """Display label of metric ``key``: band bounds in the unit they were classified in, glucose values in
        ``display_unit`` (e.g. ``"Time in range 3.9-10.0 mmol/L (%)"``, ``"Mean glucose (mg/dL)"``)."""
        return target_label(key, self.range_unit if key in BAND_KEYS else display_unit)


def _percentile_day(
    times: NDArray[np.datetime64], g: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    n_bins = 24 * 60 // AGP_BIN_MINUTES
    minute = (times.astype("datetime64[m]").astype(np.int64)) % (24 * 60)
    bins = minute // AGP_BIN_MINUTES
    order = np.lexsort((g, bins))
    sorted_bins, sorted_g = bins[order], g[order]
    starts = np.searchsorted(sorted_bins, np.arange(n_bins), side="left")
    ends = np.searchsorted(sorted_bins, np.arange(n_bins), side="right")
    raw = np.full((len(PERCENTILES), n_bins), np.nan)
    for b in range(n_bins):
        if ends[b] > starts[b]:
            raw[:, b] = np.percentile(sorted_g[starts[b] : ends[b]], PERCENTILES)
    # circular moving average over 5 bins, ignoring empty bins
    width = 2
    padded = np.concatenate([raw[:, -width:], raw, raw[:, :width]], axis=1)
    valid = np.isfinite(padded)
    filled = np.where(valid, padded, 0.0)
    kernel = np.ones(2 * width + 1)
    sums = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="valid"), 1, filled)
    counts = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="valid"), 1, valid.astype(float))
    smooth = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    smooth[:, ~np.isfinite(raw[0])] = np.nan
    return np.arange(n_bins, dtype=np.float64) * AGP_BIN_MINUTES, smooth


def _daily(grid: Grid) -> tuple[tuple[str, ...], NDArray[np.float64]]:
    slots_per_day = 24 * 60 // GRID_MINUTES
    if grid.times.size == 0:
        return (), np.zeros((0, slots_per_day))
    days = grid.times.astype("datetime64[D]")
    first = days[0]
    day_index = (days - first).astype(np.int64)
    slot = ((grid.times - days).astype("timedelta64[m]").astype(np.int64)) // GRID_MINUTES
    n_days = int(day_index[-1]) + 1
    out = np.full((n_days, slots_per_day), np.nan)
    out[day_index, slot] = grid.glucose_mg_dl
    labels = tuple(str(first + np.timedelta64(i, "D")) for i in range(n_days))
    return labels, out


def _sufficiency_checks(
    recorded: NDArray[np.float64], metrics: dict[str, float], hours: float, available: bool
) -> list[SufficiencyCheck]:
    """Whether the data suffice: readings for the SD, hours for the percentile day (``available``), days for a
    representative AGP, and the time the CGM was active."""
    checks: list[SufficiencyCheck] = []
    n_finite = int(np.isfinite(recorded).sum())
    if n_finite < MIN_READINGS_FOR_SD:
        checks.append(
            SufficiencyCheck(
                f"Only {n_finite} reading(s): standard deviation and coefficient of variation need at least "
                f"{MIN_READINGS_FOR_SD} readings and are shown as unavailable.",
                False,
            )
        )
    if not available:
        checks.append(
            SufficiencyCheck(
                f"Only {hours:.1f} h of data: the percentile day and daily profiles need at least 24 h and are not "
                "shown; the metrics below describe this short period only and are not representative.",
                False,
            )
        )
    else:
        enough_days = round(metrics["days"], 1) >= MIN_DAYS_FOR_AGP
        checks.append(
            SufficiencyCheck(
                f"{metrics['days']:.1f} days of data (consensus: at least {MIN_DAYS_FOR_AGP} days for a "
                "representative AGP)." + ("" if enough_days else " Read the metrics with care."),
                enough_days,
            )
        )
    if np.isfinite(metrics["active_percent"]):
        active = metrics["active_percent"]
        shown = f"{active:.1f}" if 69.5 <= active < 70 else f"{active:.0f}"  # never "70 %" for a failed 69.6
        checks.append(SufficiencyCheck(f"CGM active {shown} % of the time (consensus: at least 70 %).", active >= 70))
    return checks


def agp_report(
    times: NDArray[np.datetime64], glucose: NDArray[np.floating], grid: Grid, unit: str = MG_DL
) -> AGPReport:
    """Build the AGP report.

    Args:
        times: datetime64 (M,) reading times, sorted.
        glucose: (M,) readings in ``unit`` as recorded (the ranges are classified with that unit's bounds).
        grid: the same readings on the 5-minute grid in mg/dL (for daily profiles).
        unit: the unit of ``glucose``.
    """
    recorded = np.asarray(glucose, dtype=np.float64)
    t = np.asarray(times, dtype="datetime64[ns]")
    metrics = glucose_metrics(t, recorded, unit)
    g = to_mg_dl(recorded, unit)
    hours = metrics["days"] * 24 if np.isfinite(metrics["days"]) else 0.0
    available = hours >= MIN_HOURS_FOR_REPORT
    checks = _sufficiency_checks(recorded, metrics, hours, available)
    bin_minutes, percentiles = (
        _percentile_day(t, g)
        if available
        else (
            np.arange(24 * 60 // AGP_BIN_MINUTES, dtype=np.float64) * AGP_BIN_MINUTES,
            np.full((len(PERCENTILES), 24 * 60 // AGP_BIN_MINUTES), np.nan),
        )
    )
    labels, daily = _daily(grid) if available else ((), np.zeros((0, 24 * 60 // GRID_MINUTES)))
    return AGPReport(
        metrics,
        _targets(metrics, unit),
        bin_minutes,
        percentiles,
        labels,
        daily,
        tuple(c.text for c in checks),
        available,
        unit,
        tuple(checks),
    )
