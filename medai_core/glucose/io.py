"""Reading CGM files: Dexcom Clarity and LibreView exports, generic CSVs and ``id, time, gl`` research tables.

:func:`read_cgm` takes the bytes of one file and returns a :class:`CGMRecord` (readings in mg/dL with the facts
a clinician needs to trust them: source format, unit found, device, sampling interval, and notes on every
decision taken, e.g. how the date format was told apart). Every problem raises :class:`CGMInputError` with what
was wrong, what is accepted, and what to do.

Formats recognised:

- Dexcom Clarity CSV (G6 and G7): a header row with ``Event Type`` and ``Glucose Value (mg/dL)`` or
  ``(mmol/L)``, patient/device/alert rows, then ``EGV`` rows. A UTF-8 byte-order mark is removed. Rows uploaded by
  more than one display device (``Source Device ID``: receiver and phone) are not doubled: the device with the most
  readings is the record and the others fill only its gaps, with a note.
- LibreView CSV: a title line, then a header with ``Device Timestamp``, ``Record Type``, ``Historic Glucose``
  and ``Scan Glucose`` in mg/dL or mmol/L. Record type 0 (historic, every 5 or 15 minutes) makes the series;
  type 1 (scans) fills only grid points the history lacks; other types (notes, insulin, food) are ignored.
  ``MM-DD-YYYY hh:mm AM`` (US) and ``DD-MM-YYYY HH:MM`` (elsewhere) are told apart from the data: a first field
  above 12 means day-first, a second field above 12 means month-first; otherwise the reading that gives a
  continuous series wins, and a file that still cannot be told apart is refused rather than guessed. Exports in
  another language (German, French, Spanish, ...) keep the same first six columns under translated names: they are
  recognised by that structure (unit-bearing 5th/6th names, FreeStyle device rows, record types 0-7) and read by
  position, with a note; the older desktop export (``ID``, ``Time``, ``Record Type``, tab-separated) is read by
  name. A glucose header that names no unit has its unit read from the values, and said so. History written by
  more than one device (phone and reader, by serial number) is not interleaved: the device with the most readings
  is the record and the others fill only its gaps, with a note.
- Generic CSV: a timestamp column and a glucose column under common names (comma, semicolon or tab separated),
  unit from the column name, else from a ``unit`` column (one unit for every reading), else from the values (and
  said so); an optional patient id column, as in the ``id, time, gl`` research tables, with one patient chosen
  (``patient``) when several are present. A time-of-day column beside a date column (CareLink ``Date``/``Time``,
  xDrip ``DAY``/``TIME``) is combined with it; a time of day alone, a date alone, a two-digit year or a column that
  mixes date layouts is refused. Numeric dates that are not year-first (``10/03/2024 08:00``) have their day/month
  order told from the data, as for LibreView. Nightscout's ``dateString`` is a timestamp column.
  The research tables of ``evaluate``/``train`` (:func:`read_research_table`) go through the same reader.

Readings, in every layout: a glucose cell that is empty or holds no finite number (``nan``, ``inf``, ``-inf``,
``NA``, ``null``; :data:`MISSING_WORDS`) is no reading: its row is skipped and counted in a note. ``Low``/``High``/
``LO``/``HI`` (:data:`medai_core.units.LIMIT_WORDS`) become the floor/ceiling of the sensor family the file names
(:data:`medai_core.units.SENSOR_FAMILIES`: 40-400 mg/dL for Dexcom, 40-500 for FreeStyle Libre, ...), counted in a
note and marked as censored (``CGMRecord.censored``); they count in the ranges. Readings stamped with the same time
are merged into one (identical repeats kept once, differing values averaged), with a note, so that every metric sees
one reading per timestamp. Other text is refused.

Clocks: timestamps that carry a UTC offset or ``Z`` are converted to the patient's local time: the chosen
``timezone`` (an IANA name such as ``Europe/Paris``) or, by default, the file's own offset at the first reading.
One fixed offset is kept for the whole record, so a daylight-saving change inside the file neither duplicates nor
drops an hour of the 5-minute grid (a note says how far readings after the change are from the wall clock). A file
that mixes timestamps with and without an offset is refused.

Limits (untrusted uploads): lines longer than :data:`MAX_LINE_CHARS`, headers wider than :data:`MAX_COLUMNS`,
more than :data:`MAX_READINGS` rows, a series spanning more than :data:`MAX_SPAN_DAYS` days and gzip files that
expand past :data:`medai_core.untrusted.MAX_DECOMPRESSED_BYTES` are refused before anything large is parsed.

:func:`read_cgm` is a pure function of (bytes, name, options) returning a picklable record, so it can run in an
isolated worker process.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from medai_core import untrusted
from medai_core.errors import CGMInputError
from medai_core.glucose.prepare import MAX_FILL_GAP_MINUTES, Grid, make_grid, merge_duplicates
from medai_core.units import LIMIT_WORDS, MG_DL, MMOL_L, SENSOR_FAMILIES, sensor_family, to_mg_dl

__all__ = [
    "MAX_COLUMNS",
    "MAX_LINE_CHARS",
    "MAX_READINGS",
    "MAX_SPAN_DAYS",
    "MISSING_WORDS",
    "CGMRecord",
    "grids_by_patient",
    "read_cgm",
    "read_research_table",
]

PLAUSIBLE_MG_DL = (20.0, 600.0)
"""Readings outside this range are physiologically impossible for a CGM and refused."""
MAX_LINE_CHARS = 65_536
"""Longest line read (64 KiB); a CGM export's lines are a few hundred characters."""
MAX_COLUMNS = 1_000
"""Widest header read; vendor exports have about 20 columns."""
MAX_READINGS = 2_000_000
"""Most rows read from one file (two years of 5-minute readings are about 210,000)."""
MAX_SPAN_DAYS = 731
"""Longest time from the first to the last reading of one patient (two years); the grid is sized by it."""

MISSING_WORDS = frozenset(
    {"", "nan", "-nan", "na", "n/a", "null", "none", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
)
"""Glucose cells (lower-case, stripped) that hold no reading: the row is skipped with a note, in every layout."""

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


# --------------------------------------------------------------------------------------------------- decoding


_ACCEPTED = "Upload a Dexcom Clarity or LibreView CSV export, or a CSV with columns timestamp, glucose."
_NOT_CSV = {
    "pdf": "a PDF document",
    "zip": "a zip archive or Excel workbook",
    "ole": "an old Excel/Office file",
    "png": "a PNG image",
    "jpeg": "a JPEG image",
}


def _decode(data: bytes, name: str) -> str:
    """The text of a CGM upload (gzip unpacked, every member), through :mod:`medai_core.untrusted`."""
    if not data or not data.strip():
        raise CGMInputError(f"{name} is empty. {_ACCEPTED}")
    if untrusted.sniff(data) == "gzip":
        data = untrusted.gunzip(data, name=name, error=CGMInputError)
    kind = untrusted.sniff(data)
    if kind in _NOT_CSV:
        raise CGMInputError(
            f"{name} is {_NOT_CSV[kind]}, not a CSV file. Export CSV from Dexcom Clarity or LibreView and upload that."
        )
    untrusted.refuse_binary(data, name=name, error=CGMInputError, accepted="Upload a CSV export.")
    text = untrusted.decode_text(data)
    if not text.strip():
        raise CGMInputError(f"{name} is empty. Upload a CSV export with glucose readings.")
    return text


def _lines(text: str, name: str) -> list[str]:
    """The file's lines, after refusing shapes no CGM export has (checked before pandas sees the text)."""
    lines = text.splitlines()
    if len(lines) > MAX_READINGS + 100:
        raise CGMInputError(
            f"{name} has {len(lines):,} lines; at most {MAX_READINGS:,} readings are read from one file. "
            "Export a shorter period."
        )
    untrusted.check_lines(
        lines,
        name=name,
        error=CGMInputError,
        max_line_chars=MAX_LINE_CHARS,
        max_columns=MAX_COLUMNS,
        advice=f"It is not a CGM export. {_ACCEPTED}",
    )
    return lines


def _read_table(lines: list[str], name: str, skip: int = 0) -> pd.DataFrame:
    lines = lines[skip:]
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
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError) as exc:
        first = (str(exc).splitlines() or [type(exc).__name__])[0][:200]
        raise CGMInputError(
            f"{name} is not a readable CSV table ({first}). Upload a Dexcom Clarity or "
            "LibreView CSV export, or a CSV with columns timestamp, glucose."
        ) from None
    columns = [str(c).strip() for c in frame.columns]
    twice = sorted({c for c in columns if columns.count(c) > 1})
    if twice:
        raise CGMInputError(
            f"{name}: the header names the column(s) {twice[:4]} more than once, so which one holds the readings is "
            "not known. Rename or remove the extra column."
        )
    frame.columns = columns
    return frame


def _missing(values: pd.Series) -> NDArray[np.bool_]:
    """bool (n,): cells that hold no reading (:data:`MISSING_WORDS`, or a number that is not finite)."""
    text = values.fillna("").astype(str).str.strip().str.lower()
    number = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").to_numpy(dtype=np.float64)
    return np.asarray(text.isin(MISSING_WORDS).to_numpy() | np.isinf(number))


def _numbers(values: pd.Series, name: str, column: str) -> NDArray[np.float64]:
    """Parse glucose strings (decimal comma accepted): sensor-limit words (:data:`~medai_core.units.LIMIT_WORDS`)
    become -inf / +inf (set to the sensor's floor / ceiling by :func:`_finish`), cells without a reading
    (:func:`_missing`) NaN; refuse any other text."""
    text = values.fillna("").astype(str).str.strip()
    lower = text.str.lower()
    limit = lower.map(LIMIT_WORDS).to_numpy(dtype=np.float64)
    missing = _missing(values)
    parsed = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(parsed) & ~missing & np.isnan(limit)
    if bad.any():
        examples = text[bad].head(3).tolist()
        raise CGMInputError(
            f"{name}: {int(bad.sum())} value(s) in column {column!r} are not numbers, e.g. {examples}. "
            "Glucose must be numeric (mg/dL or mmol/L), or Low/High/LO/HI for a reading beyond the sensor's range; "
            "correct those rows."
        )
    out = np.where(missing, np.nan, parsed)
    return np.where(np.isnan(limit), out, limit * np.inf)


_NUMERIC_DATE = re.compile(
    r"^\s*(\d{1,2})[-./](\d{1,2})[-./](\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?\s*$"
)
"""``DD?MM?YYYY hh:mm`` or ``MM?DD?YYYY hh:mm`` (LibreView, many spreadsheets): the order is told from the data."""
_SHORT_YEAR = re.compile(r"^\d{1,2}[-./]\d{1,2}[-./]\d{2}(?:[\sT]|$)")
"""A numeric date with a two-digit year (``01/03/24``): day, month and year order cannot be told apart."""
_TIME_OF_DAY_ONLY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[AaPp]\.?[Mm]\.?)?$")
"""A time of day without a date (``07:05``, ``7:05:00 PM``): pandas would put it on today's date."""
_DATE_ONLY = re.compile(r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$")
"""A date without a time of day (``2024-03-01``, ``01.03.2024``): every reading of a day would fall on midnight."""
_DATE_COLUMN_NAMES = ("date", "day", "datum", "fecha")
"""Names of a separate date column, combined with a time-of-day column (CareLink ``Date``/``Time``, xDrip ``DAY``)."""

_OFFSET = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)


def _offset_minutes(text: str) -> int:
    """``"Z"`` -> 0, ``"+05:30"``/``"+0530"``/``"+05"`` -> 330, ``"-04:00"`` -> -240."""
    if text.upper() == "Z":
        return 0
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + (int(digits[2:4]) if len(digits) > 2 else 0)
    return -minutes if text[0] == "-" else minutes


def _offset_text(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    return f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _zone(timezone: str | None, name: str) -> ZoneInfo | None:
    if timezone is None or not str(timezone).strip():
        return None
    try:
        return ZoneInfo(str(timezone).strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CGMInputError(
            f"Unknown time zone {timezone!r}. Give an IANA time zone name such as Europe/Paris, America/New_York "
            "or UTC."
        ) from None


def _to_datetime(text: pd.Series, *, utc: bool) -> pd.Series:
    """Parse timestamps (ISO first, then any common layout); unparseable ones become NaT, nothing raises.

    With ``utc=False`` the result is always naive: a time zone that pandas finds but :data:`_OFFSET` does not
    (e.g. a trailing ``UTC`` word) makes the whole column unparsed rather than silently shifted.
    """
    try:
        parsed = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=utc)
        if parsed.isna().any():
            parsed = pd.to_datetime(text, errors="coerce", format="mixed", utc=utc)
    except (ValueError, OverflowError, TypeError, AttributeError):
        parsed = None
    if parsed is None or (not utc and isinstance(parsed.dtype, pd.DatetimeTZDtype)):
        parsed = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]" if utc else "datetime64[ns]")
    return parsed


def _parse_times(
    values: pd.Series, name: str, column: str, timezone: str | None = None
) -> tuple[NDArray[np.datetime64], list[str]]:
    """Reading times in the patient's local time, and the notes on how the clock was read.

    Raises:
        CGMInputError: unparseable timestamps, offsets mixed with naive timestamps, or an unknown time zone.
    """
    text = values.astype(str).str.strip()
    short = text[text.str.len() <= 14]  # a date or a time of day alone is at most 14 characters
    for pattern, what, fix in (
        (_TIME_OF_DAY_ONLY, "times of day without a date", "add the date (a date column beside it is combined)"),
        (_DATE_ONLY, "dates without a time of day", "export the reading times, not only the dates"),
    ):
        hit = short.str.fullmatch(pattern).fillna(False).astype(bool)
        if hit.any():
            raise CGMInputError(
                f"{name}: column {column!r} holds {what} (e.g. {short[hit].iloc[0]!r}), so readings of different "
                f"days cannot be told apart. Give one timestamp per reading: {fix}."
            )
    zone = _zone(timezone, name)
    # only strings with a Z, a plus or a minus after the date can carry an offset: test the costly regex on those
    candidate = (
        (
            text.str.contains("Z", regex=False)
            | text.str.contains("z", regex=False)
            | text.str.contains("+", regex=False)
            | text.str[10:].str.contains("-", regex=False)
        )
        .fillna(False)
        .astype(bool)
    )
    offsets = pd.Series(np.nan, index=text.index, dtype=object)
    if candidate.any():
        offsets[candidate] = text[candidate].str.extract(_OFFSET)[0]
    aware = offsets.notna()
    notes: list[str] = []
    if aware.any() and not aware.all():
        raise CGMInputError(
            f"{name}: column {column!r} mixes timestamps with a UTC offset (e.g. {text[aware].iloc[0]!r}) and "
            f"without one (e.g. {text[~aware].iloc[0]!r}), so the readings cannot be put on one clock. Export all "
            "timestamps the same way (all local time, or all with an offset)."
        )
    # Year-first (ISO) stamps are unambiguous; only the others are checked for a day/month order or a short year.
    other = pd.Series(False, index=text.index)
    if not aware.any():
        other = ~text.str[:4].str.isdigit().fillna(False).astype(bool)
    if other.any():
        two_digit = text[other].str.match(_SHORT_YEAR).fillna(False).astype(bool)
        if two_digit.any():
            raise CGMInputError(
                f"{name}: column {column!r} writes dates with a two-digit year (e.g. "
                f"{text[other][two_digit].iloc[0]!r}), so day, month and year cannot be told apart. Export "
                "four-digit years or ISO timestamps (YYYY-MM-DD HH:MM)."
            )
        parts = text.str.extract(_NUMERIC_DATE)
        matched = parts[0].notna()
        if matched.all():
            times, how = _day_month_times(text, parts, name, column)
            notes.append(how)
            if zone is not None:
                notes.append(
                    "Timestamps carry no UTC offset: they are read as the patient's local time and the chosen time "
                    "zone is not applied."
                )
            return times, notes
        if matched.any():
            raise CGMInputError(
                f"{name}: column {column!r} mixes date layouts (e.g. {text[matched].iloc[0]!r} and "
                f"{text[~matched].iloc[0]!r}), so the day/month order cannot be read the same way for every "
                "reading. Export all timestamps in one layout."
            )
    parsed = _to_datetime(text, utc=bool(aware.any()))
    if parsed.isna().any():
        examples = text[parsed.isna()].head(3).tolist()
        raise CGMInputError(
            f"{name}: {int(parsed.isna().sum())} timestamp(s) in column {column!r} do not parse, e.g. {examples}. "
            "Use ISO timestamps like 2025-11-21T00:17:19 (with an offset such as +01:00 or Z where there is one) "
            "or the export's own date format."
        )
    if not aware.any():
        if zone is not None:
            notes.append(
                "Timestamps carry no UTC offset: they are read as the patient's local time and the chosen time zone "
                "is not applied."
            )
        return parsed.to_numpy(dtype="datetime64[ns]"), notes
    stated = [_offset_minutes(str(o)) for o in offsets.tolist()]
    distinct = sorted(set(stated))
    utc = parsed.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
    if zone is not None:
        first = int(np.argmin(utc))
        offset = pd.Timestamp(utc[first]).tz_localize("UTC").tz_convert(zone).utcoffset()
        fixed = int(offset.total_seconds() // 60) if offset is not None else 0
        how = f"the chosen time zone {zone.key} ({_offset_text(fixed)} at the first reading)"
    else:
        fixed = stated[int(np.argmin(utc))]
        how = f"the file's own offset at the first reading ({_offset_text(fixed)})"
    notes.append(
        f"Timestamps carry a UTC offset ({', '.join(_offset_text(m) for m in distinct)}); they are converted to "
        f"the patient's local time at {how}."
    )
    if len(distinct) > 1:
        notes.append(
            "The offsets change inside the file (a daylight-saving change or travel): one fixed offset is kept for "
            "the whole record, so no hour is duplicated or missing; readings stated at another offset are shown "
            f"up to {max(abs(m - fixed) for m in distinct)} minutes off their own wall clock."
        )
    if zone is None and distinct == [0]:
        notes.append(
            "Timestamps are in UTC: choose the patient's time zone (page choice or --timezone) so that the "
            "time of day (percentile day, forecast inputs) is the patient's own."
        )
    local = utc + np.timedelta64(fixed, "m").astype("timedelta64[ns]")
    return local, notes


def _unit_from_values(values: NDArray[np.float64]) -> tuple[str, float]:
    """The unit the readings imply where nothing names it (a median below 25 can only be mmol/L), and the median."""
    finite = values[np.isfinite(values)]
    median = float(np.median(finite)) if finite.size else 0.0
    return (MMOL_L if median < 25 else MG_DL), median


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
    missing: int = 0,
) -> CGMRecord:
    """The record: rows without a reading counted, sensor limits applied, readings sorted, one per timestamp.

    Args:
        values: readings in ``unit``; -inf / +inf where the file wrote Low / High (see :func:`_numbers`), NaN
            where it holds no reading.
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
    for mask, word, alias, limit, side in ((low, "Low", "LO", floor, "below"), (high, "High", "HI", ceiling, "above")):
        if mask.any():
            notes.append(
                f"{int(mask.sum())} reading(s) '{word}' set to {limit:g} {unit} ('{word}' or '{alias}': the limit of "
                f"{which}, {family.source}); the true values lie {side} it. They count in the ranges and are marked "
                "as censored (the mean and SD treat them as the limit)."
            )
    mg_dl = to_mg_dl(values, unit)
    _check_plausible(mg_dl, name)
    _check_span(times, name)
    order = np.argsort(times, kind="stable")
    times, mg_dl, values, censored = times[order], mg_dl[order], values[order], censored[order]
    times, (mg_dl, values, flags), identical, averaged = merge_duplicates(
        times, mg_dl, values, censored.astype(np.float64)
    )
    censored = np.where(np.abs(flags) == 1, flags, 0).astype(np.int8)
    if identical or averaged:
        notes.append(
            f"{identical + averaged} duplicate row(s) at a timestamp already read merged, so every metric counts one "
            f"reading per timestamp: {identical} repeated the same value (kept once), {averaged} differed and were "
            "averaged."
        )
    diffs = np.diff(times.astype("datetime64[s]").astype(np.int64)) / 60.0
    positive = diffs[diffs > 0]
    sampling = float(np.median(positive)) if positive.size else 5.0
    notes.extend(_cadence_notes(sampling))
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


def _cadence_notes(sampling_minutes: float) -> list[str]:
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


def _check_span(times: NDArray[np.datetime64], name: str) -> None:
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


def _read_dexcom(lines: list[str], name: str, timezone: str | None) -> CGMRecord:
    frame = _read_table(lines, name)
    glucose_cols = [c for c in frame.columns if c.startswith("Glucose Value")]
    time_cols = [c for c in frame.columns if c.startswith("Timestamp")]
    if not glucose_cols or not time_cols or "Event Type" not in frame.columns:
        raise CGMInputError(
            f"{name}: a Dexcom Clarity header needs the columns 'Event Type', 'Timestamp (...)' and "
            f"'Glucose Value (...)'. Found: {list(frame.columns)[:12]}. Export CSV from Dexcom Clarity again, "
            "unedited."
        )
    gcol, tcol = glucose_cols[0], time_cols[0]
    stated_unit = _unit_from_header(gcol)
    device = ""
    devices: Any = (
        frame.loc[frame["Event Type"].astype(str).str.strip() == "Device", "Device Info"].dropna()
        if "Device Info" in frame
        else []
    )
    if len(devices):
        device = str(devices.iloc[0]).strip()
    egv = frame[frame["Event Type"].astype(str).str.strip().str.upper() == "EGV"]
    if egv.empty or _missing(egv[gcol]).all():
        raise CGMInputError(
            f"{name}: a Dexcom Clarity export with no EGV (glucose) readings. Export a period with sensor data."
        )
    absent = _missing(egv[gcol])
    egv = egv[~absent]
    values = _numbers(egv[gcol], name, gcol)
    if stated_unit is not None:
        unit, unit_note = stated_unit, f"Dexcom Clarity export, glucose in {stated_unit}."
    else:  # Clarity always names it; an edited header may not
        unit, median = _unit_from_values(values)
        unit_note = (
            f"Dexcom Clarity export; the glucose header names no unit, the values (median {median:.1f}) are read "
            f"as {unit}."
        )
    _check_unit(values, unit, name, "column header")
    times, clock_notes = _parse_times(egv[tcol], name, tcol, timezone)
    notes = [unit_note, *clock_notes]
    if "Source Device ID" in egv.columns:
        keep, note = _one_device(egv["Source Device ID"], times, 2.5, "Glucose rows", "display devices")
        if note is not None:
            # a receiver and a phone can both upload the same sensor's readings (else each appears twice)
            notes.append(note)
            times, values = times[keep], values[keep]
    return _finish(
        name, "dexcom_clarity", unit, times, values, device=device or "Dexcom", notes=notes, missing=int(absent.sum())
    )


# --------------------------------------------------------------------------------------------------- LibreView


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
    parts = text.str.extract(_NUMERIC_DATE)
    if parts[0].isna().any():
        iso = _to_datetime(text, utc=False)
        if not iso.isna().any():
            return iso.to_numpy(dtype="datetime64[ns]"), "Timestamps in ISO format (year-month-day)."
        bad = text[parts[0].isna() & iso.isna()].head(3).tolist()
        raise CGMInputError(
            f"{name}: {int((parts[0].isna() & iso.isna()).sum())} timestamp(s) in column {column!r} do not parse, "
            f"e.g. {bad}. "
            "LibreView timestamps look like 01-02-2026 11:40 PM (US) or 02-01-2026 23:40."
        )
    return _day_month_times(text, parts, name, column)


def _day_month_times(
    text: pd.Series, parts: pd.DataFrame, name: str, column: str
) -> tuple[NDArray[np.datetime64], str]:
    """Parse ``DD?MM?YYYY hh:mm`` or ``MM?DD?YYYY hh:mm`` stamps, telling the order from the data (never guessed).

    Args:
        text: the stripped timestamp strings.
        parts: their :data:`_NUMERIC_DATE` groups (first field, second field, year, hour, minute, second, AM/PM).

    Raises:
        CGMInputError: both orders impossible, or both plausible.
    """
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


_LIBRE_POSITIONS = ("device", "serial number", "device timestamp", "record type", "historic glucose", "scan glucose")
"""LibreView's first six columns, the same in every language of the export (only their names are translated)."""


_LIBRE_RECORD_TYPES = frozenset("01234567")
"""LibreView record types: 0 historic, 1 scan, 2 strip, 3 ketone, 4 insulin, 5 food, 6 time change/notes, 7 other."""


def _libre_header(head: list[str], following: list[str]) -> tuple[int, bool] | None:
    """``(header line index, by position)`` of a LibreView export, or None.

    English headers are found by name (``Record Type`` with ``Device Timestamp``, or ``Time`` and ``Historic Glucose``
    in the older desktop export). A translated export is recognised by its structure: a header whose 5th and 6th
    names carry a glucose unit, followed by rows whose device is a FreeStyle Libre and whose 4th field is a record
    type 0-7; its columns are then read by position.
    """
    for index, line in enumerate(head):
        if "Record Type" in line and ("Timestamp" in line or "Historic Glucose" in line):
            return index, False
    for index, line in enumerate(head):
        delimiter = "\t" if line.count("\t") > line.count(",") else ","
        fields = next(csv.reader([line], delimiter=delimiter), [])
        if len(fields) < 6 or _unit_from_header(fields[4]) is None or _unit_from_header(fields[5]) is None:
            continue
        rows = [r for r in csv.reader((head + following)[index + 1 : index + 6], delimiter=delimiter) if r]
        if rows and all(
            len(r) >= 6 and r[0].strip().lower().startswith("freestyle") and r[3].strip() in _LIBRE_RECORD_TYPES
            for r in rows
        ):
            return index, True
    return None


def _fills_gaps(
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


def _one_device(
    device_ids: pd.Series, times: NDArray[np.datetime64], tolerance_min: float, what: str, kind: str
) -> tuple[NDArray[np.bool_], str | None]:
    """Readings to keep when several devices wrote the same record: all of the device with the most readings, and
    the others' only where it has a gap (:func:`_fills_gaps`); with the note, or (all True, None) for one device.

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
    fill = _fills_gaps(times[main], times[~main], tolerance_min=tolerance_min)
    keep = main.copy()
    keep[np.flatnonzero(~main)[fill]] = True
    return keep, (
        f"{what} come from {len(distinct)} {kind}: the one with the most readings ({int(counts.max())}) is used, "
        f"and the others only where it has a gap ({int(fill.sum())} of {int((~main).sum())} of their readings "
        "used; the rest overlap it and are ignored)."
    )


def _read_libre(lines: list[str], name: str, header_index: int, *, by_position: bool = False) -> CGMRecord:
    frame = _read_table(lines, name, skip=header_index)
    position_note: list[str] = []
    if by_position:
        translated = list(frame.columns[: len(_LIBRE_POSITIONS)])
        unit_label = _unit_from_header(str(translated[4])) or ""
        renamed = {
            old: f"{new} {unit_label}".strip() if i >= 4 else new
            for i, (old, new) in enumerate(zip(translated, _LIBRE_POSITIONS, strict=True))
        }
        frame = frame.rename(columns=renamed)
        position_note = [
            "LibreView export with translated column names: timestamp, record type, historic and scan glucose read "
            "from the 3rd to 6th columns, where every LibreView export keeps them."
        ]
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
    unit_from_header = _unit_from_header(hist)
    rtype = frame[rcol].astype(str).str.strip()
    historic = frame[rtype == "0"]
    scans = frame[rtype == "1"] if scan is not None else frame.iloc[0:0]
    absent = _missing(historic[hist]).sum() + (_missing(scans[scan]).sum() if scan is not None else 0)
    historic = historic[~_missing(historic[hist])]
    scans = scans[~_missing(scans[scan])] if scan is not None else scans
    if historic.empty and scans.empty:
        raise CGMInputError(
            f"{name}: a LibreView export with no glucose records (record types 0 or 1). "
            "Export a period with sensor data."
        )
    used = pd.concat([historic, scans])
    times, date_note = _libre_times(used[tcol], name, tcol)
    hist_values = _numbers(historic[hist], name, hist)
    scan_values = _numbers(scans[scan], name, scan) if scan is not None and not scans.empty else np.zeros(0)
    both = np.concatenate([hist_values, scan_values])
    if unit_from_header is not None:
        unit = unit_from_header
        _check_unit(both, unit, name, "column header")
        unit_note = f"LibreView export, glucose in {unit}."
    else:
        unit, median = _unit_from_values(both)
        unit_note = (
            f"LibreView export; the glucose header names no unit, the values (median {median:.1f}) are read as {unit}."
        )
    n_hist = len(historic)
    hist_times, scan_times = times[:n_hist], times[n_hist:]
    notes = [unit_note, *position_note, date_note]
    serial = cols.get("serial number")
    if serial is not None and n_hist:
        keep, note = _one_device(historic[serial], hist_times, 7.5, "Historic readings", "devices")
        if note is not None:
            # two readers/phones (or sensors) writing history for the same hours would interleave into a zig-zag
            notes.append(note)
            hist_times, hist_values = hist_times[keep], hist_values[keep]
            n_hist = int(keep.sum())
    if scan_values.size:
        if n_hist:
            fill = _fills_gaps(hist_times, scan_times)
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
        device=device or "FreeStyle Libre",
        notes=notes,
        missing=int(absent),
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


def _times_of_day(column: pd.Series) -> bool:
    """Whether every non-blank value of ``column`` is a time of day without a date."""
    text = column.dropna().astype(str).str.strip()
    text = text[text != ""]
    return bool(len(text)) and bool(text.str.fullmatch(_TIME_OF_DAY_ONLY).all())


@dataclass(frozen=True)
class _GenericColumns:
    """Where a generic table keeps its glucose, time and (optional) patient id."""

    frame: pd.DataFrame
    glucose: str
    stamps: pd.Series
    time_name: str
    id_column: str | None
    ids: pd.Series | None
    notes: tuple[str, ...]
    unit_column: str | None = None


def _generic_columns(lines: list[str], name: str) -> _GenericColumns:
    frame = _read_table(lines, name)
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
    dcol = next((c for c in columns if c.strip().lower() in _DATE_COLUMN_NAMES), None)
    if tcol is not None and dcol is not None and dcol != tcol and _times_of_day(frame[tcol]):
        stamps, tcol = (
            frame[dcol].astype(str).str.strip() + " " + frame[tcol].astype(str).str.strip(),
            f"{dcol} + {tcol}",
        )
    elif tcol is not None:
        stamps = frame[tcol]
    elif dcol is not None and any(c.strip().lower() in ("time", "hour") for c in columns):
        hcol = next(c for c in columns if c.strip().lower() in ("time", "hour"))
        stamps, tcol = (
            frame[dcol].astype(str).str.strip() + " " + frame[hcol].astype(str).str.strip(),
            f"{dcol} + {hcol}",
        )
    else:
        raise CGMInputError(
            f"{name}: no timestamp column. Found: {columns[:12]}. Expected a column named time, timestamp or "
            "datetime (or separate date and time columns)."
        )
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
    return _GenericColumns(frame, gcol, stamps, tcol, idcol, ids, notes, ucol)


def _generic_values(
    cols: _GenericColumns, rows: pd.Series | None, name: str, timezone: str | None
) -> tuple[NDArray[np.datetime64], NDArray[np.float64], str, list[str], NDArray[np.bool_]]:
    """Times (local), values (in the file's unit), the unit, notes, and the kept-row mask of ``rows``."""
    raw = cols.frame[cols.glucose] if rows is None else cols.frame.loc[rows, cols.glucose]
    stamps = cols.stamps if rows is None else cols.stamps[rows]
    blank = _missing(raw)
    values = _numbers(raw[~blank], name, cols.glucose)
    if values.size == 0:
        raise CGMInputError(f"{name}: column {cols.glucose!r} holds no glucose values. Upload a file with readings.")
    times, notes = _parse_times(stamps[~blank], name, cols.time_name, timezone)
    unit = _unit_from_header(cols.glucose)
    if unit is not None:
        _check_unit(values, unit, name, f"column name {cols.glucose!r}")
        notes.insert(0, f"Glucose in {unit} (from the column name {cols.glucose!r}).")
    elif cols.unit_column is not None:
        labels = cols.frame[cols.unit_column] if rows is None else cols.frame.loc[rows, cols.unit_column]
        stated = sorted({str(v).strip() for v in labels[~blank].fillna("").tolist()})
        units = {_unit_from_header(v) for v in stated}
        if None in units or len(units) != 1:
            raise CGMInputError(
                f"{name}: the unit column {cols.unit_column!r} holds {stated[:4]}; expected one unit for every "
                "reading, mg/dL or mmol/L. Export the readings in one unit."
            )
        unit = str(units.pop())
        _check_unit(values, unit, name, f"unit column {cols.unit_column!r}")
        notes.insert(0, f"Glucose in {unit} (from the unit column {cols.unit_column!r}).")
    else:
        unit, median = _unit_from_values(values)
        notes.insert(
            0,
            f"The column {cols.glucose!r} names no unit; the values (median {median:.1f}) are read as {unit}.",
        )
    return times, values, unit, notes, ~blank


def _read_generic(lines: list[str], name: str, patient: str | None, timezone: str | None) -> CGMRecord:
    cols = _generic_columns(lines, name)
    patients: tuple[str, ...] = ()
    chosen: str | None = None
    rows: pd.Series | None = None
    notes: list[str] = []
    if cols.ids is not None:
        ids = cols.ids
        patients = tuple(sorted(ids.unique().tolist(), key=lambda s: (len(s), s)))
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
                    f"The file holds {len(patients)} patients; the first one (in id order) is shown, another can "
                    "be chosen."
                )
        rows = ids == chosen
    elif patient is not None:
        raise CGMInputError(f"{name} has no patient id column, so a patient cannot be chosen.")
    times, values, unit, value_notes, kept = _generic_values(cols, rows, name, timezone)
    notes = ["Generic CSV.", *value_notes, *cols.notes, *notes]
    device = ""
    dcol = _find_column(list(cols.frame.columns), _DEVICE_NAMES)
    if dcol is not None and dcol not in (cols.glucose, cols.id_column):
        named = cols.frame[dcol] if rows is None else cols.frame.loc[rows, dcol]
        named = named.dropna().astype(str).str.strip()
        device = str(named[named != ""].iloc[0]) if (named != "").any() else ""
    return _finish(
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


# --------------------------------------------------------------------------------------------------- entry points


def read_cgm(
    data: bytes, *, name: str = "The file", patient: str | None = None, timezone: str | None = None
) -> CGMRecord:
    """Read one CGM file (Dexcom Clarity, LibreView, generic CSV or ``id, time, gl`` table).

    A pure function of its arguments returning a picklable record (safe to run in a worker process).

    Args:
        data: the file's bytes (csv; gzip accepted).
        name: how messages refer to the file.
        patient: the patient id to use when the file holds several (generic tables only).
        timezone: IANA name of the patient's time zone, applied to timestamps that carry a UTC offset (None: the
            file's own offset).

    Returns:
        the readings in mg/dL (and as recorded) with their provenance, times in the patient's local time.

    Raises:
        CGMInputError: the file is empty, not CSV, too large or too wide, lacks a glucose or time column, holds
            non-numeric, unparseable or impossible values, values in the other unit than declared, ambiguous
            dates, timestamps that mix offsets and local times, or readings spanning more than two years.
    """
    text = _decode(data, name)
    lines = _lines(text, name)
    head = lines[:5]
    if head and _is_dexcom(head[0]):
        return _read_dexcom(lines, name, timezone)
    libre = _libre_header(head, lines[5:10])
    if libre is not None:
        return _read_libre(lines, name, libre[0], by_position=libre[1])
    return _read_generic(lines, name, patient, timezone)


def read_research_table(source: str | Path | bytes, *, timezone: str | None = None) -> pd.DataFrame:
    """Read a research table (``id, time, gl`` or any generic CSV with a patient id column; csv or csv.gz).

    The same reader as :func:`read_cgm`'s generic tables: same column names, clock and unit rules, same limits
    (the time span is checked per patient).

    Returns:
        DataFrame with columns ``id`` (str), ``time`` (datetime64[ns], local time) and ``gl`` (float64 mg/dL),
        rows with a missing glucose value dropped; ``frame.attrs["notes"]`` says how the file was read.

    Raises:
        CGMInputError: the file cannot be read, lacks a column, or holds unparseable times or values.
    """
    if isinstance(source, bytes):
        name, data = "The file", source
    else:
        path = Path(source)
        name = path.name
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CGMInputError(f"{name}: no such file. Give the path of a CSV with columns id, time, gl.") from None
        except OSError as exc:
            raise CGMInputError(f"{name} cannot be read ({exc.strerror}).") from None
    lines = _lines(_decode(data, name), name)
    cols = _generic_columns(lines, name)
    if cols.ids is None:
        raise CGMInputError(
            f"{name}: no patient id column. Found: {list(cols.frame.columns)[:10]}. "
            "Expected a research table with columns id, time, gl (glucose in mg/dL)."
        )
    times, values, unit, notes, kept = _generic_values(cols, None, name, timezone)
    if (~kept).any():
        notes.append(
            f"{int((~kept).sum())} row(s) without a glucose value (an empty cell, nan or inf) skipped: a cell that "
            "holds no finite number is no reading, in every layout."
        )
    if np.isinf(values).any():
        family = sensor_family("")
        floor, ceiling = family.limits[unit]
        notes.append(
            f"{int(np.isinf(values).sum())} reading(s) Low/High/LO/HI set to {floor:g} / {ceiling:g} {unit}, the "
            f"limits of {family.name} ({family.source})."
        )
        values = np.where(values == -np.inf, floor, np.where(values == np.inf, ceiling, values))
    frame = pd.DataFrame(
        {
            "id": cols.ids.to_numpy()[kept],
            "time": times,
            "gl": to_mg_dl(values, unit),
        }
    )
    keep = np.isfinite(frame["gl"].to_numpy())
    frame = frame[keep].reset_index(drop=True)
    if frame.empty:
        raise CGMInputError(f"{name}: no glucose readings.")
    _check_plausible(frame["gl"].to_numpy(), name)
    spans = frame.groupby("id", sort=False)["time"].agg(lambda t: (t.max() - t.min()) / pd.Timedelta(days=1))
    if (spans > MAX_SPAN_DAYS).any():
        raise CGMInputError(
            f"{name}: {int((spans > MAX_SPAN_DAYS).sum())} patient(s) have readings spanning more than "
            f"{MAX_SPAN_DAYS} days from first to last. Check the timestamps."
        )
    frame.attrs["notes"] = (*notes, *cols.notes)
    return frame


def grids_by_patient(frame: pd.DataFrame) -> dict[str, Grid]:
    """One 5-minute grid per patient of an ``id, time, gl`` table (see :func:`read_research_table`)."""
    return {
        str(pid): make_grid(group["time"].to_numpy(), group["gl"].to_numpy())
        for pid, group in frame.groupby("id", sort=True)
    }
