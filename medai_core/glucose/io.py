"""Reading CGM files: Dexcom Clarity and LibreView exports, generic CSVs and ``id, time, gl`` research tables.

:func:`read_cgm` takes the bytes of one file and returns a :class:`CGMRecord` (readings in mg/dL with the facts
a clinician needs to trust them: source format, unit found, device, sampling interval, and notes on every
decision taken, e.g. how the date format was told apart). Every problem raises :class:`CGMInputError` with what
was wrong, what is accepted, and what to do.

Formats recognised:

- Dexcom Clarity CSV (G6 and G7): a header row with ``Event Type`` and ``Glucose Value (mg/dL)`` or
  ``(mmol/L)``, patient/device/alert rows, then ``EGV`` rows; ``Low``/``High`` readings are set to the sensor's
  reporting limits (40 / 400 mg/dL) and counted in the notes. A UTF-8 byte-order mark is removed.
- LibreView CSV: a title line, then a header with ``Device Timestamp``, ``Record Type``, ``Historic Glucose``
  and ``Scan Glucose`` in mg/dL or mmol/L. Record type 0 (historic, every 5 or 15 minutes) makes the series;
  type 1 (scans) fills only grid points the history lacks; other types (notes, insulin, food) are ignored.
  ``MM-DD-YYYY hh:mm AM`` (US) and ``DD-MM-YYYY HH:MM`` (elsewhere) are told apart from the data: a first field
  above 12 means day-first, a second field above 12 means month-first; otherwise the reading that gives a
  continuous series wins, and a file that still cannot be told apart is refused rather than guessed.
- Generic CSV: a timestamp column and a glucose column under common names (comma, semicolon or tab separated),
  unit from the column name or, if it names none, from the values (and said so); an optional patient id column,
  as in the ``id, time, gl`` research tables, with one patient chosen (``patient``) when several are present.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from medai_core.errors import CGMInputError
from medai_core.glucose.prepare import MG_DL_PER_MMOL_L, Grid, make_grid

__all__ = [
    "CGMRecord",
    "SENSOR_HIGH_MG_DL",
    "SENSOR_LOW_MG_DL",
    "grids_by_patient",
    "read_cgm",
    "read_research_table",
]

SENSOR_LOW_MG_DL = 40.0
"""Reading reported as "Low" (below the Dexcom reporting range)."""
SENSOR_HIGH_MG_DL = 400.0
"""Reading reported as "High" (above the Dexcom reporting range)."""
PLAUSIBLE_MG_DL = (20.0, 600.0)
"""Readings outside this range are physiologically impossible for a CGM and refused."""

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
_ID_NAMES = ("id", "patient", "patient_id", "patient id", "subject", "subject_id", "subject id", "ptid")


@dataclass(frozen=True)
class CGMRecord:
    """The readings of one patient from one file.

    Attributes:
        source_format: ``"dexcom_clarity"``, ``"libreview"`` or ``"generic_csv"``.
        unit_detected: the unit of the file, ``"mg/dL"`` or ``"mmol/L"``.
        times: datetime64[ns] (M,) reading times, sorted.
        glucose_mg_dl: float64 (M,) readings in mg/dL.
        device: device or app named by the file ("" when none).
        patient: the chosen patient id for multi-patient tables (None otherwise).
        patients: all patient ids of the file (empty for single-patient exports).
        sampling_minutes: median minutes between readings (5 for Dexcom, 5 or 15 for Libre history).
        notes: decisions taken while reading, in plain words (shown on the page and in the report).
    """

    source_format: str
    unit_detected: str
    times: NDArray[np.datetime64]
    glucose_mg_dl: NDArray[np.float64]
    device: str
    patient: str | None
    patients: tuple[str, ...]
    sampling_minutes: float
    notes: tuple[str, ...]

    @property
    def n_readings(self) -> int:
        """Number of readings."""
        return int(self.glucose_mg_dl.size)

    def grid(self) -> Grid:
        """The readings on the 5-minute grid with its gap mask (see :func:`medai_core.glucose.prepare.make_grid`)."""
        return make_grid(self.times, self.glucose_mg_dl)


# --------------------------------------------------------------------------------------------------- decoding


def _decode(data: bytes, name: str) -> str:
    if not data or not data.strip():
        raise CGMInputError(
            f"{name} is empty. Upload a Dexcom Clarity or LibreView CSV export, or a CSV with columns "
            "timestamp, glucose."
        )
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError):
            raise CGMInputError(
                f"{name} looks gzip-compressed but cannot be decompressed. Upload the CSV file itself."
            ) from None
    signatures = {
        b"%PDF": "a PDF document",
        b"PK\x03\x04": "a zip archive or Excel workbook",
        b"\xd0\xcf\x11\xe0": "an old Excel/Office file",
        b"\x89PNG": "a PNG image",
        b"\xff\xd8\xff": "a JPEG image",
    }
    for magic, what in signatures.items():
        if data.startswith(magic):
            raise CGMInputError(
                f"{name} is {what}, not a CSV file. Export CSV from Dexcom Clarity or LibreView and upload that."
            )
    if b"\x00" in data[:4096]:
        raise CGMInputError(f"{name} is a binary file, not a CSV text file. Upload a CSV export.")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - cp1252 decodes nearly everything
        raise CGMInputError(f"{name} is not a text file. Upload a CSV export.")
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise CGMInputError(f"{name} is empty. Upload a CSV export with glucose readings.")
    return text


def _read_table(text: str, name: str, skip: int = 0) -> pd.DataFrame:
    lines = text.splitlines()[skip:]
    sample = "\n".join(lines[:20])
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    try:
        frame = pd.read_csv(
            io.StringIO("\n".join(lines)),
            sep=delimiter,
            dtype=str,
            skipinitialspace=True,
            keep_default_na=False,
            na_values=[""],
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise CGMInputError(
            f"{name} is not a readable CSV table ({str(exc).splitlines()[0]}). Upload a Dexcom Clarity or "
            "LibreView CSV export, or a CSV with columns timestamp, glucose."
        ) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _numbers(values: pd.Series, name: str, column: str) -> NDArray[np.float64]:
    """Parse glucose strings (decimal comma accepted); refuse non-numeric values."""
    text = values.astype(str).str.strip().str.replace(",", ".", regex=False)
    parsed = pd.to_numeric(text, errors="coerce")
    bad = parsed.isna() & values.notna() & (values.astype(str).str.strip() != "")
    if bad.any():
        examples = values[bad].astype(str).head(3).tolist()
        raise CGMInputError(
            f"{name}: {int(bad.sum())} value(s) in column {column!r} are not numbers, e.g. {examples}. "
            "Glucose must be numeric (mg/dL or mmol/L); remove or correct those rows."
        )
    return parsed.to_numpy(dtype=np.float64)


def _parse_times(values: pd.Series, name: str, column: str, fmt: str | None = None) -> NDArray[np.datetime64]:
    text = values.astype(str).str.strip()
    if fmt is not None:
        parsed = pd.to_datetime(text, format=fmt, errors="coerce")
    else:
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601")
        if parsed.isna().any():
            parsed = pd.to_datetime(text, errors="coerce", format="mixed")
    if parsed.isna().any():
        examples = text[parsed.isna()].head(3).tolist()
        raise CGMInputError(
            f"{name}: {int(parsed.isna().sum())} timestamp(s) in column {column!r} do not parse, e.g. {examples}. "
            "Use ISO timestamps like 2025-11-21T00:17:19 or the export's own date format."
        )
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)
    return parsed.to_numpy(dtype="datetime64[ns]")


def _check_unit(values: NDArray[np.float64], unit: str, name: str, how: str) -> None:
    """Refuse values that look like the other unit than the one ``how`` (header, column name) declares."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return
    median = float(np.median(finite))
    if unit == "mg/dL" and median < 25:
        raise CGMInputError(
            f"{name}: the {how} says mg/dL but the readings look like mmol/L (median {median:.1f}). "
            "Check the export settings or relabel the column (e.g. 'glucose_mmol_l')."
        )
    if unit == "mmol/L" and median > 35:
        raise CGMInputError(
            f"{name}: the {how} says mmol/L but the readings look like mg/dL (median {median:.0f}). "
            "Check the export settings or relabel the column (e.g. 'glucose_mg_dl')."
        )


def _check_plausible(values_mg_dl: NDArray[np.float64], name: str) -> None:
    low, high = PLAUSIBLE_MG_DL
    bad = (values_mg_dl < low) | (values_mg_dl > high)
    if bad.any():
        examples = sorted({round(float(v), 1) for v in values_mg_dl[bad]})[:4]
        raise CGMInputError(
            f"{name}: {int(bad.sum())} impossible glucose value(s) {examples} mg/dL; CGM readings lie between "
            f"{low:.0f} and {high:.0f} mg/dL. Remove those rows or check the unit."
        )


def _finish(
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
) -> CGMRecord:
    keep = np.isfinite(values)
    times, values = times[keep], values[keep]
    if values.size == 0:
        raise CGMInputError(f"{name} holds no glucose readings. Upload an export that covers at least one day.")
    mg_dl = values * MG_DL_PER_MMOL_L if unit == "mmol/L" else values
    _check_plausible(mg_dl, name)
    order = np.argsort(times, kind="stable")
    times, mg_dl = times[order], mg_dl[order]
    notes = list(notes or [])
    dup = np.concatenate([[False], (np.diff(times.astype(np.int64)) == 0)])
    if dup.any():
        notes.append(f"{int(dup.sum())} duplicate timestamp(s) averaged.")
    diffs = np.diff(times.astype("datetime64[s]").astype(np.int64)) / 60.0
    positive = diffs[diffs > 0]
    sampling = float(np.median(positive)) if positive.size else 5.0
    if sampling >= 10:
        notes.append(
            f"Readings every {sampling:.0f} minutes: points between them on the 5-minute grid are interpolated "
            "(gaps up to 15 min) and flagged; forecasts are less certain than with 5-minute data."
        )
    return CGMRecord(source_format, unit, times, mg_dl, device, patient, patients, sampling, tuple(notes))


def _unit_from_header(header: str) -> str | None:
    h = header.lower().replace(" ", "")
    if "mmol" in h:
        return "mmol/L"
    if "mg/dl" in h or "mg_dl" in h or "mgdl" in h or "mg/100ml" in h:
        return "mg/dL"
    return None


# --------------------------------------------------------------------------------------------------- Dexcom


def _is_dexcom(header_line: str) -> bool:
    return "Event Type" in header_line and "Glucose Value" in header_line


def _read_dexcom(text: str, name: str) -> CGMRecord:
    frame = _read_table(text, name)
    glucose_cols = [c for c in frame.columns if c.startswith("Glucose Value")]
    time_cols = [c for c in frame.columns if c.startswith("Timestamp")]
    if not glucose_cols or not time_cols:
        raise CGMInputError(
            f"{name}: Dexcom Clarity header without a Timestamp or Glucose Value column. Found: {list(frame.columns)}."
        )
    gcol, tcol = glucose_cols[0], time_cols[0]
    unit = _unit_from_header(gcol) or "mg/dL"
    device = ""
    devices: Any = (
        frame.loc[frame["Event Type"].astype(str).str.strip() == "Device", "Device Info"].dropna()
        if "Device Info" in frame
        else []
    )
    if len(devices):
        device = str(devices.iloc[0]).strip()
    egv = frame[frame["Event Type"].astype(str).str.strip().str.upper() == "EGV"]
    if egv.empty:
        raise CGMInputError(
            f"{name}: a Dexcom Clarity export with no EGV (glucose) rows. Export a period with sensor data."
        )
    raw = egv[gcol].astype(str).str.strip()
    low_text, high_text = raw.str.lower() == "low", raw.str.lower() == "high"
    limit_low = SENSOR_LOW_MG_DL if unit == "mg/dL" else round(SENSOR_LOW_MG_DL / MG_DL_PER_MMOL_L, 1)
    limit_high = SENSOR_HIGH_MG_DL if unit == "mg/dL" else round(SENSOR_HIGH_MG_DL / MG_DL_PER_MMOL_L, 1)
    numeric = raw.mask(low_text, str(limit_low)).mask(high_text, str(limit_high))
    values = _numbers(numeric, name, gcol)
    _check_unit(values, unit, name, "column header")
    times = _parse_times(egv[tcol], name, tcol)
    notes = [f"Dexcom Clarity export, glucose in {unit}."]
    if low_text.any():
        notes.append(
            f"{int(low_text.sum())} reading(s) 'Low' set to {SENSOR_LOW_MG_DL:.0f} mg/dL (the sensor's lower limit)."
        )
    if high_text.any():
        notes.append(
            f"{int(high_text.sum())} reading(s) 'High' set to {SENSOR_HIGH_MG_DL:.0f} mg/dL (the sensor's upper limit)."
        )
    return _finish(name, "dexcom_clarity", unit, times, values, device=device, notes=notes)


# --------------------------------------------------------------------------------------------------- LibreView

_LIBRE_DATE = re.compile(
    r"^\s*(\d{1,2})[-./](\d{1,2})[-./](\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?\s*$"
)


def _continuity(times: NDArray[np.datetime64]) -> float:
    """Share of the series' time span covered by steps of at most 20 minutes: high for the right date order."""
    if times.size < 2:
        return 1.0
    t = np.sort(times.astype("datetime64[m]").astype(np.int64))
    steps = np.diff(t)
    span = float(t[-1] - t[0])
    return float(steps[steps <= 20].sum() / span) if span > 0 else 1.0


def _libre_times(stamps: pd.Series, name: str, column: str) -> tuple[NDArray[np.datetime64], str]:
    """Parse LibreView timestamps, telling day-first from month-first from the data (never silently)."""
    text = stamps.astype(str).str.strip()
    parts = text.str.extract(_LIBRE_DATE)
    if parts[0].isna().any():
        iso = pd.to_datetime(text, errors="coerce", format="ISO8601")
        if not iso.isna().any():
            return iso.to_numpy(dtype="datetime64[ns]"), "Timestamps in ISO format (year-month-day)."
        bad = text[parts[0].isna() & iso.isna()].head(3).tolist()
        raise CGMInputError(
            f"{name}: {int((parts[0].isna() & iso.isna()).sum())} timestamp(s) in column {column!r} do not parse, "
            f"e.g. {bad}. "
            "LibreView timestamps look like 01-02-2026 11:40 PM (US) or 02-01-2026 23:40."
        )
    first, second = parts[0].astype(int), parts[1].astype(int)
    twelve_hour = parts[6].notna().any()
    clock = "%I:%M %p" if twelve_hour else "%H:%M"
    if parts[5].notna().any():
        clock = clock.replace("%M", "%M:%S")
    month_first = f"%m-%d-%Y {clock}"
    day_first = f"%d-%m-%Y {clock}"
    normalised = text.str.replace(r"[./]", "-", regex=True)
    if (first > 12).any() and (second > 12).any():
        raise CGMInputError(
            f"{name}: dates in column {column!r} have values above 12 in both the day and month positions; "
            "they are not dates."
        )
    if (first > 12).any():
        fmt, reason = day_first, "dates read as DD-MM-YYYY (a first field above 12 can only be a day)"
    elif (second > 12).any():
        fmt, reason = month_first, "dates read as MM-DD-YYYY (a second field above 12 can only be a day)"
    elif (first == second).all():
        fmt, reason = month_first, "day and month are equal on every row, so the date order does not matter"
    else:
        as_month = pd.to_datetime(normalised, format=month_first, errors="coerce")
        as_day = pd.to_datetime(normalised, format=day_first, errors="coerce")
        c_month = _continuity(as_month.dropna().to_numpy(dtype="datetime64[ns]")) if not as_month.isna().any() else -1.0
        c_day = _continuity(as_day.dropna().to_numpy(dtype="datetime64[ns]")) if not as_day.isna().any() else -1.0
        if c_month > c_day + 0.2:
            fmt = month_first
            reason = (
                f"dates read as MM-DD-YYYY: that order gives a continuous series ({c_month:.0%} of its time span "
                f"covered by readings vs {c_day:.0%})"
            )
        elif c_day > c_month + 0.2:
            fmt = day_first
            reason = (
                f"dates read as DD-MM-YYYY: that order gives a continuous series ({c_day:.0%} of its time span "
                f"covered by readings vs {c_month:.0%})"
            )
        else:
            raise CGMInputError(
                f"{name}: cannot tell whether dates are MM-DD-YYYY (US) or DD-MM-YYYY: every day and month is 12 or "
                "less and both readings give a plausible series. Re-export with a longer period, or convert the "
                "timestamps to ISO (YYYY-MM-DD HH:MM) and upload as a generic CSV."
            )
    parsed = pd.to_datetime(normalised, format=fmt, errors="coerce")
    if parsed.isna().any():
        bad = text[parsed.isna()].head(3).tolist()
        raise CGMInputError(
            f"{name}: {int(parsed.isna().sum())} timestamp(s) in column {column!r} do not parse as {fmt}, e.g. {bad}."
        )
    return parsed.to_numpy(dtype="datetime64[ns]"), reason[0].upper() + reason[1:] + "."


def _read_libre(text: str, name: str, header_index: int) -> CGMRecord:
    frame = _read_table(text, name, skip=header_index)
    cols = {c.lower(): c for c in frame.columns}
    hist = next((c for lc, c in cols.items() if lc.startswith("historic glucose")), None)
    scan = next((c for lc, c in cols.items() if lc.startswith("scan glucose")), None)
    tcol = next((c for lc, c in cols.items() if "timestamp" in lc), None)
    rcol = cols.get("record type")
    if hist is None or tcol is None or rcol is None:
        raise CGMInputError(
            f"{name}: a LibreView export needs Device Timestamp, Record Type and Historic Glucose columns. "
            f"Found: {list(frame.columns)[:8]}."
        )
    unit = _unit_from_header(hist) or "mg/dL"
    rtype = frame[rcol].astype(str).str.strip()
    historic = frame[rtype == "0"]
    scans = frame[rtype == "1"] if scan is not None else frame.iloc[0:0]
    if historic.empty and scans.empty:
        raise CGMInputError(
            f"{name}: a LibreView export with no glucose records (record types 0 or 1). "
            "Export a period with sensor data."
        )
    used = pd.concat([historic, scans])
    times, date_note = _libre_times(used[tcol], name, tcol)
    hist_values = _numbers(historic[hist], name, hist)
    scan_values = _numbers(scans[scan], name, scan) if scan is not None and not scans.empty else np.zeros(0)
    _check_unit(np.concatenate([hist_values, scan_values]), unit, name, "column header")
    n_hist = len(historic)
    hist_times, scan_times = times[:n_hist], times[n_hist:]
    notes = [f"LibreView export, glucose in {unit}.", date_note]
    if scan_values.size:
        if n_hist:
            # a scan is used only where the history has no reading within 7.5 minutes (a gap)
            h = np.sort(hist_times.astype(np.int64))
            s = scan_times.astype(np.int64)
            pos = np.clip(np.searchsorted(h, s), 1, h.size - 1) if h.size > 1 else np.zeros(s.size, dtype=int)
            nearest = np.minimum(np.abs(s - h[pos - 1]), np.abs(s - h[pos])) if h.size > 1 else np.abs(s - h[0])
            fill = nearest > 7.5 * 60e9
            notes.append(
                f"{int(fill.sum())} of {scan_values.size} scan reading(s) used where the history has a gap; "
                "the others duplicate the history and are ignored."
            )
            scan_times, scan_values = scan_times[fill], scan_values[fill]
        else:
            notes.append(f"No historic records: the series is made of {scan_values.size} scan readings.")
    others = int((~rtype.isin(["0", "1"])).sum())
    if others:
        notes.append(f"{others} non-glucose record(s) (notes, insulin, food) ignored.")
    device = (
        str(frame[cols["device"]].dropna().iloc[0]).strip()
        if "device" in cols and frame[cols["device"]].notna().any()
        else ""
    )
    return _finish(
        name,
        "libreview",
        unit,
        np.concatenate([hist_times, scan_times]),
        np.concatenate([hist_values, scan_values]),
        device=device,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------------- generic


def _find_column(columns: list[str], names: tuple[str, ...]) -> str | None:
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


def _read_generic(text: str, name: str, patient: str | None) -> CGMRecord:
    frame = _read_table(text, name)
    if frame.empty:
        raise CGMInputError(f"{name} has a header but no rows. Upload a file with glucose readings.")
    columns = list(frame.columns)
    gcol = _find_glucose_column(columns)
    if gcol is None:
        raise CGMInputError(
            f"CGM file has no glucose column. Found: {columns[:12]}. Expected a Dexcom Clarity or LibreView "
            "export, or a CSV with columns timestamp, glucose (or id, time, gl)."
        )
    tcol = _find_column(columns, _TIME_NAMES)
    notes: list[str] = []
    if tcol is not None:
        stamps = frame[tcol]
    elif "date" in {c.lower() for c in columns} and any(c.lower() in ("time", "hour") for c in columns):
        dcol = next(c for c in columns if c.lower() == "date")
        hcol = next(c for c in columns if c.lower() in ("time", "hour"))
        stamps, tcol = frame[dcol].astype(str) + " " + frame[hcol].astype(str), f"{dcol} + {hcol}"
    else:
        raise CGMInputError(
            f"{name}: no timestamp column. Found: {columns[:12]}. Expected a column named time, timestamp or "
            "datetime (or separate date and time columns)."
        )
    idcol = _find_column(columns, _ID_NAMES)
    patients: tuple[str, ...] = ()
    chosen: str | None = None
    if idcol is not None and idcol not in (gcol, tcol):
        ids = frame[idcol].astype(str).str.strip()
        patients = tuple(sorted(ids.unique().tolist(), key=lambda s: (len(s), s)))
        if patient is not None:
            if str(patient) not in patients:
                raise CGMInputError(
                    f"{name}: no patient {patient!r}; the file holds {len(patients)}: {list(patients)[:10]}."
                )
            chosen = str(patient)
        else:
            chosen = patients[0]
            if len(patients) > 1:
                notes.append(f"The file holds {len(patients)} patients; showing {chosen} (choose another one).")
        rows = ids == chosen
        frame, stamps = frame[rows], stamps[rows]
    elif patient is not None:
        raise CGMInputError(f"{name} has no patient id column, so patient {patient!r} cannot be chosen.")
    raw = frame[gcol]
    blank = raw.isna() | (raw.astype(str).str.strip() == "")
    values = _numbers(raw[~blank], name, gcol)
    times = _parse_times(stamps[~blank], name, tcol)
    if values.size == 0:
        raise CGMInputError(f"{name}: column {gcol!r} holds no glucose values. Upload a file with readings.")
    unit = _unit_from_header(gcol)
    if unit is not None:
        _check_unit(values, unit, name, f"column name {gcol!r}")
        notes.insert(0, f"Generic CSV, glucose in {unit} (from the column name {gcol!r}).")
    else:
        median = float(np.median(values))
        unit = "mmol/L" if median < 25 else "mg/dL"
        notes.insert(
            0, f"Generic CSV; the column {gcol!r} names no unit, the values (median {median:.1f}) are read as {unit}."
        )
    return _finish(name, "generic_csv", unit, times, values, patient=chosen, patients=patients, notes=notes)


# --------------------------------------------------------------------------------------------------- entry points


def read_cgm(data: bytes, *, name: str = "The file", patient: str | None = None) -> CGMRecord:
    """Read one CGM file (Dexcom Clarity, LibreView, generic CSV or ``id, time, gl`` table).

    Args:
        data: the file's bytes (csv; gzip accepted).
        name: how messages refer to the file.
        patient: the patient id to use when the file holds several (generic tables only).

    Returns:
        the readings in mg/dL with their provenance.

    Raises:
        CGMInputError: the file is empty, not CSV, lacks a glucose or time column, holds non-numeric,
            unparseable or impossible values, values in the other unit than declared, or ambiguous dates.
    """
    text = _decode(data, name)
    head = text.splitlines()[:5]
    if head and _is_dexcom(head[0]):
        return _read_dexcom(text, name)
    for index, line in enumerate(head):
        if "Record Type" in line and "Timestamp" in line:
            return _read_libre(text, name, index)
    return _read_generic(text, name, patient)


def read_research_table(source: str | Path | bytes) -> pd.DataFrame:
    """Read a research table with columns ``id, time, gl`` (glucose in mg/dL; csv or csv.gz), all patients.

    Returns:
        DataFrame with columns ``id`` (str), ``time`` (datetime64[ns]) and ``gl`` (float64 mg/dL), rows with a
        missing glucose value dropped.

    Raises:
        CGMInputError: the file cannot be read, lacks a column, or holds unparseable times or values.
    """
    name = "upload" if isinstance(source, bytes) else str(source)
    try:
        handle: Any = io.BytesIO(source) if isinstance(source, bytes) else source
        compression: Any = "gzip" if isinstance(source, bytes) and source[:2] == b"\x1f\x8b" else "infer"
        frame = pd.read_csv(handle, compression=compression, dtype={"id": str})
    except FileNotFoundError:
        raise CGMInputError(f"{name}: no such file. Give the path of a CSV with columns id, time, gl.") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise CGMInputError(
            f"{name}: not a readable CSV ({type(exc).__name__}). Expected columns id, time, gl (csv or csv.gz)."
        ) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in ("id", "time", "gl") if c not in frame.columns]
    if missing:
        raise CGMInputError(
            f"{name}: missing column(s) {missing}. Found: {list(frame.columns)[:10]}. "
            "Expected a research table with columns id, time, gl (glucose in mg/dL)."
        )
    frame = frame[["id", "time", "gl"]].copy()
    frame["id"] = frame["id"].astype(str)
    times = pd.to_datetime(frame["time"], errors="coerce", format="mixed")
    if times.isna().any():
        bad = frame.loc[times.isna(), "time"].astype(str).head(3).tolist()
        raise CGMInputError(f"{name}: {int(times.isna().sum())} timestamps do not parse, e.g. {bad}.")
    values = pd.to_numeric(frame["gl"], errors="coerce")
    non_numeric = values.isna() & frame["gl"].notna()
    if non_numeric.any():
        bad = frame.loc[non_numeric, "gl"].astype(str).head(3).tolist()
        raise CGMInputError(f"{name}: {int(non_numeric.sum())} glucose values are not numbers, e.g. {bad}.")
    frame["time"] = times.astype("datetime64[ns]")
    frame["gl"] = values.astype(np.float64)
    frame = frame.dropna(subset=["gl"]).reset_index(drop=True)
    if frame.empty:
        raise CGMInputError(f"{name}: no glucose readings.")
    _check_plausible(frame["gl"].to_numpy(), name)
    return frame


def grids_by_patient(frame: pd.DataFrame) -> dict[str, Grid]:
    """One 5-minute grid per patient of an ``id, time, gl`` table (see :func:`read_research_table`)."""
    return {
        str(pid): make_grid(group["time"].to_numpy(), group["gl"].to_numpy())
        for pid, group in frame.groupby("id", sort=True)
    }
