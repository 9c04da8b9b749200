"""Preparing CGM readings: the regular 5-minute grid with its gap mask, and model input windows.

The grid is anchored at the first reading (research tables) or at the last one (an upload, so that the forecast
starts exactly at the file's last reading time); each reading goes to the nearest 5-minute point and readings that land
on the same point are averaged (duplicates). Gaps of at most ``MAX_FILL_GAP_MINUTES`` between two readings are
filled by linear interpolation and marked as not observed; longer gaps stay missing (NaN), never interpolated.
A 15-minute history (FreeStyle Libre) therefore becomes a 5-minute grid whose in-between points are interpolated
and flagged, while a missed 15-minute reading (a 30-minute gap) stays a gap; a 1-minute sensor's readings are
averaged onto the 5-minute points. Forecasts are scored only where a reading was observed: at every grid step for
1- and 5-minute sensors, at every :func:`target_stride`-th step (15, 30, 45, 60 min) for 15-minute ones.

Model windows (see :func:`window_features`): the last ``INPUT_STEPS`` grid points (3 h) as four channels
``[(g - LEVEL_CENTER) / LEVEL_SCALE, (g - g_last) / DELTA_SCALE, sin(tod), cos(tod)]``; the model predicts the
change from the last reading in units of ``DELTA_SCALE`` mg/dL.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from medai_core.errors import CGMInputError

__all__ = [
    "DELTA_SCALE",
    "GRID_MINUTES",
    "Grid",
    "HORIZON_STEPS",
    "INPUT_CHANNELS",
    "INPUT_STEPS",
    "LEVEL_CENTER",
    "LEVEL_SCALE",
    "MAX_FILL_GAP_MINUTES",
    "MAX_GRID_DAYS",
    "make_grid",
    "merge_duplicates",
    "no_windows_reason",
    "target_stride",
    "targets",
    "valid_origins",
    "window_features",
]

GRID_MINUTES = 5
MAX_FILL_GAP_MINUTES = 15
INPUT_STEPS = 36
"""Input window: 36 grid points = 3 hours."""
HORIZON_STEPS = 12
"""Forecast horizon: 12 grid points = 60 minutes."""
INPUT_CHANNELS = 4
LEVEL_CENTER = 140.0
LEVEL_SCALE = 60.0
DELTA_SCALE = 25.0

MAX_GRID_DAYS = 731
"""Longest series put on a grid (the readers refuse longer ones first; this guards every other caller)."""

_NS_PER_MINUTE = 60_000_000_000


@dataclass(frozen=True)
class Grid:
    """A glucose series on a regular 5-minute grid.

    Attributes:
        times: datetime64[ns] (N,) grid times.
        glucose_mg_dl: float64 (N,) glucose in mg/dL; NaN inside gaps longer than 15 minutes.
        observed: bool (N,) True where a reading fell on the grid point (False where interpolated or missing).
    """

    times: NDArray[np.datetime64]
    glucose_mg_dl: NDArray[np.float64]
    observed: NDArray[np.bool_]

    @property
    def available(self) -> NDArray[np.bool_]:
        """bool (N,): a value is present (observed or interpolated across a short gap)."""
        return np.isfinite(self.glucose_mg_dl)


def merge_duplicates(
    times: NDArray[np.datetime64], *values: NDArray[np.floating]
) -> tuple[NDArray[np.datetime64], tuple[NDArray[np.float64], ...], int, int]:
    """One reading per timestamp: readings stamped with the same time are merged into one.

    Args:
        times: datetime64 (M,) sorted reading times.
        values: arrays (M,) aligned with ``times`` (e.g. mg/dL and as recorded); the first decides "identical".

    Returns:
        ``(times, merged values, n_identical, n_averaged)``: the unique times, each value array averaged per time
        (a reading exported twice with the same value is kept once), and how many extra rows were identical
        repeats and how many were averaged with a different value at the same time.
    """
    t = np.asarray(times, dtype="datetime64[ns]")
    arrays = tuple(np.asarray(v, dtype=np.float64) for v in values)
    if t.size < 2 or not (t[1:] == t[:-1]).any():
        return t, arrays, 0, 0
    starts = np.concatenate([[True], t[1:] != t[:-1]])
    group = np.cumsum(starts) - 1
    counts = np.bincount(group).astype(np.float64)
    merged = tuple(np.bincount(group, weights=v) / counts for v in arrays)
    first = arrays[0]
    spread = np.zeros(counts.size)
    np.maximum.at(spread, group, np.abs(first - merged[0][group]))
    extra = counts - 1
    n_identical = int(extra[spread == 0].sum())
    n_averaged = int(extra[spread > 0].sum())
    return t[starts], merged, n_identical, n_averaged


def make_grid(
    times: NDArray[np.datetime64],
    glucose_mg_dl: NDArray[np.floating],
    *,
    max_fill_minutes: int = MAX_FILL_GAP_MINUTES,
    anchor: str = "first",
) -> Grid:
    """Put readings on a 5-minute grid with a gap mask.

    Args:
        times: datetime64 (M,) reading times, any order.
        glucose_mg_dl: (M,) readings in mg/dL (NaN readings are dropped).
        max_fill_minutes: longest gap between two readings that is bridged by linear interpolation.
        anchor: ``"first"`` puts a grid point on the first reading, ``"last"`` on the last one (the forecast origin).

    Returns:
        the grid from the first to the last reading.

    Raises:
        CGMInputError: the readings span more than :data:`MAX_GRID_DAYS` days.
    """
    t = np.asarray(times, dtype="datetime64[ns]").astype(np.int64)
    v = np.asarray(glucose_mg_dl, dtype=np.float64)
    keep = np.isfinite(v)
    t, v = t[keep], v[keep]
    if t.size == 0:
        empty = np.array([], dtype="datetime64[ns]")
        return Grid(empty, np.array([], dtype=np.float64), np.array([], dtype=bool))
    order = np.argsort(t, kind="stable")
    t, v = t[order], v[order]
    step_ns = GRID_MINUTES * _NS_PER_MINUTE
    if (t[-1] - t[0]) > MAX_GRID_DAYS * 24 * 60 * _NS_PER_MINUTE:
        raise CGMInputError(
            f"The readings span more than {MAX_GRID_DAYS} days from first to last; they cannot be put on one "
            "5-minute grid. Check the timestamps, or use a shorter period."
        )
    origin = t[-1] if anchor == "last" else t[0]
    idx = np.rint((t - origin) / step_ns).astype(np.int64)
    first_step = int(idx[0])
    idx = idx - first_step
    n = int(idx[-1]) + 1
    counts = np.bincount(idx, minlength=n)
    sums = np.bincount(idx, weights=v, minlength=n)
    observed = counts > 0
    values = np.full(n, np.nan)
    values[observed] = sums[observed] / counts[observed]
    obs_idx = np.flatnonzero(observed)
    if obs_idx.size > 1:
        span = np.diff(obs_idx)
        fill = (span > 1) & (span * GRID_MINUTES <= max_fill_minutes)
        for start, gap in zip(obs_idx[:-1][fill], span[fill], strict=True):
            a, b = values[start], values[start + gap]
            frac = np.arange(1, gap) / gap
            values[start + 1 : start + gap] = a + (b - a) * frac
    grid_times = (origin + (first_step + np.arange(n, dtype=np.int64)) * step_ns).astype("datetime64[ns]")
    return Grid(grid_times, values, observed)


def target_stride(sampling_minutes: float) -> int:
    """Grid steps between a sensor's readings, as a divisor of the 12-step horizon: 1 for 1- and 5-minute sensors,
    2 for 10-minute, 3 for 15-minute (the steps a forecast can be scored on; those between are interpolated)."""
    steps = max(1, round(float(sampling_minutes) / GRID_MINUTES)) if np.isfinite(sampling_minutes) else 1
    return max(d for d in range(1, HORIZON_STEPS + 1) if HORIZON_STEPS % d == 0 and d <= steps)


def valid_origins(
    grid: Grid, *, horizon: int = HORIZON_STEPS, require_observed_targets: bool = True, stride: int = 1
) -> NDArray[np.intp]:
    """Grid indices that can be forecast origins with known outcomes.

    An origin ``i`` is valid when the ``INPUT_STEPS`` points ending at ``i`` are all available, the origin itself
    is an observed reading, and the next ``horizon`` points are available with a reading observed at every
    ``stride``-th of them (every one for ``stride`` 1; only available when ``require_observed_targets`` is False).

    Returns:
        int (K,) origin indices, ascending.
    """
    avail = grid.available.astype(np.int64)
    n = avail.size
    if n < INPUT_STEPS + horizon:
        return np.array([], dtype=np.intp)
    csum_in = np.concatenate([[0], np.cumsum(avail)])
    origins = np.arange(INPUT_STEPS - 1, n - horizon)
    full_in = csum_in[origins + 1] - csum_in[origins + 1 - INPUT_STEPS] == INPUT_STEPS
    full_out = csum_in[origins + 1 + horizon] - csum_in[origins + 1] == horizon
    if require_observed_targets:
        for step in range(stride, horizon + 1, stride):
            full_out &= grid.observed[origins + step]
    ok = full_in & full_out & grid.observed[origins]
    return origins[ok].astype(np.intp)


def no_windows_reason(grid: Grid, what: str) -> str:
    """Why ``grid`` gives no forecast window with a known outcome, in words that are true of it.

    Args:
        what: what cannot be done, e.g. ``"no backtest"``.
    """
    avail = grid.available
    longest = run = 0
    for ok in avail.tolist():
        run = run + 1 if ok else 0
        longest = max(longest, run)
    hours = max(0, longest - 1) * GRID_MINUTES / 60
    need = (INPUT_STEPS + HORIZON_STEPS) * GRID_MINUTES / 60
    if hours < need:
        return (
            f"{what[0].upper()}{what[1:]}: a forecast with a known outcome needs {need:.0f} hours of readings with no "
            f"gap longer than {MAX_FILL_GAP_MINUTES} minutes (3 h input + 1 h outcome); the longest such stretch "
            f"here is {hours:.1f} h."
        )
    return (
        f"{what[0].upper()}{what[1:]}: the stretches of {need:.0f} hours or more (longest {hours:.1f} h) have no "
        "forecast origin with a reading observed at the origin and at every scored step of the next hour."
    )


def window_features(grid: Grid, origins: NDArray[np.intp]) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
    """Model inputs for forecasts made at ``origins``.

    Args:
        grid: the series.
        origins: int (K,) grid indices of the last reading of each input window (>= INPUT_STEPS - 1), with all
            ``INPUT_STEPS`` points available.

    Returns:
        ``(x, last)``: float32 (K, INPUT_STEPS, INPUT_CHANNELS) model inputs and float64 (K,) last reading (mg/dL).
    """
    origins = np.asarray(origins, dtype=np.intp)
    offsets = np.arange(-INPUT_STEPS + 1, 1)
    idx = origins[:, None] + offsets[None, :]
    g = grid.glucose_mg_dl[idx]
    last = g[:, -1]
    minutes = (grid.times[idx].astype("datetime64[m]").astype(np.int64)) % (24 * 60)
    angle = 2.0 * np.pi * minutes / (24 * 60)
    x = np.stack(
        [(g - LEVEL_CENTER) / LEVEL_SCALE, (g - last[:, None]) / DELTA_SCALE, np.sin(angle), np.cos(angle)], axis=-1
    ).astype(np.float32)
    return x, last


def targets(grid: Grid, origins: NDArray[np.intp], horizon: int = HORIZON_STEPS) -> NDArray[np.float64]:
    """float64 (K, horizon): the glucose (mg/dL) at the ``horizon`` grid points after each origin."""
    idx = np.asarray(origins, dtype=np.intp)[:, None] + np.arange(1, horizon + 1)[None, :]
    return grid.glucose_mg_dl[idx]
