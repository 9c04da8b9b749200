"""Dexcom Clarity CSV (G6 and G7).

A header row with ``Event Type`` and ``Glucose Value (mg/dL)`` or ``(mmol/L)``, patient/device/alert rows, then
``EGV`` rows. A UTF-8 byte-order mark is removed (by the text decoding). Rows uploaded by more than one display
device (``Source Device ID``: receiver and phone) are not doubled: the device with the most readings is the record
and the others fill only its gaps, with a note.
"""

from __future__ import annotations

from typing import Any

from medai_core.errors import CGMInputError
from medai_core.glucose.readers.devices import one_device
from medai_core.glucose.readers.layout import CGMOptions, Layout
from medai_core.glucose.readers.record import CGMRecord, finish
from medai_core.glucose.readers.text import read_table
from medai_core.glucose.readers.times import parse_times
from medai_core.glucose.readers.units import check_unit, missing, numbers, unit_from_header, unit_from_values


def recognise(lines: list[str]) -> int | None:
    """0 when the first line is a Clarity header (``Event Type`` and ``Glucose Value``), else None."""
    return 0 if lines and "Event Type" in lines[0] and "Glucose Value" in lines[0] else None


def read(lines: list[str], header: int, name: str, options: CGMOptions) -> CGMRecord:
    """The EGV readings of a Clarity export (``header`` is 0; the patient option does not apply).

    Raises:
        CGMInputError: a column is missing, there are no EGV readings, or the values are not glucose.
    """
    frame = read_table(lines, name, skip=header)
    glucose_cols = [c for c in frame.columns if c.startswith("Glucose Value")]
    time_cols = [c for c in frame.columns if c.startswith("Timestamp")]
    if not glucose_cols or not time_cols or "Event Type" not in frame.columns:
        raise CGMInputError(
            f"{name}: a Dexcom Clarity header needs the columns 'Event Type', 'Timestamp (...)' and "
            f"'Glucose Value (...)'. Found: {list(frame.columns)[:12]}. Export CSV from Dexcom Clarity again, "
            "unedited."
        )
    gcol, tcol = glucose_cols[0], time_cols[0]
    stated_unit = unit_from_header(gcol)
    device = ""
    devices: Any = (
        frame.loc[frame["Event Type"].astype(str).str.strip() == "Device", "Device Info"].dropna()
        if "Device Info" in frame
        else []
    )
    if len(devices):
        device = str(devices.iloc[0]).strip()
    egv = frame[frame["Event Type"].astype(str).str.strip().str.upper() == "EGV"]
    if egv.empty or missing(egv[gcol]).all():
        raise CGMInputError(
            f"{name}: a Dexcom Clarity export with no EGV (glucose) readings. Export a period with sensor data."
        )
    absent = missing(egv[gcol])
    egv = egv[~absent]
    values = numbers(egv[gcol], name, gcol)
    if stated_unit is not None:
        unit, unit_note = stated_unit, f"Dexcom Clarity export, glucose in {stated_unit}."
    else:  # Clarity always names it; an edited header may not
        unit, median = unit_from_values(values)
        unit_note = (
            f"Dexcom Clarity export; the glucose header names no unit, the values (median {median:.1f}) are read "
            f"as {unit}."
        )
    check_unit(values, unit, name, "column header")
    times, clock_notes = parse_times(egv[tcol], name, tcol, options["timezone"])
    notes = [unit_note, *clock_notes]
    if "Source Device ID" in egv.columns:
        keep, note = one_device(egv["Source Device ID"], times, 2.5, "Glucose rows", "display devices")
        if note is not None:
            # a receiver and a phone can both upload the same sensor's readings (else each appears twice)
            notes.append(note)
            times, values = times[keep], values[keep]
    return finish(
        name, "dexcom_clarity", unit, times, values, device=device or "Dexcom", notes=notes, missing=int(absent.sum())
    )


LAYOUT = Layout("dexcom_clarity", recognise, read)
"""Dexcom Clarity, recognised by its first line."""
