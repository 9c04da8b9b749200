"""Reading times: timestamps parsed into the patient's local time, with a note on every decision.

- A time of day alone, a date alone, a two-digit year or a column that mixes date layouts is refused.
- Numeric dates that are not year-first (``10/03/2024 08:00``, LibreView's ``MM-DD-YYYY hh:mm AM`` or
  ``DD-MM-YYYY HH:MM``) have their day/month order told from the data (:func:`day_month_times`): a first field
  above 12 means day-first, a second field above 12 month-first; otherwise the order that gives a continuous series
  wins, and a file that still cannot be told apart is refused rather than guessed.
- Timestamps that carry a UTC offset or ``Z`` are converted to the patient's local time: the chosen ``timezone``
  (an IANA name such as ``Europe/Paris``) or, by default, the file's own offset at the first reading. One fixed
  offset is kept for the whole record, so a daylight-saving change inside the file neither duplicates nor drops an
  hour of the 5-minute grid (a note says how far readings after the change are from the wall clock). A file that
  mixes timestamps with and without an offset is refused.
"""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from medai_core.errors import CGMInputError

NUMERIC_DATE = re.compile(
    r"^\s*(\d{1,2})[-./](\d{1,2})[-./](\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp][Mm])?\s*$"
)
"""``DD?MM?YYYY hh:mm`` or ``MM?DD?YYYY hh:mm`` (LibreView, many spreadsheets): the order is told from the data."""
_SHORT_YEAR = re.compile(r"^\d{1,2}[-./]\d{1,2}[-./]\d{2}(?:[\sT]|$)")
"""A numeric date with a two-digit year (``01/03/24``): day, month and year order cannot be told apart."""
TIME_OF_DAY_ONLY = re.compile(r"^\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:\s*[AaPp]\.?[Mm]\.?)?$")
"""A time of day without a date (``07:05``, ``7:05:00 PM``): pandas would put it on today's date."""
_DATE_ONLY = re.compile(r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$")
"""A date without a time of day (``2024-03-01``, ``01.03.2024``): every reading of a day would fall on midnight."""

_OFFSET = re.compile(r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)$", re.IGNORECASE)

_ZONE_NOT_APPLIED = (
    "Timestamps carry no UTC offset: they are read as the patient's local time and the chosen time zone is not applied."
)


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


def _zone(timezone: str | None) -> ZoneInfo | None:
    """The patient's time zone (None: none chosen).

    Raises:
        CGMInputError: not an IANA time zone name.
    """
    if timezone is None or not str(timezone).strip():
        return None
    try:
        return ZoneInfo(str(timezone).strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CGMInputError(
            f"Unknown time zone {timezone!r}. Give an IANA time zone name such as Europe/Paris, America/New_York "
            "or UTC."
        ) from None


def to_datetime(text: pd.Series, *, utc: bool) -> pd.Series:
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


def parse_times(
    values: pd.Series, name: str, column: str, timezone: str | None = None
) -> tuple[NDArray[np.datetime64], list[str]]:
    """Reading times in the patient's local time, and the notes on how the clock was read.

    Raises:
        CGMInputError: unparseable timestamps, offsets mixed with naive timestamps, or an unknown time zone.
    """
    text = values.astype(str).str.strip()
    _refuse_partial_stamps(text, name, column)
    zone = _zone(timezone)
    offsets = _stated_offsets(text, name, column)
    if offsets.notna().any():
        return _offset_times(_parse_or_refuse(text, name, column, utc=True), offsets, zone)
    times, notes = _local_times(text, name, column)
    if zone is not None:
        notes.append(_ZONE_NOT_APPLIED)
    return times, notes


def _refuse_partial_stamps(text: pd.Series, name: str, column: str) -> None:
    """Refuse a column of times of day without a date, or of dates without a time of day."""
    short = text[text.str.len() <= 14]  # a date or a time of day alone is at most 14 characters
    for pattern, what, fix in (
        (TIME_OF_DAY_ONLY, "times of day without a date", "add the date (a date column beside it is combined)"),
        (_DATE_ONLY, "dates without a time of day", "export the reading times, not only the dates"),
    ):
        hit = short.str.fullmatch(pattern).fillna(False).astype(bool)
        if hit.any():
            raise CGMInputError(
                f"{name}: column {column!r} holds {what} (e.g. {short[hit].iloc[0]!r}), so readings of different "
                f"days cannot be told apart. Give one timestamp per reading: {fix}."
            )


def _stated_offsets(text: pd.Series, name: str, column: str) -> pd.Series:
    """The UTC offset each timestamp states (``"+01:00"``, ``"Z"``; NaN where none): all of them or none.

    Raises:
        CGMInputError: some timestamps state an offset and others do not.
    """
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
    if aware.any() and not aware.all():
        raise CGMInputError(
            f"{name}: column {column!r} mixes timestamps with a UTC offset (e.g. {text[aware].iloc[0]!r}) and "
            f"without one (e.g. {text[~aware].iloc[0]!r}), so the readings cannot be put on one clock. Export all "
            "timestamps the same way (all local time, or all with an offset)."
        )
    return offsets


def _local_times(text: pd.Series, name: str, column: str) -> tuple[NDArray[np.datetime64], list[str]]:
    """Timestamps without an offset, read as the patient's local time; numeric dates that are not year-first (ISO
    stamps are unambiguous) have their day/month order told from the data."""
    other = ~text.str[:4].str.isdigit().fillna(False).astype(bool)
    if other.any():
        two_digit = text[other].str.match(_SHORT_YEAR).fillna(False).astype(bool)
        if two_digit.any():
            raise CGMInputError(
                f"{name}: column {column!r} writes dates with a two-digit year (e.g. "
                f"{text[other][two_digit].iloc[0]!r}), so day, month and year cannot be told apart. Export "
                "four-digit years or ISO timestamps (YYYY-MM-DD HH:MM)."
            )
        parts = text.str.extract(NUMERIC_DATE)
        matched = parts[0].notna()
        if matched.all():
            times, how = day_month_times(text, parts, name, column)
            return times, [how]
        if matched.any():
            raise CGMInputError(
                f"{name}: column {column!r} mixes date layouts (e.g. {text[matched].iloc[0]!r} and "
                f"{text[~matched].iloc[0]!r}), so the day/month order cannot be read the same way for every "
                "reading. Export all timestamps in one layout."
            )
    parsed = _parse_or_refuse(text, name, column, utc=False)
    return parsed.to_numpy(dtype="datetime64[ns]"), []


def _parse_or_refuse(text: pd.Series, name: str, column: str, *, utc: bool) -> pd.Series:
    """:func:`to_datetime` of every timestamp.

    Raises:
        CGMInputError: a timestamp does not parse.
    """
    parsed = to_datetime(text, utc=utc)
    if parsed.isna().any():
        examples = text[parsed.isna()].head(3).tolist()
        raise CGMInputError(
            f"{name}: {int(parsed.isna().sum())} timestamp(s) in column {column!r} do not parse, e.g. {examples}. "
            "Use ISO timestamps like 2025-11-21T00:17:19 (with an offset such as +01:00 or Z where there is one) "
            "or the export's own date format."
        )
    return parsed


def _offset_times(
    parsed: pd.Series, offsets: pd.Series, zone: ZoneInfo | None
) -> tuple[NDArray[np.datetime64], list[str]]:
    """Timestamps that state their UTC offset, on one fixed offset: the chosen zone's, else the file's own, at the
    first reading; with the notes that say which and how far the other offsets are from it."""
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
    notes = [
        f"Timestamps carry a UTC offset ({', '.join(_offset_text(m) for m in distinct)}); they are converted to "
        f"the patient's local time at {how}."
    ]
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


def _continuity(times: NDArray[np.datetime64]) -> float:
    """Share of the series' time span covered by steps of at most 20 minutes: high for the right date order."""
    if times.size < 2:
        return 1.0
    t = np.sort(times.astype("datetime64[m]").astype(np.int64))
    steps = np.diff(t)
    span = float(t[-1] - t[0])
    return float(steps[steps <= 20].sum() / span) if span > 0 else 1.0


def day_month_times(text: pd.Series, parts: pd.DataFrame, name: str, column: str) -> tuple[NDArray[np.datetime64], str]:
    """Parse ``DD?MM?YYYY hh:mm`` or ``MM?DD?YYYY hh:mm`` stamps, telling the order from the data (never guessed).

    Args:
        text: the stripped timestamp strings.
        parts: their :data:`NUMERIC_DATE` groups (first field, second field, year, hour, minute, second, AM/PM).

    Returns:
        the times, and the sentence that says which order was read and why.

    Raises:
        CGMInputError: both orders impossible, or both plausible.
    """
    clock = "%I:%M %p" if parts[6].notna().any() else "%H:%M"
    if parts[5].notna().any():
        clock = clock.replace("%M", "%M:%S")
    normalised = text.str.replace(r"[./]", "-", regex=True)
    fmt, reason = _day_month_order(
        parts[0].astype(int), parts[1].astype(int), normalised, f"%m-%d-%Y {clock}", f"%d-%m-%Y {clock}", name, column
    )
    parsed = pd.to_datetime(normalised, format=fmt, errors="coerce")
    if parsed.isna().any():
        bad = text[parsed.isna()].head(3).tolist()
        raise CGMInputError(
            f"{name}: {int(parsed.isna().sum())} timestamp(s) in column {column!r} do not parse as {fmt}, e.g. {bad}."
        )
    return parsed.to_numpy(dtype="datetime64[ns]"), reason[0].upper() + reason[1:] + "."


def _day_month_order(
    first: pd.Series, second: pd.Series, normalised: pd.Series, month_first: str, day_first: str, name: str, column: str
) -> tuple[str, str]:
    """(format, reason) of the day/month order: the one a field above 12 allows, else the one that gives the more
    continuous series (:func:`_continuity`, by more than 20 points).

    Args:
        first, second: the dates' first and second fields; normalised: the stamps with ``-`` between date fields;
        month_first, day_first: the two formats.
    """
    if (first > 12).any() and (second > 12).any():
        raise CGMInputError(
            f"{name}: dates in column {column!r} have values above 12 in both the day and month positions; "
            "they are not dates."
        )
    if (first > 12).any():
        return day_first, "dates read as DD-MM-YYYY (a first field above 12 can only be a day)"
    if (second > 12).any():
        return month_first, "dates read as MM-DD-YYYY (a second field above 12 can only be a day)"
    if (first == second).all():
        return month_first, "day and month are equal on every row, so the date order does not matter"
    as_month = pd.to_datetime(normalised, format=month_first, errors="coerce")
    as_day = pd.to_datetime(normalised, format=day_first, errors="coerce")
    c_month = _continuity(as_month.dropna().to_numpy(dtype="datetime64[ns]")) if not as_month.isna().any() else -1.0
    c_day = _continuity(as_day.dropna().to_numpy(dtype="datetime64[ns]")) if not as_day.isna().any() else -1.0
    if c_month > c_day + 0.2:
        return month_first, (
            f"dates read as MM-DD-YYYY: that order gives a continuous series ({c_month:.0%} of its time span "
            f"covered by readings vs {c_day:.0%})"
        )
    if c_day > c_month + 0.2:
        return day_first, (
            f"dates read as DD-MM-YYYY: that order gives a continuous series ({c_day:.0%} of its time span "
            f"covered by readings vs {c_month:.0%})"
        )
    raise CGMInputError(
        f"{name}: cannot tell whether dates are MM-DD-YYYY (US) or DD-MM-YYYY: every day and month is 12 or "
        "less and both readings give a plausible series. Re-export with a longer period, or convert the "
        "timestamps to ISO (YYYY-MM-DD HH:MM) and upload as a generic CSV."
    )
