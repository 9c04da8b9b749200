"""Research tables (``id, time, gl`` or any generic CSV with a patient id column; csv or csv.gz) for ``evaluate``
and ``train``: every patient at once, through the generic layout's columns, clock and unit rules and limits (the
time span is checked per patient)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from medai_core.errors import CGMInputError
from medai_core.glucose.prepare import Grid, make_grid
from medai_core.glucose.readers.generic import generic_columns, generic_values
from medai_core.glucose.readers.record import MAX_SPAN_DAYS
from medai_core.glucose.readers.text import decode, lines
from medai_core.glucose.readers.units import check_plausible
from medai_core.units import sensor_family, to_mg_dl


def _source_bytes(source: str | Path | bytes) -> tuple[str, bytes]:
    """(how messages name the file, its bytes).

    Raises:
        CGMInputError: the file does not exist or cannot be read.
    """
    if isinstance(source, bytes):
        return "The file", source
    path = Path(source)
    try:
        return path.name, path.read_bytes()
    except FileNotFoundError:
        raise CGMInputError(f"{path.name}: no such file. Give the path of a CSV with columns id, time, gl.") from None
    except OSError as exc:
        raise CGMInputError(f"{path.name} cannot be read ({exc.strerror}).") from None


def read_research_table(source: str | Path | bytes, *, timezone: str | None = None) -> pd.DataFrame:
    """Read a research table (``id, time, gl`` or any generic CSV with a patient id column; csv or csv.gz).

    The same reader as :func:`medai_core.glucose.readers.read_cgm`'s generic tables: same column names, clock and
    unit rules, same limits (the time span is checked per patient).

    Returns:
        DataFrame with columns ``id`` (str), ``time`` (datetime64[ns], local time) and ``gl`` (float64 mg/dL),
        rows with a missing glucose value dropped; ``frame.attrs["notes"]`` says how the file was read.

    Raises:
        CGMInputError: the file cannot be read, lacks a column, or holds unparseable times or values.
    """
    name, data = _source_bytes(source)
    cols = generic_columns(lines(decode(data, name), name), name)
    if cols.ids is None:
        raise CGMInputError(
            f"{name}: no patient id column. Found: {list(cols.frame.columns)[:10]}. "
            "Expected a research table with columns id, time, gl (glucose in mg/dL)."
        )
    times, values, unit, notes, kept = generic_values(cols, None, name, timezone)
    if (~kept).any():
        notes.append(
            f"{int((~kept).sum())} row(s) without a glucose value (an empty cell, nan or inf) skipped: a cell that "
            "holds no finite number is no reading, in every layout."
        )
    values = _at_limits(values, unit, notes)
    frame = pd.DataFrame({"id": cols.ids.to_numpy()[kept], "time": times, "gl": to_mg_dl(values, unit)})
    keep = np.isfinite(frame["gl"].to_numpy())
    frame = frame[keep].reset_index(drop=True)
    if frame.empty:
        raise CGMInputError(f"{name}: no glucose readings.")
    check_plausible(frame["gl"].to_numpy(), name)
    spans = frame.groupby("id", sort=False)["time"].agg(lambda t: (t.max() - t.min()) / pd.Timedelta(days=1))
    if (spans > MAX_SPAN_DAYS).any():
        raise CGMInputError(
            f"{name}: {int((spans > MAX_SPAN_DAYS).sum())} patient(s) have readings spanning more than "
            f"{MAX_SPAN_DAYS} days from first to last. Check the timestamps."
        )
    frame.attrs["notes"] = (*notes, *cols.notes)
    return frame


def _at_limits(values: NDArray[np.float64], unit: str, notes: list[str]) -> NDArray[np.float64]:
    """Low / High (-inf / +inf) set to the limits of a sensor the table does not name, with a note added to
    ``notes``."""
    if not np.isinf(values).any():
        return values
    family = sensor_family("")
    floor, ceiling = family.limits[unit]
    notes.append(
        f"{int(np.isinf(values).sum())} reading(s) Low/High/LO/HI set to {floor:g} / {ceiling:g} {unit}, the "
        f"limits of {family.name} ({family.source})."
    )
    return np.where(values == -np.inf, floor, np.where(values == np.inf, ceiling, values))


def grids_by_patient(frame: pd.DataFrame) -> dict[str, Grid]:
    """One 5-minute grid per patient of an ``id, time, gl`` table (see :func:`read_research_table`)."""
    return {
        str(pid): make_grid(group["time"].to_numpy(), group["gl"].to_numpy())
        for pid, group in frame.groupby("id", sort=True)
    }
