"""Preparing CT for the nodule model: windows, seeded segmentation, measurements, and the training-scale crop.

The training crops (LIDC-IDRI, see ``models/ct_nodule/model_card.json``) are 64 x 64 uint8 slices in a lung window
(width 1500 HU, level -600 HU) mapped linearly to 0..255, with every pixel outside the nodule mask set to 0. This
module maps any CT in Hounsfield units onto exactly that scale: HU -> clip((HU + 1350) / 1500 * 255, 0, 255),
rounded; pixels resampled to ``TRAINING_PIXEL_MM`` (the median pixel size of the training crops, estimated from
their pixel and millimetre diameters); the nodule mask from region growing; 64 x 64 around the mask's centroid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from medai_core.errors import ImageInputError

__all__ = [
    "CROP_SIZE",
    "DEFAULT_THRESHOLD_HU",
    "LUNG_WINDOW",
    "MAX_RADIUS_MM",
    "MEDIASTINUM_WINDOW",
    "N_CHANNELS",
    "Seed",
    "Segmentation",
    "TRAINING_PIXEL_MM",
    "Window",
    "apply_window",
    "fit_crop",
    "hu_to_training_scale",
    "resample_crop",
    "segment_nodule",
    "slice_channels",
    "training_crop",
]

CROP_SIZE = 64
N_CHANNELS = 3  # the slice of interest and its two neighbours (2.5D)
TRAINING_PIXEL_MM = 0.64


@dataclass(frozen=True)
class Window:
    """A display window in Hounsfield units.

    Attributes:
        width_hu: window width (HU).
        level_hu: window centre (HU).
    """

    width_hu: float
    level_hu: float

    @property
    def low_hu(self) -> float:
        """Lowest HU shown (maps to black)."""
        return self.level_hu - self.width_hu / 2.0

    @property
    def high_hu(self) -> float:
        """Highest HU shown (maps to white)."""
        return self.level_hu + self.width_hu / 2.0


LUNG_WINDOW = Window(1500.0, -600.0)
MEDIASTINUM_WINDOW = Window(350.0, 50.0)


def apply_window(hu: NDArray[np.floating], window: Window) -> NDArray[np.uint8]:
    """Map Hounsfield units to 0..255 through ``window`` (linear, clipped, rounded).

    Args:
        hu: any shape, float Hounsfield units.
        window: the display window; its width must be positive.
    """
    if window.width_hu <= 0:
        raise ValueError(f"window width must be positive, got {window.width_hu}")
    scaled = (np.asarray(hu, dtype=np.float32) - window.low_hu) / window.width_hu * 255.0
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def hu_to_training_scale(hu: NDArray[np.floating]) -> NDArray[np.uint8]:
    """Hounsfield units to the training crops' intensity scale (the lung window 1500/-600 mapped to 0..255)."""
    return apply_window(hu, LUNG_WINDOW)


def slice_channels(volume_u8: NDArray[np.uint8], index: int) -> NDArray[np.float32]:
    """The model input for slice ``index``: that slice and its neighbours as channels (edges repeat).

    Args:
        volume_u8: (D, 64, 64) masked crop on the training scale.
        index: the slice of interest.

    Returns:
        float32 (64, 64, 3) in 0..255: channels (index - 1, index, index + 1).
    """
    depth = volume_u8.shape[0]
    picks = [min(max(index + offset, 0), depth - 1) for offset in (-1, 0, 1)]
    return np.stack([volume_u8[i] for i in picks], axis=-1).astype(np.float32)


DEFAULT_THRESHOLD_HU = -500.0  # nodule tissue: solid nodules are about -100..+100 HU, aerated lung about -850
MAX_RADIUS_MM = 25.0  # region growing stays within this distance of the seed (nodules are at most 30 mm)
_MAX_RADIUS_PX = 40  # the same limit where pixel size is unknown


@dataclass(frozen=True)
class Seed:
    """A point inside the nodule, in pixels of the displayed volume.

    Attributes:
        row: pixel row (y), 0-based from the top.
        col: pixel column (x), 0-based from the left.
        slice_index: slice, 0-based.
    """

    row: int
    col: int
    slice_index: int = 0


@dataclass(frozen=True)
class Segmentation:
    """The nodule found by region growing, with its measurements.

    Attributes:
        mask: bool (D, H, W) on the study's grid.
        seed: the seed used.
        long_axis_mm: longest in-plane diameter on the slice of largest area (mm; pixels where spacing is unknown).
        short_axis_mm: the widest extent perpendicular to it on that slice (same units).
        volume_mm3: voxel count times voxel volume, or None where slice spacing or pixel size is unknown.
        largest_slice: index of the slice of largest area.
        touches_limit: True when the region reached the search radius (it may have leaked into a vessel or wall).
        spacing_known: whether the lengths are in mm (True) or in pixels (False).
    """

    mask: NDArray[np.bool_]
    seed: Seed
    long_axis_mm: float
    short_axis_mm: float
    volume_mm3: float | None
    largest_slice: int
    touches_limit: bool
    spacing_known: bool

    @property
    def mean_diameter_mm(self) -> float:
        """Mean of long and short axis (the Lung-RADS size measure)."""
        return (self.long_axis_mm + self.short_axis_mm) / 2.0


MAX_SPACING_MM = 50.0  # no CT pixel or slice spacing is larger


def _check_spacings(spacing_mm: tuple[float, float] | None, slice_spacing_mm: float | None) -> None:
    """Refuse spacings no CT has (NaN, infinite, zero, negative, above :data:`MAX_SPACING_MM`).

    The readers validate the header; this guards every other caller so a bad spacing never becomes a length.

    Raises:
        ImageInputError: a spacing is not a finite number in (0, MAX_SPACING_MM] mm.
    """
    values = [*(spacing_mm or ()), *(() if slice_spacing_mm is None else (slice_spacing_mm,))]
    for value in values:
        if not (np.isfinite(value) and 0 < value <= MAX_SPACING_MM):
            raise ImageInputError(
                f"a pixel or slice spacing of {value!r} mm cannot be used (a CT spacing is a positive number up to "
                f"{MAX_SPACING_MM:g} mm); check the pixel size given or the file's header"
            )


def segment_nodule(
    hu: NDArray[np.floating],
    seed: Seed,
    *,
    spacing_mm: tuple[float, float] | None,
    slice_spacing_mm: float | None,
    threshold_hu: float = DEFAULT_THRESHOLD_HU,
) -> Segmentation:
    """Seeded region growing: voxels above ``threshold_hu`` connected to the seed, within ``MAX_RADIUS_MM``.

    A one-pixel in-plane opening detaches thin vessels before the seed's component is kept (kept un-opened where
    the opening would erase it). Lengths follow the Lung-RADS convention (long and perpendicular short axis on
    the axial slice of largest cross-section).

    Args:
        hu: float (D, H, W) Hounsfield units.
        seed: a point inside the nodule.
        spacing_mm: (row, col) pixel spacing, or None (lengths then in pixels, no volume).
        slice_spacing_mm: slice spacing, or None (no volume for volumes; single slices have no volume).
        threshold_hu: lowest HU counted as nodule.

    Raises:
        ImageInputError: the seed is outside the image, lies on air or lung (below the threshold), or the region
            is a single voxel.
    """
    from medai_core.ct.features import axis_lengths_px

    depth = hu.shape[0]
    _check_spacings(spacing_mm, slice_spacing_mm)
    _check_seed(hu, seed, threshold_hu)
    row_mm, col_mm = spacing_mm if spacing_mm else (1.0, 1.0)
    radius = MAX_RADIUS_MM if spacing_mm else float(_MAX_RADIUS_PX)
    slice_mm = slice_spacing_mm if (slice_spacing_mm and spacing_mm) else max(row_mm, col_mm)
    grown, touches = _grow_region(hu, seed, (slice_mm, row_mm, col_mm), radius, threshold_hu)
    areas = grown.reshape(depth, -1).sum(axis=1)
    largest = int(np.argmax(areas))
    long_px, short_px = axis_lengths_px(grown[largest], spacing=(row_mm, col_mm))
    volume = float(grown.sum() * row_mm * col_mm * slice_spacing_mm) if spacing_mm and slice_spacing_mm else None
    if volume is not None and not np.isfinite(volume):  # bounded spacings make this impossible; never shown
        raise ImageInputError("the nodule's volume cannot be computed from this image's spacing")
    return Segmentation(
        mask=grown,
        seed=seed,
        long_axis_mm=long_px,
        short_axis_mm=short_px,
        volume_mm3=volume,
        largest_slice=largest,
        touches_limit=touches,
        spacing_known=spacing_mm is not None,
    )


def _check_seed(hu: NDArray[np.floating], seed: Seed, threshold_hu: float) -> None:
    """Refuse a seed outside the image, or on air or lung (the median of its 3 x 3 neighbourhood below the
    threshold)."""
    depth, height, width = hu.shape
    if not (0 <= seed.slice_index < depth and 0 <= seed.row < height and 0 <= seed.col < width):
        raise ImageInputError(
            f"the seed (x={seed.col}, y={seed.row}, slice {seed.slice_index}) is outside the image, which is "
            f"{width} x {height} pixels with {depth} slice(s). Click inside the image on the nodule's centre."
        )
    z, y, x = seed.slice_index, seed.row, seed.col
    local = hu[z, max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2]
    seed_hu = float(np.median(local))
    if seed_hu < threshold_hu:
        kind = "air" if seed_hu < -900 else "aerated lung"
        raise ImageInputError(
            f"the seed (x={x}, y={y}) lies on {kind} ({seed_hu:.0f} HU, below the {threshold_hu:.0f} HU nodule "
            "threshold), so segmentation found no nodule. Click on the nodule's solid centre."
        )


def _grow_region(
    hu: NDArray[np.floating],
    seed: Seed,
    voxel_mm: tuple[float, float, float],
    radius: float,
    threshold_hu: float,
) -> tuple[NDArray[np.bool_], bool]:
    """The region grown from the seed (D, H, W), and whether it reaches the search ball's surface.

    Voxels at or above ``threshold_hu`` within ``radius`` of the seed (``voxel_mm``: slice, row and column size)
    connected to it, after a one-pixel in-plane opening (kept un-opened where the opening would erase it). The work
    is done inside the box around the seed that holds the search ball (fast on whole series).

    Raises:
        ImageInputError: the region is a single voxel.
    """
    from scipy import ndimage

    z, y, x = seed.slice_index, seed.row, seed.col
    reach = tuple(int(np.ceil(radius / size)) for size in voxel_mm)
    lo = [max(c - r, 0) for c, r in zip((z, y, x), reach, strict=True)]
    hi = [min(c + r + 1, n) for c, r, n in zip((z, y, x), reach, hu.shape, strict=True)]
    box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
    sub = np.asarray(hu[box], dtype=np.float32)
    bz, by, bx = z - lo[0], y - lo[1], x - lo[2]
    slice_mm, row_mm, col_mm = voxel_mm
    zz, yy, xx = np.ogrid[: sub.shape[0], : sub.shape[1], : sub.shape[2]]
    ball = ((zz - bz) * slice_mm) ** 2 + ((yy - by) * row_mm) ** 2 + ((xx - bx) * col_mm) ** 2 <= radius**2
    candidate = (sub >= threshold_hu) & ball
    opened = ndimage.binary_opening(candidate, structure=np.ones((1, 3, 3), dtype=bool))
    grown_sub = None
    for region in (opened, candidate):
        labels, _ = ndimage.label(region, structure=ndimage.generate_binary_structure(3, 1))
        if labels[bz, by, bx] > 0:
            grown_sub = labels == labels[bz, by, bx]
            break
    if grown_sub is None or grown_sub.sum() < 2:
        raise ImageInputError(
            f"segmentation from the seed (x={x}, y={y}) found no nodule (a single voxel above {threshold_hu:.0f} HU). "
            "Click on the nodule's centre, or lower the threshold for a part-solid nodule."
        )
    # The ball's surface, not counting where the image border cuts it.
    shell = ball & ~ndimage.binary_erosion(ball, border_value=1)
    grown = np.zeros(hu.shape, dtype=bool)
    grown[box] = grown_sub
    return grown, bool((grown_sub & shell).any())


def training_crop(
    hu: NDArray[np.floating],
    mask: NDArray[np.bool_],
    spacing_mm: tuple[float, float] | None,
    *,
    target_mm: float = TRAINING_PIXEL_MM,
) -> NDArray[np.uint8]:
    """The masked crop on the training scale: (D', 64, 64) uint8, one slice per slice the mask touches.

    HU are mapped through the lung window to 0..255, resampled in-plane to ``target_mm`` (the model card's
    ``training_pixel_mm``; linear for intensities, nearest for the mask) where the spacing is known, masked (0
    outside; inside at least 1), and cut to 64 x 64 around the mask's centroid.

    Raises:
        ImageInputError: the nodule is wider than the 64-pixel crop after resampling (a mass, not a nodule).
    """
    from scipy import ndimage

    _check_spacings(spacing_mm, None)
    if not (np.isfinite(target_mm) and 0 < target_mm <= MAX_SPACING_MM):
        raise ValueError(f"the training pixel size must be a positive number of mm, got {target_mm!r}")
    slices = np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))
    hu_sub = np.asarray(hu, dtype=np.float32)[slices]
    mask_sub = mask[slices]
    if spacing_mm:
        factors = (1.0, spacing_mm[0] / target_mm, spacing_mm[1] / target_mm)
        if any(abs(f - 1.0) > 1e-3 for f in factors):
            hu_sub = ndimage.zoom(hu_sub, factors, order=1)
            mask_sub = ndimage.zoom(mask_sub.astype(np.uint8), factors, order=0).astype(bool)
    ys, xs = np.nonzero(mask_sub.any(axis=0))
    if ys.size == 0:
        raise ImageInputError("the nodule vanished when resampled to the training pixel size; it is too small")
    extent = max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1)
    if extent > CROP_SIZE:
        size_mm = extent * (target_mm if spacing_mm else 1.0)
        raise ImageInputError(
            f"the segmented region is {size_mm:.0f} {'mm' if spacing_mm else 'pixels'} across, wider than the "
            f"model's {CROP_SIZE}-pixel field ({CROP_SIZE * target_mm:.0f} mm). Lesions above 30 mm are "
            "masses, outside this model's scope; or the region leaked into a vessel or the chest wall: move the "
            "seed or raise the threshold."
        )
    cy, cx = (int(ys.min()) + int(ys.max())) // 2, (int(xs.min()) + int(xs.max())) // 2
    half = CROP_SIZE // 2
    u8 = hu_to_training_scale(hu_sub)
    u8 = np.where(mask_sub, np.maximum(u8, 1), 0).astype(np.uint8)
    padded = np.pad(u8, ((0, 0), (half, half), (half, half)))
    return padded[:, cy : cy + CROP_SIZE, cx : cx + CROP_SIZE].copy()


def resample_crop(
    volume_u8: NDArray[np.uint8], pixel_mm: float | tuple[float, float], target_mm: float
) -> NDArray[np.uint8]:
    """A masked crop of pixel size ``pixel_mm`` resampled in-plane to ``target_mm`` (the training pixel size).

    Intensities inside the mask are interpolated linearly, the mask itself by nearest neighbour, so the crop stays
    masked (0 outside, at least 1 inside).

    Args:
        volume_u8: uint8 (D, H, W) masked crop on the training intensity scale.
        pixel_mm: its pixel size (mm), or (row, column) pixel spacing for non-square pixels.
        target_mm: the pixel size to resample to (mm).

    Returns:
        uint8 (D, round(H * row_mm / target_mm), round(W * column_mm / target_mm)).

    Raises:
        ImageInputError: the nodule vanishes at the new pixel size.
    """
    from scipy import ndimage

    row_mm, column_mm = (pixel_mm, pixel_mm) if isinstance(pixel_mm, (int, float)) else pixel_mm
    factors = (float(row_mm) / float(target_mm), float(column_mm) / float(target_mm))
    if max(abs(f - 1.0) for f in factors) <= 1e-3:
        return np.asarray(volume_u8, dtype=np.uint8)
    mask = volume_u8 > 0
    zoom = {"zoom": (1.0, *factors), "grid_mode": True, "mode": "grid-constant"}  # pixel areas kept
    # Normalised interpolation: the black outside the mask does not darken the nodule's edge.
    weighted = ndimage.zoom(np.where(mask, volume_u8, 0).astype(np.float32), order=1, **zoom)  # type: ignore[arg-type]
    weight = ndimage.zoom(mask.astype(np.float32), order=1, **zoom)  # type: ignore[arg-type]
    zoomed_mask = ndimage.zoom(mask.astype(np.uint8), order=0, **zoom).astype(bool)  # type: ignore[arg-type]
    if not zoomed_mask.any():
        raise ImageInputError("the nodule vanished when resampled to the training pixel size; it is too small")
    values = np.divide(weighted, weight, out=np.zeros_like(weighted), where=weight > 1e-6)
    out = np.where(zoomed_mask, np.clip(np.rint(values), 1, 255), 0)
    return out.astype(np.uint8)


def fit_crop(volume_u8: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """A masked crop of any size brought to (D, 64, 64) by centring it on its mask (pad or cut, no resampling).

    Raises:
        ImageInputError: the masked region is wider than 64 pixels.
    """
    mask = volume_u8 > 0
    hu_like = volume_u8.astype(np.float32)

    ys, xs = np.nonzero(mask.any(axis=0))
    if ys.size == 0:
        raise ImageInputError("the crop is entirely black (0); it holds no nodule")
    if max(ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) > CROP_SIZE:
        raise ImageInputError(f"the masked nodule in the crop is wider than {CROP_SIZE} pixels, the model's field")
    keep = np.flatnonzero(mask.reshape(mask.shape[0], -1).any(axis=1))
    cy, cx = (int(ys.min()) + int(ys.max())) // 2, (int(xs.min()) + int(xs.max())) // 2
    half = CROP_SIZE // 2
    padded = np.pad(hu_like[keep], ((0, 0), (half, half), (half, half)))
    return padded[:, cy : cy + CROP_SIZE, cx : cx + CROP_SIZE].astype(np.uint8)
