"""LibreView CSV (FreeStyle Libre), with English column names, and the older desktop export.

A title line, then a header with ``Device Timestamp``, ``Record Type``, ``Historic Glucose`` and ``Scan Glucose``
in mg/dL or mmol/L (the desktop export: ``ID``, ``Time``, ``Record Type``, tab-separated, read by name too).
Record type 0 (historic, every 5 or 15 minutes) makes the series; type 1 (scans) fills only grid points the
history lacks; other types (notes, insulin, food) are ignored. ``MM-DD-YYYY hh:mm AM`` (US) and
``DD-MM-YYYY HH:MM`` (elsewhere) are told apart from the data (:func:`medai_core.glucose.readers.times.
day_month_times`). A glucose header that names no unit has its unit read from the values, and said so. History
written by more than one device (phone and reader, by serial number) is not interleaved: the device with the most
readings is the record and the others fill only its gaps, with a note.

Exports in another language are :mod:`medai_core.glucose.readers.libreview_translated`, read by
:func:`read_frame` once their columns are named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from medai_core.errors import CGMInputError
from medai_core.glucose.readers.devices import fills_gaps, one_device
from medai_core.glucose.readers.layout import CGMOptions, Layout
from medai_core.glucose.readers.record import CGMRecord, finish
from medai_core.glucose.readers.text import read_table
from medai_core.glucose.readers.times import NUMERIC_DATE, day_month_times, to_datetime
from medai_core.glucose.readers.units import check_unit, missing, numbers, unit_from_header, unit_from_values


def recognise(lines: list[str]) -> int | None:
    """The header's index among the first five lines (``Record Type`` with ``Device Timestamp``, or with ``Time``
    and ``Historic Glucose`` in the desktop export), else None."""
    for index, line in enumerate(lines[:5]):
        if "Record Type" in line and ("Timestamp" in line or "Historic Glucose" in line):
            return index
    return None


def read(lines: list[str], header: int, name: str, options: CGMOptions) -> CGMRecord:
    """The glucose records of a LibreView export whose header is line ``header`` (no option applies)."""
    return read_frame(read_table(lines, name, skip=header), name)


@dataclass(frozen=True)
class _Columns:
    """The names of a LibreView table's columns (``scan``, ``serial`` and ``device`` may be absent)."""

    historic: str
    scan: str | None
    time: str
    record_type: str
    serial: str | None
    device: str | None


def _columns(frame: pd.DataFrame, name: str) -> _Columns:
    cols = {c.lower(): c for c in frame.columns}
    hist = next((c for lc, c in cols.items() if lc.startswith("historic glucose")), None)
    scan = next((c for lc, c in cols.items() if lc.startswith("scan glucose")), None)
    tcol = next((c for lc, c in cols.items() if "timestamp" in lc), None) or cols.get("time")
    rcol = cols.get("record type")
    if hist is None or tcol is None or rcol is None:
        raise CGMInputError(
            f"{name}: a LibreView export needs Device Timestamp, Record Type and Historic Glucose columns. "
            f"Found: {list(frame.columns)[:8]}."
        )
    return _Columns(hist, scan, tcol, rcol, cols.get("serial number"), cols.get("device"))


def libre_times(stamps: pd.Series, name: str, column: str) -> tuple[NDArray[np.datetime64], str]:
    """Parse LibreView timestamps, telling day-first from month-first from the data (never silently)."""
    text = stamps.astype(str).str.strip()
    parts = text.str.extract(NUMERIC_DATE)
    if parts[0].isna().any():
        iso = to_datetime(text, utc=False)
        if not iso.isna().any():
            return iso.to_numpy(dtype="datetime64[ns]"), "Timestamps in ISO format (year-month-day)."
        bad = text[parts[0].isna() & iso.isna()].head(3).tolist()
        raise CGMInputError(
            f"{name}: {int((parts[0].isna() & iso.isna()).sum())} timestamp(s) in column {column!r} do not parse, "
            f"e.g. {bad}. "
            "LibreView timestamps look like 01-02-2026 11:40 PM (US) or 02-01-2026 23:40."
        )
    return day_month_times(text, parts, name, column)


def _unit(values: NDArray[np.float64], column: str, name: str) -> tuple[str, str]:
    """The unit of the readings (from the historic glucose column's name, else from the values) and its note."""
    unit = unit_from_header(column)
    if unit is not None:
        check_unit(values, unit, name, "column header")
        return unit, f"LibreView export, glucose in {unit}."
    unit, median = unit_from_values(values)
    return unit, (
        f"LibreView export; the glucose header names no unit, the values (median {median:.1f}) are read as {unit}."
    )


def read_frame(frame: pd.DataFrame, name: str, layout_notes: Sequence[str] = ()) -> CGMRecord:
    """The record of a LibreView table with English column names: history, scans where it has gaps.

    Args:
        layout_notes: notes on how the columns were found, placed after the unit's note.

    Raises:
        CGMInputError: a column is missing, there are no glucose records, or the values are not glucose.
    """
    cols = _columns(frame, name)
    rtype = frame[cols.record_type].astype(str).str.strip()
    historic = frame[rtype == "0"]
    scans = frame[rtype == "1"] if cols.scan is not None else frame.iloc[0:0]
    absent = missing(historic[cols.historic]).sum() + (missing(scans[cols.scan]).sum() if cols.scan is not None else 0)
    historic = historic[~missing(historic[cols.historic])]
    scans = scans[~missing(scans[cols.scan])] if cols.scan is not None else scans
    if historic.empty and scans.empty:
        raise CGMInputError(
            f"{name}: a LibreView export with no glucose records (record types 0 or 1). "
            "Export a period with sensor data."
        )
    times, date_note = libre_times(pd.concat([historic, scans])[cols.time], name, cols.time)
    hist_values = numbers(historic[cols.historic], name, cols.historic)
    scan_values = (
        numbers(scans[cols.scan], name, cols.scan) if cols.scan is not None and not scans.empty else np.zeros(0)
    )
    unit, unit_note = _unit(np.concatenate([hist_values, scan_values]), cols.historic, name)
    notes = [unit_note, *layout_notes, date_note]
    serials = historic[cols.serial] if cols.serial is not None else None
    times, values, merge_notes = _merge(times, len(historic), hist_values, scan_values, serials)
    notes.extend(merge_notes)
    others = int((~rtype.isin(["0", "1"])).sum())
    if others:
        notes.append(f"{others} non-glucose record(s) (notes, insulin, food) ignored.")
    device = cols.device
    named = str(frame[device].dropna().iloc[0]).strip() if device is not None and frame[device].notna().any() else ""
    return finish(
        name, "libreview", unit, times, values, device=named or "FreeStyle Libre", notes=notes, missing=int(absent)
    )


def _merge(
    times: NDArray[np.datetime64],
    n_hist: int,
    hist_values: NDArray[np.float64],
    scan_values: NDArray[np.float64],
    serials: pd.Series | None,
) -> tuple[NDArray[np.datetime64], NDArray[np.float64], list[str]]:
    """One series from the history (one device's, others filling its gaps) and the scans that fill its gaps.

    Args:
        times: the history's times, then the scans'; n_hist: how many are history.
        serials: the device serial number of each historic reading (None: no such column).

    Returns:
        the times, the values (history, then the scans used) and the notes on what was left out.
    """
    hist_times, scan_times = times[:n_hist], times[n_hist:]
    notes: list[str] = []
    if serials is not None and n_hist:
        keep, note = one_device(serials, hist_times, 7.5, "Historic readings", "devices")
        if note is not None:
            # two readers/phones (or sensors) writing history for the same hours would interleave into a zig-zag
            notes.append(note)
            hist_times, hist_values = hist_times[keep], hist_values[keep]
            n_hist = int(keep.sum())
    if scan_values.size:
        if n_hist:
            fill = fills_gaps(hist_times, scan_times)
            notes.append(
                f"{int(fill.sum())} of {scan_values.size} scan reading(s) used where the history has a gap; "
                "the others duplicate the history and are ignored."
            )
            scan_times, scan_values = scan_times[fill], scan_values[fill]
        else:
            notes.append(f"No historic records: the series is made of {scan_values.size} scan readings.")
    return np.concatenate([hist_times, scan_times]), np.concatenate([hist_values, scan_values]), notes


LAYOUT = Layout("libreview", recognise, read)
"""LibreView with English column names (and the desktop export), recognised by name in the first five lines."""
