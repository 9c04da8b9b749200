"""Size-based Lung-RADS category (ACR Lung-RADS v2022, solid nodule at baseline screening).

This is the published size guideline, not the model: it looks at the mean diameter only, and ignores growth,
morphology, part-solid composition and the clinical context that the full Lung-RADS assessment uses.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LungRads", "lung_rads_size_category"]

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


def lung_rads_size_category(mean_diameter_mm: float | None) -> LungRads:
    """The size-only Lung-RADS category of a solid nodule at baseline.

    Args:
        mean_diameter_mm: mean of long and short axis in mm, or None where the pixel size is unknown.
    """
    if mean_diameter_mm is None:
        return LungRads("n/a", "size in mm unknown (no pixel spacing)", "needs a DICOM input with pixel spacing")
    d = float(mean_diameter_mm)
    if d < 6.0:
        return LungRads("2", "benign appearance or behaviour", f"mean diameter {d:.1f} mm < 6 mm")
    if d < 8.0:
        return LungRads("3", "probably benign", f"6 mm <= mean diameter {d:.1f} mm < 8 mm")
    if d < 15.0:
        return LungRads("4A", "suspicious", f"8 mm <= mean diameter {d:.1f} mm < 15 mm")
    return LungRads("4B", "very suspicious", f"mean diameter {d:.1f} mm >= 15 mm")
