"""LibreView CSV in another language (German, French, Spanish, ...).

The export keeps the same first six columns under translated names (device, serial number, device timestamp,
record type, historic glucose, scan glucose). It is recognised by that structure: a header whose 5th and 6th names
carry a glucose unit, followed by rows whose device is a FreeStyle Libre and whose 4th field is a record type 0-7.
Its columns are then named by position and read as the English export
(:func:`medai_core.glucose.readers.libreview.read_frame`), with a note.
"""

from __future__ import annotations

import csv

from medai_core.glucose.readers.layout import CGMOptions, Layout
from medai_core.glucose.readers.libreview import read_frame
from medai_core.glucose.readers.record import CGMRecord
from medai_core.glucose.readers.text import read_table
from medai_core.glucose.readers.units import unit_from_header

POSITIONS = ("device", "serial number", "device timestamp", "record type", "historic glucose", "scan glucose")
"""LibreView's first six columns, the same in every language of the export (only their names are translated)."""

RECORD_TYPES = frozenset("01234567")
"""LibreView record types: 0 historic, 1 scan, 2 strip, 3 ketone, 4 insulin, 5 food, 6 time change/notes, 7 other."""


def recognise(lines: list[str]) -> int | None:
    """The header's index among the first five lines, told by its structure (see the module's description) from
    the five lines that follow it, else None."""
    for index, line in enumerate(lines[:5]):
        delimiter = "\t" if line.count("\t") > line.count(",") else ","
        fields = next(csv.reader([line], delimiter=delimiter), [])
        if len(fields) < 6 or unit_from_header(fields[4]) is None or unit_from_header(fields[5]) is None:
            continue
        rows = [r for r in csv.reader(lines[index + 1 : index + 6], delimiter=delimiter) if r]
        if rows and all(
            len(r) >= 6 and r[0].strip().lower().startswith("freestyle") and r[3].strip() in RECORD_TYPES for r in rows
        ):
            return index
    return None


def read(lines: list[str], header: int, name: str, options: CGMOptions) -> CGMRecord:
    """The glucose records of a translated LibreView export whose header is line ``header`` (no option applies)."""
    frame = read_table(lines, name, skip=header)
    translated = list(frame.columns[: len(POSITIONS)])
    unit_label = unit_from_header(str(translated[4])) or ""
    renamed = {
        old: f"{new} {unit_label}".strip() if i >= 4 else new
        for i, (old, new) in enumerate(zip(translated, POSITIONS, strict=True))
    }
    note = (
        "LibreView export with translated column names: timestamp, record type, historic and scan glucose read "
        "from the 3rd to 6th columns, where every LibreView export keeps them."
    )
    return read_frame(frame.rename(columns=renamed), name, layout_notes=[note])


LAYOUT = Layout("libreview_translated", recognise, read)
"""LibreView in another language, recognised by its structure once no layout has recognised it by name."""
