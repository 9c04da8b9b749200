"""One record from readings that several devices wrote for the same hours (a receiver and a phone uploading the
same Dexcom sensor, two LibreView readers): the device with the most readings is the record and the others fill
only its gaps, so no reading is doubled and no zig-zag is interleaved."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray


def fills_gaps(
    base: NDArray[np.datetime64], extra: NDArray[np.datetime64], tolerance_min: float = 7.5
) -> NDArray[np.bool_]:
    """Which ``extra`` readings have no ``base`` reading within ``tolerance_min`` minutes (they fill a gap of
    ``base``): half the sampling interval (7.5 min for LibreView's 15-minute history, 2.5 for Dexcom's 5 minutes)."""
    if base.size == 0:
        return np.ones(extra.size, dtype=bool)
    h = np.sort(base.astype("datetime64[ns]").astype(np.int64))
    s = extra.astype("datetime64[ns]").astype(np.int64)
    pos = np.clip(np.searchsorted(h, s), 1, h.size - 1) if h.size > 1 else np.zeros(s.size, dtype=int)
    nearest = np.minimum(np.abs(s - h[pos - 1]), np.abs(s - h[pos])) if h.size > 1 else np.abs(s - h[0])
    return np.asarray(nearest > tolerance_min * 60e9)


def one_device(
    device_ids: pd.Series, times: NDArray[np.datetime64], tolerance_min: float, what: str, kind: str
) -> tuple[NDArray[np.bool_], str | None]:
    """Readings to keep when several devices wrote the same record: all of the device with the most readings, and
    the others' only where it has a gap (:func:`fills_gaps`); with the note, or (all True, None) for one device.

    Args:
        device_ids: the device (serial number, source device id) of each reading.
        times: the readings' times, same order.
        tolerance_min: half the sampling interval, in minutes.
        what: how the note names the readings (``"Historic readings"``); kind: how it names the devices.
    """
    ids = device_ids.fillna("").astype(str).str.strip().to_numpy()
    distinct, counts = np.unique(ids, return_counts=True)
    if len(distinct) < 2:
        return np.ones(len(ids), dtype=bool), None
    main = ids == distinct[int(np.argmax(counts))]
    fill = fills_gaps(times[main], times[~main], tolerance_min=tolerance_min)
    keep = main.copy()
    keep[np.flatnonzero(~main)[fill]] = True
    return keep, (
        f"{what} come from {len(distinct)} {kind}: the one with the most readings ({int(counts.max())}) is used, "
        f"and the others only where it has a gap ({int(fill.sum())} of {int((~main).sum())} of their readings "
        "used; the rest overlap it and are ignored)."
    )
