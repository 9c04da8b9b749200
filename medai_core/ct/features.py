"""Hand-crafted nodule features computed by the project from a masked crop (never read from radiomics.csv).

The crop is on the training scale (see :mod:`medai_core.ct.prepare`): uint8 lung-window intensities, 0 outside
the nodule mask, pixels of ``TRAINING_PIXEL_MM`` millimetres. Shape features are measured on the slice of largest
cross-section (the axial plane, as in Lung-RADS); intensity features over every masked voxel. Slice-count and
voxel-count features are left out on purpose: they depend on the slice thickness, which the training crops do not
record and uploads vary in.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

__all__ = ["FEATURE_NAMES", "axis_lengths_px", "largest_slice_index", "nodule_features"]

FEATURE_NAMES: tuple[str, ...] = (
    "log_area_px",
    "log_long_axis_px",
    "log_short_axis_px",
    "elongation",
    "compactness",
    "solidity",
    "mean_intensity",
    "std_intensity",
    "p10_intensity",
    "p90_intensity",
    "calcified_fraction",
    "low_density_fraction",
)

_CALCIFIED_U8 = 250  # lung window 1500/-600: 250/255 is about +120 HU; calcium is brighter
_LOW_DENSITY_U8 = 150  # about -470 HU: ground-glass rather than solid tissue


def largest_slice_index(volume_u8: NDArray[np.uint8]) -> int:
    """Index of the slice with the largest masked area.

    Args:
        volume_u8: (D, H, W) masked crop, 0 outside the mask.
    """
    areas = (np.asarray(volume_u8) > 0).reshape(volume_u8.shape[0], -1).sum(axis=1)
    return int(np.argmax(areas))


def axis_lengths_px(mask: NDArray[np.bool_], spacing: tuple[float, float] = (1.0, 1.0)) -> tuple[float, float]:
    """Long axis (largest Feret diameter) and the widest extent perpendicular to it.

    Lengths are measured between pixel centres plus one pixel, so a single pixel is 1 x 1.

    Args:
        mask: (H, W) boolean mask of one cross-section.
        spacing: (row, col) pixel size; the lengths are in its unit (pixels by default, mm with a spacing).
    """
    ys, xs = np.nonzero(mask)
    if ys.size == 0:
        return 0.0, 0.0
    points = np.stack([ys, xs], axis=1).astype(np.float64)
    if points.shape[0] > 16:  # only the outline matters for extents
        outline = mask & ~ndimage.binary_erosion(mask)
        oy, ox = np.nonzero(outline)
        points = np.stack([oy, ox], axis=1).astype(np.float64)
    points = points * np.asarray(spacing, dtype=np.float64)
    diff = points[:, None, :] - points[None, :, :]
    dist = np.sqrt((diff**2).sum(-1))
    i, j = np.unravel_index(int(np.argmax(dist)), dist.shape)
    long_axis = float(dist[i, j])
    pixel = float(np.mean(spacing))
    if long_axis == 0.0:
        return pixel, pixel
    direction = (points[j] - points[i]) / long_axis
    normal = np.array([-direction[1], direction[0]])
    proj = points @ normal
    short_axis = float(proj.max() - proj.min())
    return long_axis + pixel, short_axis + pixel


def nodule_features(volume_u8: NDArray[np.uint8]) -> NDArray[np.float32]:
    """The :data:`FEATURE_NAMES` vector of one nodule.

    Args:
        volume_u8: (D, H, W) uint8 masked crop on the training scale, 0 outside the nodule.

    Returns:
        float32 (len(FEATURE_NAMES),). Intensities are in training units divided by 255.
    """
    volume = np.asarray(volume_u8)
    if volume.ndim == 2:
        volume = volume[None]
    mask_slice = volume[largest_slice_index(volume)] > 0
    area = float(mask_slice.sum())
    if area == 0:
        return np.zeros(len(FEATURE_NAMES), dtype=np.float32)
    long_axis, short_axis = axis_lengths_px(mask_slice)
    perimeter = float((mask_slice & ~ndimage.binary_erosion(mask_slice)).sum())
    compactness = 4.0 * np.pi * area / max(perimeter, 1.0) ** 2
    try:
        from scipy.spatial import ConvexHull, QhullError

        ys, xs = np.nonzero(mask_slice)
        hull_area = ConvexHull(np.stack([ys, xs], 1).astype(np.float64)).volume if area >= 3 else area
        solidity = area / max(hull_area, area)
    except QhullError:  # collinear pixels: a line is its own hull
        solidity = 1.0
    values = volume[volume > 0].astype(np.float64)
    return np.array(
        [
            np.log(area),
            np.log(long_axis),
            np.log(short_axis),
            short_axis / long_axis,
            min(compactness, 2.0),
            solidity,
            values.mean() / 255.0,
            values.std() / 255.0,
            np.percentile(values, 10) / 255.0,
            np.percentile(values, 90) / 255.0,
            float((values >= _CALCIFIED_U8).mean()),
            float((values < _LOW_DENSITY_U8).mean()),
        ],
        dtype=np.float32,
    )
