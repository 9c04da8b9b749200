"""Generic CSV: a timestamp column and a glucose column under common names (comma, semicolon or tab separated).

The unit comes from the column name, else from a ``unit`` column (one unit for every reading), else from the values
(and said so); an optional patient id column, as in the ``id, time, gl`` research tables, with one patient chosen
(``patient``) when several are present. A time-of-day column beside a date column (CareLink ``Date``/``Time``,
xDrip ``DAY``/``TIME``) is combined with it; a time of day alone, a date alone, a two-digit year or a column that
mixes date layouts is refused (:mod:`medai_core.glucose.readers.times`). Nightscout's ``dateString`` is a timestamp
column. CareLink, xDrip and Nightscout exports are read here, by their column names, not as layouts of their own.

This is the layout read when no other recognises the file; the research tables of ``evaluate``/``train``
(:mod:`medai_core.glucose.readers.research`) go through the same columns and values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from medai_core.errors import CGMInputError
from medai_core.glucose.readers.layout import CGMOptions
from medai_core.glucose.readers.record import CGMRecord, finish
from medai_core.glucose.readers.text import read_table
from medai_core.glucose.readers.times import TIME_OF_DAY_ONLY, parse_times
from medai_core.glucose.readers.units import check_unit, missing, numbers, unit_from_header, unit_from_values

_TIME_NAMES = (
    "time",
    "timestamp",
    "datetime",
    "date_time",
    "date time",
    "device timestamp",
    "display time",
    "time stamp",
    "glucose time",
    "reading time",
    "datestring",
)
_GLUCOSE_NAMES = (
    "gl",
    "glucose",
    "sgv",
    "bg",
    "cgm",
    "glucose value",
    "sensor glucose",
    "glucose level",
    "historic glucose",
    "value",
    "reading",
)
_DEVICE_NAMES = ("device", "device name", "sensor", "sensor type", "device info")
"""Columns of a generic table that name the CGM (its family sets what Low/High stand for)."""
_UNIT_COLUMN_NAMES = ("unit", "units", "glucose unit", "glucose units", "uom")
_ID_NAMES = ("id", "patient", "patient_id", "patient id", "subject", "subject_id", "subject id", "ptid")
_DATE_COLUMN_NAMES = ("date", "day", "datum", "fecha")
"""Names of a separate date column, combined with a time-of-day column (CareLink ``Date``/``Time``, xDrip ``DAY``)."""


def _find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
    """The column whose name (units in brackets left out) is one of ``names``, else the first that starts with one
    of them (names of more than three letters), else None."""
    normal = {re.sub(r"\s*[\(\[].*?[\)\]]\s*", "", c).strip().lower().replace("-", " "): c for c in columns}
    for candidate in names:
        if candidate in normal:
            return normal[candidate]
    for candidate in names:
        for key, col in normal.items():
            if len(candidate) > 3 and key.startswith(candidate):
                return col
    return None


def _find_glucose_column(columns: list[str]) -> str | None:
    found = _find_column(columns, _GLUCOSE_NAMES)
    if found is not None:
        return found
    for col in columns:
        low = col.lower()
        if "glucose" in low or low.startswith(("gl_", "glucose_")) or low in ("mg/dl", "mmol/l"):
            return col
    return None


def _times_of_day(column: pd.Series) -> bool:
    """Whether every non-blank value of ``column`` is a time of day without a date."""
    text = column.dropna().astype(str).str.strip()
    text = text[text != ""]
    return bool(len(text)) and bool(text.str.fullmatch(TIME_OF_DAY_ONLY).all())


@dataclass(frozen=True)
class GenericColumns:
    """Where a generic table keeps its glucose, time and (optional) patient id.

    Attributes:
        frame: the table (rows without a patient id left out).
        glucose: the glucose column's name.
        stamps: the timestamp of each row (a date column and a time-of-day column joined where the file has them).
        time_name: how messages name the timestamp column (``"Date + Time"`` for two).
        id_column, ids: the patient id column's name and the ids (None: no such column).
        notes: what was left out.
        unit_column: the name of a column that states each reading's unit (None: none).
    """

    frame: pd.DataFrame
    glucose: str
    stamps: pd.Series
    time_name: str
    id_column: str | None
    ids: pd.Series | None
    notes: tuple[str, ...]
    unit_column: str | None = None


def _stamps(frame: pd.DataFrame, name: str) -> tuple[pd.Series, str]:
    """The timestamp of each row and how messages name its column: a timestamp column, joined to a date column
    where it holds times of day only, or a date column joined to a ``time``/``hour`` column.

    Raises:
        CGMInputError: no timestamp column.
    """
    columns = list(frame.columns)
    tcol = _find_column(columns, _TIME_NAMES)
    dcol = next((c for c in columns if c.strip().lower() in _DATE_COLUMN_NAMES), None)
    if tcol is not None and dcol is not None and dcol != tcol and _times_of_day(frame[tcol]):
        return frame[dcol].astype(str).str.strip() + " " + frame[tcol].astype(str).str.strip(), f"{dcol} + {tcol}"
    if tcol is not None:
        return frame[tcol], tcol
    if dcol is not None and any(c.strip().lower() in ("time", "hour") for c in columns):
        hcol = next(c for c in columns if c.strip().lower() in ("time", "hour"))
        return frame[dcol].astype(str).str.strip() + " " + frame[hcol].astype(str).str.strip(), f"{dcol} + {hcol}"
    raise CGMInputError(
        f"{name}: no timestamp column. Found: {columns[:12]}. Expected a column named time, timestamp or "
        "datetime (or separate date and time columns)."
    )


def generic_columns(lines: list[str], name: str) -> GenericColumns:
    """The table and where it keeps each thing.

    Raises:
        CGMInputError: no rows, no glucose or timestamp column, or a patient id column empty on every row.
    """
    frame = read_table(lines, name)
    if frame.empty:
        raise CGMInputError(f"{name} has a header but no rows. Upload a file with glucose readings.")
    columns = list(frame.columns)
    gcol = _find_glucose_column(columns)
    if gcol is None:
        raise CGMInputError(
            f"CGM file has no glucose column. Found: {columns[:12]}. Expected a Dexcom Clarity or LibreView "
            "export, or a CSV with columns timestamp, glucose (or id, time, gl)."
        )
    stamps, tcol = _stamps(frame, name)
    idcol = _find_column(columns, _ID_NAMES)
    if idcol in (gcol, tcol):
        idcol = None
    ids: pd.Series | None = None
    notes: tuple[str, ...] = ()
    if idcol is not None:
        ids = frame[idcol].fillna("").astype(str).str.strip()
        blank = ids == ""
        if blank.all():
            raise CGMInputError(f"{name}: the patient id column {idcol!r} is empty on every row.")
        if blank.any():
            notes = (f"{int(blank.sum())} row(s) without a patient id ignored.",)
            frame, stamps, ids = frame[~blank], stamps[~blank], ids[~blank]
    ucol = _find_column(columns, _UNIT_COLUMN_NAMES)
    if ucol in (gcol, tcol, idcol):
        ucol = None
    return GenericColumns(frame, gcol, stamps, tcol, idcol, ids, notes, ucol)


def generic_values(
    cols: GenericColumns, rows: pd.Series | None, name: str, timezone: str | None
) -> tuple[NDArray[np.datetime64], NDArray[np.float64], str, list[str], NDArray[np.bool_]]:
    """Times (local), values (in the file's unit), the unit, notes, and the kept-row mask of ``rows``.

    Args:
        rows: bool mask of the rows to read (one patient's), or None for every row.
    """
    raw = cols.frame[cols.glucose] if rows is None else cols.frame.loc[rows, cols.glucose]
    stamps = cols.stamps if rows is None else cols.stamps[rows]
    blank = missing(raw)
    values = numbers(raw[~blank], name, cols.glucose)
    if values.size == 0:
        raise CGMInputError(f"{name}: column {cols.glucose!r} holds no glucose values. Upload a file with readings.")
    times, notes = parse_times(stamps[~blank], name, cols.time_name, timezone)
    unit = unit_from_header(cols.glucose)
    if unit is not None:
        check_unit(values, unit, name, f"column name {cols.glucose!r}")
        notes.insert(0, f"Glucose in {unit} (from the column name {cols.glucose!r}).")
    elif cols.unit_column is not None:
        labels = cols.frame[cols.unit_column] if rows is None else cols.frame.loc[rows, cols.unit_column]
        stated = sorted({str(v).strip() for v in labels[~blank].fillna("").tolist()})
        units = {unit_from_header(v) for v in stated}
        if None in units or len(units) != 1:
            raise CGMInputError(
                f"{name}: the unit column {cols.unit_column!r} holds {stated[:4]}; expected one unit for every "
                "reading, mg/dL or mmol/L. Export the readings in one unit."
            )
        unit = str(units.pop())
        check_unit(values, unit, name, f"unit column {cols.unit_column!r}")
        notes.insert(0, f"Glucose in {unit} (from the unit column {cols.unit_column!r}).")
    else:
        unit, median = unit_from_values(values)
        notes.insert(
            0,
            f"The column {cols.glucose!r} names no unit; the values (median {median:.1f}) are read as {unit}.",
        )
    return times, values, unit, notes, ~blank


def _patient_rows(
    cols: GenericColumns, patient: str | None, name: str
) -> tuple[tuple[str, ...], str | None, pd.Series | None, list[str]]:
    """(every patient id, the chosen one, the mask of its rows, notes): the chosen patient, else the first in id
    order; no ids, no choice and every row for a table without a patient id column.

    Raises:
        CGMInputError: the chosen patient is not in the file, or the file has no patient id column to choose from.
    """
    if cols.ids is None:
        if patient is not None:
            raise CGMInputError(f"{name} has no patient id column, so a patient cannot be chosen.")
        return (), None, None, []
    ids = cols.ids
    patients = tuple(sorted(ids.unique().tolist(), key=lambda s: (len(s), s)))
    notes: list[str] = []
    if patient is not None:
        if str(patient).strip() not in patients:
            raise CGMInputError(
                f"{name}: the chosen patient is not in the file, which holds {len(patients)} patient(s) in "
                f"column {cols.id_column!r}. Choose one of the ids in that column."
            )
        chosen = str(patient).strip()
    else:
        chosen = patients[0]
        if len(patients) > 1:
            notes.append(
                f"The file holds {len(patients)} patients; the first one (in id order) is shown, another can be chosen."
            )
    return patients, chosen, ids == chosen, notes


def read(lines: list[str], name: str, options: CGMOptions) -> CGMRecord:
    """The readings of a generic table: one patient's where it holds several (``patient``), timestamps with an
    offset in the chosen ``timezone``."""
    cols = generic_columns(lines, name)
    patients, chosen, rows, patient_notes = _patient_rows(cols, options["patient"], name)
    times, values, unit, value_notes, kept = generic_values(cols, rows, name, options["timezone"])
    notes = ["Generic CSV.", *value_notes, *cols.notes, *patient_notes]
    device = ""
    dcol = _find_column(list(cols.frame.columns), _DEVICE_NAMES)
    if dcol is not None and dcol not in (cols.glucose, cols.id_column):
        named = cols.frame[dcol] if rows is None else cols.frame.loc[rows, dcol]
        named = named.dropna().astype(str).str.strip()
        device = str(named[named != ""].iloc[0]) if (named != "").any() else ""
    return finish(
        name,
        "generic_csv",
        unit,
        times,
        values,
        device=device,
        patient=chosen,
        patients=patients,
        notes=notes,
        missing=int((~kept).sum()),
    )
