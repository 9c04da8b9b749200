"""The record every layout returns (:class:`CGMRecord`), and :func:`finish`, the steps every layout ends with.

Readings, in every layout: a glucose cell that holds no reading is skipped and counted in a note. ``Low``/``High``/
``LO``/``HI`` (:data:`medai_core.units.LIMIT_WORDS`) become the floor/ceiling of the sensor family the file names
(:data:`medai_core.units.SENSOR_FAMILIES`: 40-400 mg/dL for Dexcom, 40-500 for FreeStyle Libre, ...), counted in a
note and marked as censored (``CGMRecord.censored``); they count in the ranges. Readings stamped with the same time
are merged into one (identical repeats kept once, differing values averaged), with a note, so that every metric sees
one reading per timestamp. A series spanning more than :data:`MAX_SPAN_DAYS` days is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from medai_core.errors import CGMInputError
from medai_core.glucose.prepare import MAX_FILL_GAP_MINUTES, Grid, make_grid, merge_duplicates
from medai_core.glucose.readers.units import check_plausible
from medai_core.units import SENSOR_FAMILIES, SensorFamily, sensor_family, to_mg_dl

MAX_SPAN_DAYS = 731
"""Longest time from the first to the last reading of one patient (two years); the grid is sized by it."""


@dataclass(frozen=True)
class CGMRecord:
    """The readings of one patient from one file.

    Attributes:
        source_format: ``"dexcom_clarity"``, ``"libreview"`` or ``"generic_csv"``.
        unit_detected: the unit of the file, ``"mg/dL"`` or ``"mmol/L"``.
        times: datetime64[ns] (M,) reading times in the patient's local time, sorted.
        glucose_mg_dl: float64 (M,) readings in mg/dL.
        glucose_recorded: float64 (M,) the same readings as recorded, in ``unit_detected`` (the consensus ranges
            are classified on these, with that unit's bounds).
        device: device or app named by the file ("" when none).
        patient: the chosen patient id for multi-patient tables (None otherwise).
        patients: all patient ids of the file (empty for single-patient exports).
        sampling_minutes: median minutes between readings (5 for Dexcom, 5 or 15 for Libre history).
        notes: decisions taken while reading, in plain words (shown on the page and in the report).
        censored: int8 (M,) -1 where the reading is the sensor's floor ("Low"), +1 its ceiling ("High"), else 0
            (None: nothing censored).
        sensor: key of the sensor family whose limits apply (:func:`medai_core.units.sensor_family`).
    """

    source_format: str
    unit_detected: str
    times: NDArray[np.datetime64]
    glucose_mg_dl: NDArray[np.float64]
    glucose_recorded: NDArray[np.float64]
    device: str
    patient: str | None
    patients: tuple[str, ...]
    sampling_minutes: float
    notes: tuple[str, ...]
    censored: NDArray[np.int8] | None = None
    sensor: str = "unknown"

    @property
    def n_readings(self) -> int:
        """Number of readings."""
        return int(self.glucose_mg_dl.size)

    def grid(self) -> Grid:
        """The readings on the 5-minute grid anchored at the last reading, with its gap mask (see
        :func:`medai_core.glucose.prepare.make_grid`): the forecast starts at the file's last reading time."""
        return make_grid(self.times, self.glucose_mg_dl, anchor="last")

    @property
    def censored_flags(self) -> NDArray[np.int8]:
        """int8 (M,) -1 at the sensor's floor, +1 at its ceiling, 0 elsewhere."""
        return np.zeros(self.n_readings, np.int8) if self.censored is None else self.censored


def finish(
    name: str,
    source_format: str,
    unit: str,
    times: NDArray[np.datetime64],
    values: NDArray[np.float64],
    *,
    device: str = "",
    patient: str | None = None,
    patients: tuple[str, ...] = (),
    notes: list[str] | None = None,
    missing: int = 0,
) -> CGMRecord:
    """The record: rows without a reading counted, sensor limits applied, readings sorted, one per timestamp.

    Args:
        values: readings in ``unit``; -inf / +inf where the file wrote Low / High (see
            :func:`medai_core.glucose.readers.units.numbers`), NaN where it holds no reading.
        missing: rows without a reading already skipped by the reader (counted with the NaN of ``values``).
    """
    notes = list(notes or [])
    keep = ~np.isnan(values)
    missing += int((~keep).sum())
    times, values = times[keep], values[keep]
    if missing:
        notes.append(
            f"{missing} row(s) without a glucose value (an empty cell, nan or inf) skipped: a cell that holds no "
            "finite number is no reading, in every layout."
        )
    if values.size == 0:
        raise CGMInputError(f"{name} holds no glucose readings. Upload an export that covers at least one day.")
    family = sensor_family(device, source_format)
    values, censored, limit_notes = _censor(values, unit, family)
    notes.extend(limit_notes)
    mg_dl = to_mg_dl(values, unit)
    check_plausible(mg_dl, name)
    check_span(times, name)
    times, mg_dl, values, censored, merged = _one_per_timestamp(times, mg_dl, values, censored)
    notes.extend(merged)
    diffs = np.diff(times.astype("datetime64[s]").astype(np.int64)) / 60.0
    positive = diffs[diffs > 0]
    sampling = float(np.median(positive)) if positive.size else 5.0
    notes.extend(cadence_notes(sampling))
    return CGMRecord(
        source_format,
        unit,
        times,
        mg_dl,
        values,
        device,
        patient,
        patients,
        sampling,
        tuple(notes),
        censored if censored.any() else None,
        family.key,
    )


def _one_per_timestamp(
    times: NDArray[np.datetime64], mg_dl: NDArray[np.float64], values: NDArray[np.float64], censored: NDArray[np.int8]
) -> tuple[NDArray[np.datetime64], NDArray[np.float64], NDArray[np.float64], NDArray[np.int8], list[str]]:
    """The readings sorted by time with those at the same timestamp merged
    (:func:`medai_core.glucose.prepare.merge_duplicates`), and the note that says how many, if any."""
    order = np.argsort(times, kind="stable")
    times, mg_dl, values, censored = times[order], mg_dl[order], values[order], censored[order]
    times, (mg_dl, values, flags), identical, averaged = merge_duplicates(
        times, mg_dl, values, censored.astype(np.float64)
    )
    censored = np.where(np.abs(flags) == 1, flags, 0).astype(np.int8)
    if not (identical or averaged):
        return times, mg_dl, values, censored, []
    note = (
        f"{identical + averaged} duplicate row(s) at a timestamp already read merged, so every metric counts one "
        f"reading per timestamp: {identical} repeated the same value (kept once), {averaged} differed and were "
        "averaged."
    )
    return times, mg_dl, values, censored, [note]


def _censor(
    values: NDArray[np.float64], unit: str, family: SensorFamily
) -> tuple[NDArray[np.float64], NDArray[np.int8], list[str]]:
    """Low / High (-inf / +inf) set to the sensor family's floor / ceiling in ``unit``: the values, the censored
    flags (-1 floor, +1 ceiling, 0 else) and a note for each side that has any."""
    floor, ceiling = family.limits[unit]
    low, high = values == -np.inf, values == np.inf
    numeric = values[np.isfinite(values)]
    if family.key == "unknown" and high.any() and numeric.size and numeric.max() > ceiling:
        # a device that reads above the common ceiling: its "High" is at least the next family's ceiling
        above = [f.limits[unit][1] for f in SENSOR_FAMILIES if f.limits[unit][1] >= numeric.max()]
        ceiling = min(above, default=ceiling)
    values = np.where(low, floor, np.where(high, ceiling, values))
    censored = (high.astype(np.int8) - low.astype(np.int8)).astype(np.int8)
    which = f"the {family.name} range" if family.key != "unknown" else "the range every listed sensor reports within"
    notes = [
        f"{int(mask.sum())} reading(s) '{word}' set to {limit:g} {unit} ('{word}' or '{alias}': the limit of "
        f"{which}, {family.source}); the true values lie {side} it. They count in the ranges and are marked "
        "as censored (the mean and SD treat them as the limit)."
        for mask, word, alias, limit, side in (
            (low, "Low", "LO", floor, "below"),
            (high, "High", "HI", ceiling, "above"),
        )
        if mask.any()
    ]
    return values, censored, notes


def cadence_notes(sampling_minutes: float) -> list[str]:
    """What the sensor's cadence means for the 5-minute forecaster, in words that are true for it."""
    if sampling_minutes > MAX_FILL_GAP_MINUTES + 2.5:
        return [
            f"Readings every {sampling_minutes:.0f} minutes: the forecaster's 5-minute grid bridges at most "
            f"{MAX_FILL_GAP_MINUTES} minutes between readings, so there is no forecast, backtest or adaptation; the "
            "AGP uses every reading."
        ]
    if sampling_minutes >= 7.5:
        return [
            f"Readings every {sampling_minutes:.0f} minutes: on the forecaster's 5-minute grid the points between "
            "readings are interpolated and flagged; forecasts are scored (backtest, adaptation) only where a "
            "reading exists and are less certain than with 5-minute data."
        ]
    if sampling_minutes <= 2.5:
        return [
            f"Readings every {sampling_minutes:.0f} minute(s): averaged onto the forecaster's 5-minute grid; the AGP "
            "uses every reading."
        ]
    return []


def check_span(times: NDArray[np.datetime64], name: str) -> None:
    """Refuse a series whose first and last readings lie further apart than :data:`MAX_SPAN_DAYS` days."""
    if times.size == 0:
        return
    t = times.astype("datetime64[m]").astype(np.int64)
    days = (int(t.max()) - int(t.min())) / (24 * 60)
    if days > MAX_SPAN_DAYS:
        raise CGMInputError(
            f"{name}: the readings span {days:,.0f} days from first to last (at most {MAX_SPAN_DAYS} days are read "
            "for one patient). Check the timestamps, or export a shorter period."
        )
