"""Where a saliency map puts its weight: the share inside the object it should explain (the nodule's mask)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["OUTSIDE_REMARK_BELOW", "SaliencyLocalisation", "saliency_inside_fraction"]

OUTSIDE_REMARK_BELOW = 0.5
"""A map with less than this share of its weight inside the mask gets a visible remark on the page."""


@dataclass(frozen=True)
class SaliencyLocalisation:
    """How much of a saliency map falls inside a mask.

    Attributes:
        inside: share of the map's total weight on mask pixels, in [0, 1]; NaN for an all-zero map.
        peak_inside: whether the single hottest pixel lies on the mask.
    """

    inside: float
    peak_inside: bool

    @property
    def mostly_outside(self) -> bool:
        """Less than :data:`OUTSIDE_REMARK_BELOW` of the weight is inside (False for an empty map)."""
        return bool(np.isfinite(self.inside) and self.inside < OUTSIDE_REMARK_BELOW)


def saliency_inside_fraction(heatmap: NDArray[np.floating], mask: NDArray[np.bool_]) -> SaliencyLocalisation:
    """The share of ``heatmap``'s weight on ``mask`` (same shape, 2D or 3D), and whether its peak is there.

    Raises:
        ValueError: the shapes differ or the map has negative or non-finite values.
    """
    heat = np.asarray(heatmap, dtype=np.float64)
    region = np.asarray(mask, dtype=bool)
    if heat.shape != region.shape:
        raise ValueError(f"heatmap {heat.shape} and mask {region.shape} differ in shape")
    if not np.all(np.isfinite(heat)) or (heat < 0).any():
        raise ValueError("a saliency map must be finite and non-negative")
    total = float(heat.sum())
    if total == 0.0:
        return SaliencyLocalisation(float("nan"), False)
    peak = np.unravel_index(int(np.argmax(heat)), heat.shape)
    return SaliencyLocalisation(float(heat[region].sum()) / total, bool(region[peak]))
