"""Preparing CGM readings: the regular 5-minute grid with its gap mask, and model input windows.

The grid is anchored at the first reading; each reading goes to the nearest 5-minute point and readings that land
on the same point are averaged (duplicates). Gaps of at most ``MAX_FILL_GAP_MINUTES`` between two readings are
filled by linear interpolation and marked as not observed; longer gaps stay missing (NaN), never interpolated.
A 15-minute history (FreeStyle Libre) therefore becomes a 5-minute grid whose in-between points are interpolated
and flagged, while a missed 15-minute reading (a 30-minute gap) stays a gap.

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


def make_grid(
    times: NDArray[np.datetime64], glucose_mg_dl: NDArray[np.floating], *, max_fill_minutes: int = MAX_FILL_GAP_MINUTES
) -> Grid:
    """Put readings on a 5-minute grid with a gap mask.

    Args:
        times: datetime64 (M,) reading times, any order.
        glucose_mg_dl: (M,) readings in mg/dL (NaN readings are dropped).
        max_fill_minutes: longest gap between two readings that is bridged by linear interpolation.

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
    idx = np.rint((t - t[0]) / step_ns).astype(np.int64)
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
    grid_times = (t[0] + np.arange(n, dtype=np.int64) * step_ns).astype("datetime64[ns]")
    return Grid(grid_times, values, observed)


def valid_origins(
    grid: Grid, *, horizon: int = HORIZON_STEPS, require_observed_targets: bool = True
) -> NDArray[np.intp]:
    """Grid indices that can be forecast origins with known outcomes.

    An origin ``i`` is valid when the ``INPUT_STEPS`` points ending at ``i`` are all available, the origin itself
    is an observed reading, and the next ``horizon`` points are observed (or available, when
    ``require_observed_targets`` is False).

    Returns:
        int (K,) origin indices, ascending.
    """
    avail = grid.available.astype(np.int64)
    n = avail.size
    if n < INPUT_STEPS + horizon:
        return np.array([], dtype=np.intp)
    target_ok = (grid.observed if require_observed_targets else grid.available).astype(np.int64)
    csum_in = np.concatenate([[0], np.cumsum(avail)])
    csum_out = np.concatenate([[0], np.cumsum(target_ok)])
    origins = np.arange(INPUT_STEPS - 1, n - horizon)
    full_in = csum_in[origins + 1] - csum_in[origins + 1 - INPUT_STEPS] == INPUT_STEPS
    full_out = csum_out[origins + 1 + horizon] - csum_out[origins + 1] == horizon
    ok = full_in & full_out & grid.observed[origins]
    return origins[ok].astype(np.intp)


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
