"""Size-based Lung-RADS category (ACR Lung-RADS v2022, solid nodule at baseline screening).

This is the published size guideline, not the model: it looks at the mean diameter only, and ignores growth,
morphology, part-solid composition and the clinical context that the full Lung-RADS assessment uses.

Lung-RADS v2022 measures the mean diameter "to one decimal point" in mm: the mean of long and short axis is rounded
to 0.1 mm (halves away from zero, as a reader rounds: 5.95 mm is 6.0 mm) *before* it is compared with the 6, 8 and
15 mm cut-offs, so the category and the size shown in its rule are always the same number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

__all__ = ["LungRads", "lung_rads_size_category", "round_diameter_mm"]

_SOURCE = "ACR Lung-RADS v2022, solid nodule, baseline screening, by mean diameter (size only)"


@dataclass(frozen=True)
class LungRads:
    """A size-based category.

    Attributes:
        category: ``"2"``, ``"3"``, ``"4A"``, ``"4B"``, or ``"n/a"`` where the size in mm is unknown.
        meaning: what the category stands for.
        rule: the size rule that placed the nodule there.
        source: the guideline and its scope.
    """

    category: str
    meaning: str
    rule: str
    source: str = _SOURCE


def round_diameter_mm(diameter_mm: float) -> float:
    """``diameter_mm`` rounded to 0.1 mm as Lung-RADS v2022 measures it (halves up: 5.95 -> 6.0, 14.95 -> 15.0).

    The decimal digits Python prints for the float are rounded (not its binary value, which for 14.95 lies just
    below 14.95 and would round down).

    Raises:
        ValueError: ``diameter_mm`` is not a finite number (a diameter is always measured; never categorised blind).
    """
    if not math.isfinite(float(diameter_mm)):
        raise ValueError(f"a mean diameter must be a finite number of mm, got {diameter_mm!r}")
    return float(Decimal(repr(float(diameter_mm))).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def lung_rads_size_category(mean_diameter_mm: float | None) -> LungRads:
    """The size-only Lung-RADS category of a solid nodule at baseline.

    Args:
        mean_diameter_mm: mean of long and short axis in mm (unrounded; rounded to 0.1 mm here before the
            cut-offs, :func:`round_diameter_mm`), or None where the pixel size is unknown.
    """
    if mean_diameter_mm is None:
        return LungRads("n/a", "size in mm unknown (no pixel spacing)", "needs a DICOM input with pixel spacing")
    d = round_diameter_mm(mean_diameter_mm)
    if d < 6.0:
        return LungRads("2", "benign appearance or behaviour", f"mean diameter {d:.1f} mm < 6 mm")
    if d < 8.0:
        return LungRads("3", "probably benign", f"6 mm <= mean diameter {d:.1f} mm < 8 mm")
    if d < 15.0:
        return LungRads("4A", "suspicious", f"8 mm <= mean diameter {d:.1f} mm < 15 mm")
    return LungRads("4B", "very suspicious", f"mean diameter {d:.1f} mm >= 15 mm")
