"""Glucose units, the consensus glucose ranges in both units, and the sensor reporting limits: one table each.

mg/dL and mmol/L are related by the molar mass of glucose (180.16 g/mol): 1 mmol/L = 18.016 mg/dL. The 2019
International Consensus on Time in Range (Battelino et al., Diabetes Care 2019;42:1593-1603) states its ranges in
both units, and the two sets of bounds are *not* exact conversions of each other (10.0 mmol/L is 180.16 mg/dL,
13.9 mmol/L is 250.4 mg/dL). A reading is therefore classified in the unit the device recorded it in, with that
unit's own bounds, so a value printed as 10.0 mmol/L is in range exactly as 180 mg/dL is:

=========================  ==================  ======================
band (metric key)          mg/dL               mmol/L
=========================  ==================  ======================
``tbr_lt_54`` very low     < 54                < 3.0
``tbr_54_69`` low          54 to < 70          3.0 to < 3.9
``tir_70_180`` in range    70 to 180           3.9 to 10.0
``tar_181_250`` high       > 180 to 250        > 10.0 to 13.9
``tar_gt_250`` very high   > 250               > 13.9
=========================  ==================  ======================

Sensor reporting limits (what "Low"/"LO" and "High"/"HI" stand for in an export), per device family, from the
manufacturers' user guides (:data:`SENSOR_FAMILIES`):

=======================================  =============  ==============  ============================================
family                                   mg/dL          mmol/L          source
=======================================  =============  ==============  ============================================
Dexcom G4/G5/G6/G7/ONE                   40 - 400       2.2 - 22.2      Dexcom G6 and G7 CGM System User Guides
FreeStyle Libre 14 day, Libre 2, 3       40 - 500       2.2 - 27.8      Abbott FreeStyle Libre 2 / 3 User's Manuals
Medtronic Guardian / Enlite (MiniMed)    40 - 400       2.2 - 22.2      Medtronic Guardian 4 / MiniMed 780G guides
Eversense (Senseonics)                   40 - 400       2.2 - 22.2      Senseonics Eversense E3 CGM User Guide
device not named                         40 - 400       2.2 - 22.2      the highest floor and lowest ceiling above
=======================================  =============  ==============  ============================================

A reading at a limit is censored: the true value is at or beyond it. Where the file does not name the device, a
"High" is only known to be at least the lowest ceiling of the families (400 mg/dL), so that is what it stands for.

This module imports nothing from the domains, so readers, AGP, plots, pages and reports all share it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "BAND_KEYS",
    "CONSENSUS",
    "GLUCOSE_UNITS",
    "MG_DL",
    "MG_DL_PER_MMOL_L",
    "MMOL_L",
    "LIMIT_WORDS",
    "SENSOR_FAMILIES",
    "SENSOR_LIMITS",
    "ConsensusBounds",
    "SensorFamily",
    "band_counts",
    "band_labels",
    "check_unit",
    "classify",
    "format_glucose",
    "from_mg_dl",
    "glucose_digits",
    "sensor_family",
    "to_mg_dl",
]

MG_DL: Final = "mg/dL"
MMOL_L: Final = "mmol/L"
GLUCOSE_UNITS: Final = (MG_DL, MMOL_L)
"""The two glucose units, in the order the sidebar offers them."""

MG_DL_PER_MMOL_L: Final = 18.016
"""1 mmol/L of glucose in mg/dL (molar mass 180.16 g/mol)."""

BAND_KEYS: Final = ("tbr_lt_54", "tbr_54_69", "tir_70_180", "tar_181_250", "tar_gt_250")
"""The five consensus bands, lowest first (the keys of the percentages in the AGP metrics)."""


@dataclass(frozen=True)
class ConsensusBounds:
    """The consensus range bounds in one unit.

    A reading ``g`` is very low when ``g < very_low``, low when ``very_low <= g < low``, in range when
    ``low <= g <= high``, high when ``high < g <= very_high`` and very high when ``g > very_high``.

    Attributes:
        unit: ``"mg/dL"`` or ``"mmol/L"``.
        very_low: 54 mg/dL or 3.0 mmol/L.
        low: 70 mg/dL or 3.9 mmol/L (lower bound of the target range, inclusive).
        high: 180 mg/dL or 10.0 mmol/L (upper bound of the target range, inclusive).
        very_high: 250 mg/dL or 13.9 mmol/L.
        labels: display text of the five bands in this unit, lowest first.
    """

    unit: str
    very_low: float
    low: float
    high: float
    very_high: float
    labels: tuple[str, str, str, str, str]


CONSENSUS: Final[dict[str, ConsensusBounds]] = {
    MG_DL: ConsensusBounds(MG_DL, 54.0, 70.0, 180.0, 250.0, ("< 54", "54-69", "70-180", "181-250", "> 250")),
    MMOL_L: ConsensusBounds(MMOL_L, 3.0, 3.9, 10.0, 13.9, ("< 3.0", "3.0-3.8", "3.9-10.0", "10.1-13.9", "> 13.9")),
}
"""The 2019 consensus bounds, each in its own unit (never converted from the other)."""


@dataclass(frozen=True)
class SensorFamily:
    """The reporting limits of one family of CGM sensors.

    Attributes:
        key: ``"dexcom"``, ``"libre"``, ``"medtronic"``, ``"eversense"`` or ``"unknown"``.
        name: display name, e.g. ``"FreeStyle Libre"``.
        limits: unit -> (floor, ceiling): the lowest and highest value the sensor reports; below and above it
            exports "Low"/"LO" and "High"/"HI".
        markers: lower-case words of a device name that identify the family.
        source: where the limits are stated.
    """

    key: str
    name: str
    limits: dict[str, tuple[float, float]]
    markers: tuple[str, ...]
    source: str

    def floor(self, unit: str) -> float:
        """The lowest reported value in ``unit``."""
        return self.limits[check_unit(unit)][0]

    def ceiling(self, unit: str) -> float:
        """The highest reported value in ``unit``."""
        return self.limits[check_unit(unit)][1]


_LIMITS_400: Final = {MG_DL: (40.0, 400.0), MMOL_L: (2.2, 22.2)}
SENSOR_FAMILIES: Final[tuple[SensorFamily, ...]] = (
    SensorFamily(
        "dexcom",
        "Dexcom",
        _LIMITS_400,
        ("dexcom", "g4", "g5", "g6", "g7", "dexcom one", "clarity"),
        "Dexcom G6 CGM System User Guide and Dexcom G7 CGM System User Guide (Dexcom, Inc.): readings 40-400 "
        "mg/dL (2.2-22.2 mmol/L), LOW and HIGH outside",
    ),
    SensorFamily(
        "libre",
        "FreeStyle Libre",
        {MG_DL: (40.0, 500.0), MMOL_L: (2.2, 27.8)},
        ("freestyle", "libre"),
        "FreeStyle Libre 14 day, Libre 2 and Libre 3 User's Manuals (Abbott Diabetes Care): readings 40-500 mg/dL "
        "(2.2-27.8 mmol/L), LO and HI outside",
    ),
    SensorFamily(
        "medtronic",
        "Medtronic Guardian",
        _LIMITS_400,
        ("medtronic", "guardian", "minimed", "enlite", "carelink", "simplera"),
        "Medtronic Guardian 4 Sensor and MiniMed 780G System User Guides (Medtronic): sensor glucose 40-400 mg/dL "
        "(2.2-22.2 mmol/L)",
    ),
    SensorFamily(
        "eversense",
        "Eversense",
        _LIMITS_400,
        ("eversense", "senseonics"),
        "Eversense E3 CGM System User Guide (Senseonics): readings 40-400 mg/dL (2.2-22.2 mmol/L), LO and HI outside",
    ),
)
"""The reporting limits of each CGM family (one table; see the module docstring)."""

_UNKNOWN_FAMILY: Final = SensorFamily(
    "unknown",
    "a sensor the file does not name",
    {
        unit: (max(f.limits[unit][0] for f in SENSOR_FAMILIES), min(f.limits[unit][1] for f in SENSOR_FAMILIES))
        for unit in GLUCOSE_UNITS
    },
    (),
    "the highest floor and the lowest ceiling of the families above",
)

SENSOR_LIMITS: Final[dict[str, tuple[float, float]]] = _UNKNOWN_FAMILY.limits
"""(floor, ceiling) every listed sensor reports within: 40 / 400 mg/dL, 2.2 / 22.2 mmol/L."""

LIMIT_WORDS: Final[dict[str, int]] = {"low": -1, "lo": -1, "high": 1, "hi": 1}
"""What exports write for a reading beyond the sensor's range (lower-case): -1 below the floor, +1 above the
ceiling (Dexcom "Low"/"High", Libre and Eversense "LO"/"HI")."""


def sensor_family(device: str, source_format: str = "") -> SensorFamily:
    """The family of the sensor named by ``device`` (or implied by the export ``source_format``).

    Args:
        device: the device text of the file ("FreeStyle Libre 3", "Dexcom G7", ...), "" when none.
        source_format: ``"dexcom_clarity"`` and ``"libreview"`` imply their family when the device is not named.

    Returns:
        the family, or the unnamed-device entry (limits every family reports within).
    """
    words = set(re.findall(r"[a-z0-9]+", device.lower()))
    text = " ".join(re.findall(r"[a-z0-9]+", device.lower()))
    for family in SENSOR_FAMILIES:
        if any((m in words) if " " not in m else (m in text) for m in family.markers):
            return family
    implied = {"dexcom_clarity": "dexcom", "libreview": "libre"}.get(source_format)
    return next((f for f in SENSOR_FAMILIES if f.key == implied), _UNKNOWN_FAMILY)


def check_unit(unit: str) -> str:
    """Return ``unit`` if it is ``"mg/dL"`` or ``"mmol/L"``.

    Raises:
        ValueError: any other text (a programming error: readers only ever produce these two).
    """
    if unit not in GLUCOSE_UNITS:
        raise ValueError(f"unknown glucose unit {unit!r}; expected one of {list(GLUCOSE_UNITS)}")
    return unit


def to_mg_dl(values: NDArray[np.floating] | float, unit: str) -> NDArray[np.float64]:
    """Glucose in ``unit`` -> mg/dL (float64, same shape)."""
    arr = np.asarray(values, dtype=np.float64)
    return arr * MG_DL_PER_MMOL_L if check_unit(unit) == MMOL_L else arr


def from_mg_dl(values: NDArray[np.floating] | float, unit: str) -> NDArray[np.float64]:
    """Glucose in mg/dL -> ``unit`` (float64, same shape)."""
    arr = np.asarray(values, dtype=np.float64)
    return arr / MG_DL_PER_MMOL_L if check_unit(unit) == MMOL_L else arr


def glucose_digits(unit: str) -> int:
    """Decimals a glucose value is usually shown with: 0 for mg/dL, 1 for mmol/L."""
    return 0 if check_unit(unit) == MG_DL else 1


def format_glucose(value_mg_dl: float, unit: str) -> str:
    """A value given in mg/dL written in ``unit`` with that unit's precision ("142 mg/dL", "7.9 mmol/L"); "-" if NaN."""
    if value_mg_dl is None or not np.isfinite(value_mg_dl):
        return "-"
    value = float(from_mg_dl(value_mg_dl, unit))
    return f"{value:.{glucose_digits(unit)}f} {unit}"


def classify(values: NDArray[np.floating], unit: str) -> NDArray[np.int8]:
    """Consensus band of each reading, classified with the bounds of the unit it was recorded in.

    Args:
        values: (M,) readings in ``unit`` (finite).
        unit: the unit of ``values``.

    Returns:
        int8 (M,) band index into :data:`BAND_KEYS` (0 very low .. 4 very high).
    """
    b = CONSENSUS[check_unit(unit)]
    g = np.asarray(values, dtype=np.float64)
    band = np.full(g.shape, 2, dtype=np.int8)
    band[g < b.low] = 1
    band[g < b.very_low] = 0
    band[g > b.high] = 3
    band[g > b.very_high] = 4
    return band


def band_counts(values: NDArray[np.floating], unit: str) -> dict[str, int]:
    """Number of readings in each consensus band (keys :data:`BAND_KEYS`), classified in ``unit``."""
    counts = np.bincount(classify(values, unit).astype(np.int64), minlength=len(BAND_KEYS))
    return {key: int(n) for key, n in zip(BAND_KEYS, counts, strict=True)}


def band_labels(unit: str) -> dict[str, str]:
    """Display label of each band in ``unit``, e.g. ``{"tir_70_180": "3.9-10.0 mmol/L", ...}``."""
    bounds = CONSENSUS[check_unit(unit)]
    return {key: f"{label} {unit}" for key, label in zip(BAND_KEYS, bounds.labels, strict=True)}
