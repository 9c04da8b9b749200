"""Reading CGM files: Dexcom Clarity and LibreView exports, generic CSVs and ``id, time, gl`` research tables.

:func:`read_cgm` takes the bytes of one file and returns a :class:`CGMRecord` (readings in mg/dL with the facts
a clinician needs to trust them: source format, unit found, device, sampling interval, and notes on every
decision taken, e.g. how the date format was told apart). Every problem raises :class:`CGMInputError` with what
was wrong, what is accepted, and what to do.

The package, bottom up:

- :mod:`~medai_core.glucose.readers.text`: bytes -> text -> lines -> table, through :mod:`medai_core.untrusted`
  (gzip with every member, one text decoding with its fallback, line/width/row limits).
- :mod:`~medai_core.glucose.readers.units`: glucose cells -> numbers (``Low``/``High``, no-reading words) and their
  unit; :mod:`~medai_core.glucose.readers.times`: timestamps -> the patient's local time.
- :mod:`~medai_core.glucose.readers.record`: :class:`CGMRecord` and the steps every layout ends with (sensor
  limits, one reading per timestamp, cadence notes); :mod:`~medai_core.glucose.readers.devices`: one record from
  several devices.
- One module per vendor layout, each declaring a :class:`~medai_core.glucose.readers.layout.Layout` (how it is
  recognised from the first lines, how it is read), tried in the order of :data:`LAYOUTS`:
  :mod:`~medai_core.glucose.readers.dexcom` (Dexcom Clarity G6/G7),
  :mod:`~medai_core.glucose.readers.libreview` (LibreView in English and the desktop export),
  :mod:`~medai_core.glucose.readers.libreview_translated` (LibreView in other languages, by structure); a file no
  layout recognises is read by :mod:`~medai_core.glucose.readers.generic` (timestamp and glucose columns by name:
  CareLink, xDrip, Nightscout and research tables). :mod:`~medai_core.glucose.readers.research` reads the
  research tables of ``evaluate``/``train`` (every patient at once) through the generic columns.

Adding a vendor layout is one module that declares ``LAYOUT = Layout(key, recognise, read)`` (built on ``text``,
``units``, ``times`` and ``record.finish``), its entry in :data:`LAYOUTS`, and its fixture and tests.

Readings, in every layout: a glucose cell that is empty or holds no finite number (``nan``, ``inf``, ``-inf``,
``NA``, ``null``; :data:`MISSING_WORDS`) is no reading: its row is skipped and counted in a note. ``Low``/``High``/
``LO``/``HI`` become the floor/ceiling of the sensor family the file names, marked as censored; readings stamped
with the same time are merged into one (see :mod:`~medai_core.glucose.readers.record`). Other text is refused.

Limits (untrusted uploads): lines longer than :data:`MAX_LINE_CHARS`, headers wider than :data:`MAX_COLUMNS`,
more than :data:`MAX_READINGS` rows, a series spanning more than :data:`MAX_SPAN_DAYS` days and gzip files that
expand past :data:`medai_core.untrusted.MAX_DECOMPRESSED_BYTES` are refused before anything large is parsed.

:func:`read_cgm` is a pure function of (bytes, name, options) returning a picklable record, so it can run in an
isolated worker process.
"""

from __future__ import annotations

from medai_core.glucose.readers import dexcom, generic, libreview, libreview_translated
from medai_core.glucose.readers.layout import CGMOptions, Layout
from medai_core.glucose.readers.record import MAX_SPAN_DAYS, CGMRecord
from medai_core.glucose.readers.research import grids_by_patient, read_research_table
from medai_core.glucose.readers.text import MAX_COLUMNS, MAX_LINE_CHARS, MAX_READINGS, decode, lines
from medai_core.glucose.readers.units import MISSING_WORDS, PLAUSIBLE_MG_DL

__all__ = [
    "LAYOUTS",
    "MAX_COLUMNS",
    "MAX_LINE_CHARS",
    "MAX_READINGS",
    "MAX_SPAN_DAYS",
    "MISSING_WORDS",
    "PLAUSIBLE_MG_DL",
    "CGMOptions",
    "CGMRecord",
    "Layout",
    "grids_by_patient",
    "read_cgm",
    "read_research_table",
]

LAYOUTS: tuple[Layout, ...] = (dexcom.LAYOUT, libreview.LAYOUT, libreview_translated.LAYOUT)
"""The vendor layouts, in the order they are tried: the first whose ``recognise`` finds its header reads the file
(LibreView by name before LibreView by structure); a file none recognises is a generic CSV."""


def read_cgm(
    data: bytes, *, name: str = "The file", patient: str | None = None, timezone: str | None = None
) -> CGMRecord:
    """Read one CGM file (Dexcom Clarity, LibreView, generic CSV or ``id, time, gl`` table).

    A pure function of its arguments returning a picklable record (safe to run in a worker process). The options
    (``patient``, ``timezone``: :class:`CGMOptions`) are keywords, as every reader's (``read_*(data, *, name,
    **options)``), and named here so that the registry's ``reader_options`` can be checked against them.

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
    options: CGMOptions = {"patient": patient, "timezone": timezone}
    found = lines(decode(data, name), name)
    for layout in LAYOUTS:
        header = layout.recognise(found)
        if header is not None:
            return layout.read(found, header, name, options)
    return generic.read(found, name, options)
