"""Glucose cells and their unit: which cells hold a reading, the readings as numbers, the unit they are in, and the
range a CGM reading can lie in.

The units themselves (mg/dL, mmol/L, the conversion, the sensor limits) are :mod:`medai_core.units`; this module
applies them to the cells of an export.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from medai_core.errors import CGMInputError
from medai_core.units import LIMIT_WORDS, MG_DL, MMOL_L

PLAUSIBLE_MG_DL = (20.0, 600.0)
"""Readings outside this range are physiologically impossible for a CGM and refused."""

MISSING_WORDS = frozenset(
    {"", "nan", "-nan", "na", "n/a", "null", "none", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
)
"""Glucose cells (lower-case, stripped) that hold no reading: the row is skipped with a note, in every layout."""


def missing(values: pd.Series) -> NDArray[np.bool_]:
    """bool (n,): cells that hold no reading (:data:`MISSING_WORDS`, or a number that is not finite)."""
    text = values.fillna("").astype(str).str.strip().str.lower()
    number = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").to_numpy(dtype=np.float64)
    return np.asarray(text.isin(MISSING_WORDS).to_numpy() | np.isinf(number))


def numbers(values: pd.Series, name: str, column: str) -> NDArray[np.float64]:
    """Parse glucose strings (decimal comma accepted): sensor-limit words (:data:`~medai_core.units.LIMIT_WORDS`)
    become -inf / +inf (set to the sensor's floor / ceiling by :func:`medai_core.glucose.readers.record.finish`),
    cells without a reading (:func:`missing`) NaN; refuse any other text."""
    text = values.fillna("").astype(str).str.strip()
    lower = text.str.lower()
    limit = lower.map(LIMIT_WORDS).to_numpy(dtype=np.float64)
    absent = missing(values)
    parsed = pd.to_numeric(text.str.replace(",", ".", regex=False), errors="coerce").to_numpy(dtype=np.float64)
    bad = np.isnan(parsed) & ~absent & np.isnan(limit)
    if bad.any():
        examples = text[bad].head(3).tolist()
        raise CGMInputError(
            f"{name}: {int(bad.sum())} value(s) in column {column!r} are not numbers, e.g. {examples}. "
            "Glucose must be numeric (mg/dL or mmol/L), or Low/High/LO/HI for a reading beyond the sensor's range; "
            "correct those rows."
        )
    out = np.where(absent, np.nan, parsed)
    return np.where(np.isnan(limit), out, limit * np.inf)


def unit_from_header(header: str) -> str | None:
    """The unit a column name (or a unit cell) states, or None where it names none."""
    h = header.lower().replace(" ", "")
    if "mmol" in h:
        return "mmol/L"
    if "mg/dl" in h or "mg_dl" in h or "mgdl" in h or "mg/100ml" in h:
        return "mg/dL"
    return None


def unit_from_values(values: NDArray[np.float64]) -> tuple[str, float]:
    """The unit the readings imply where nothing names it (a median below 25 can only be mmol/L), and the median."""
    finite = values[np.isfinite(values)]
    median = float(np.median(finite)) if finite.size else 0.0
    return (MMOL_L if median < 25 else MG_DL), median


def check_unit(values: NDArray[np.float64], unit: str, name: str, how: str) -> None:
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


def check_plausible(values_mg_dl: NDArray[np.float64], name: str) -> None:
    """Refuse readings outside :data:`PLAUSIBLE_MG_DL`."""
    low, high = PLAUSIBLE_MG_DL
    bad = (values_mg_dl < low) | (values_mg_dl > high)
    if bad.any():
        examples = sorted({round(float(v), 1) for v in values_mg_dl[bad]})[:4]
        raise CGMInputError(
            f"{name}: {int(bad.sum())} impossible glucose value(s) {examples} mg/dL; CGM readings lie between "
            f"{low:.0f} and {high:.0f} mg/dL. Remove those rows or check the unit."
        )
