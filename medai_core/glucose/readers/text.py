"""From an upload's bytes to its lines and to a table of strings, through :mod:`medai_core.untrusted`.

Limits (untrusted uploads): lines longer than :data:`MAX_LINE_CHARS`, headers wider than :data:`MAX_COLUMNS` and
more than :data:`MAX_READINGS` rows are refused before pandas sees the text; gzip (every member) is unpacked up to
:data:`medai_core.untrusted.MAX_DECOMPRESSED_BYTES`.
"""

from __future__ import annotations

import csv
import io

import pandas as pd

from medai_core import untrusted
from medai_core.errors import CGMInputError

MAX_LINE_CHARS = 65_536
"""Longest line read (64 KiB); a CGM export's lines are a few hundred characters."""
MAX_COLUMNS = 1_000
"""Widest header read; vendor exports have about 20 columns."""
MAX_READINGS = 2_000_000
"""Most rows read from one file (two years of 5-minute readings are about 210,000)."""

ACCEPTED = "Upload a Dexcom Clarity or LibreView CSV export, or a CSV with columns timestamp, glucose."
"""What every refusal of the file as a whole says is accepted."""
_NOT_CSV = {
    "pdf": "a PDF document",
    "zip": "a zip archive or Excel workbook",
    "ole": "an old Excel/Office file",
    "png": "a PNG image",
    "jpeg": "a JPEG image",
}


def decode(data: bytes, name: str) -> str:
    """The text of a CGM upload (gzip unpacked, every member), through :mod:`medai_core.untrusted`."""
    if not data or not data.strip():
        raise CGMInputError(f"{name} is empty. {ACCEPTED}")
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


def lines(text: str, name: str) -> list[str]:
    """The file's lines, after refusing shapes no CGM export has (checked before pandas sees the text)."""
    found = text.splitlines()
    if len(found) > MAX_READINGS + 100:
        raise CGMInputError(
            f"{name} has {len(found):,} lines; at most {MAX_READINGS:,} readings are read from one file. "
            "Export a shorter period."
        )
    untrusted.check_lines(
        found,
        name=name,
        error=CGMInputError,
        max_line_chars=MAX_LINE_CHARS,
        max_columns=MAX_COLUMNS,
        advice=f"It is not a CGM export. {ACCEPTED}",
    )
    return found


def read_table(lines: list[str], name: str, skip: int = 0) -> pd.DataFrame:
    """The table whose header is line ``skip``: every cell a string (empty cells NaN), column names stripped, the
    delimiter (comma, semicolon or tab) sniffed from the first 20 lines.

    Raises:
        CGMInputError: the text is no readable table, or its header names a column twice.
    """
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
