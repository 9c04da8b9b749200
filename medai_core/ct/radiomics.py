"""IBSI-style radiomics of one nodule from an image and its segmentation mask, implemented once.

The definitions follow the Image Biomarker Standardisation Initiative (Zwanenburg A et al., Radiology
2020;295:328-338; reference manual arXiv:1612.07003): morphology from a marching-cubes mesh of the mask, intensity
statistics on the voxels inside the mask, and texture (grey-level co-occurrence and run-length matrices) on the
mask's voxels after fixed-bin-width discretisation. Texture matrices are built per 3D direction (13 directions,
symmetric co-occurrence, Chebyshev distance 1) and their features averaged over directions (IBSI "3D, averaged").

The SAME entry point, :func:`crop_radiomics`, runs on the training crops and on every upload: both reach the model
as a masked crop on the training scale (:mod:`medai_core.ct.prepare`: lung window W1500/L-600 mapped to 0..255,
0 outside the mask, in-plane pixels of ``TRAINING_PIXEL_MM``), so the fused model sees features computed the same
way at both ends. The crop's intensities are mapped back to Hounsfield units (the lung window's inverse; values
outside the window were clipped to its ends by the crop, so calcium above +150 HU reads as +150 HU).

Slice spacing: the training crops do not record it; :data:`CROP_SLICE_MM` is the value assumed for every crop
(estimated on the LIDC crops so that nodules are as deep as they are wide, see :func:`estimate_slice_mm`). Uploads
are prepared at their own slice spacing, so features of depth (volume, surface, 3D diameter, flatness) carry that
assumption; the card names it.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medai_core.ct.prepare import LUNG_WINDOW, TRAINING_PIXEL_MM

__all__ = [
    "BIN_WIDTH_HU",
    "CROP_SLICE_MM",
    "RADIOMICS_NAMES",
    "crop_radiomics",
    "crop_to_hu",
    "estimate_slice_mm",
    "radiomics",
    "radiomics_matrix",
]

BIN_WIDTH_HU = 25.0
"""Fixed bin width of the texture and discretised intensity features (HU), IBSI's FBS discretisation."""

_BIN_LOW_HU = LUNG_WINDOW.low_hu  # -1350 HU: the lowest value a crop can hold; bin 1 starts here

CROP_SLICE_MM = 1.8
"""Slice spacing assumed for every masked crop (mm): the median over the LIDC crops of (largest in-plane diameter in
mm / number of slices the mask touches), i.e. the spacing that makes the median nodule as deep as it is wide
(:func:`estimate_slice_mm`: 1.77 mm on the 699 crops)."""

_DIRECTIONS: tuple[tuple[int, int, int], ...] = (
    (0, 0, 1),
    (0, 1, 0),
    (0, 1, 1),
    (0, 1, -1),
    (1, 0, 0),
    (1, 0, 1),
    (1, 0, -1),
    (1, 1, 0),
    (1, -1, 0),
    (1, 1, 1),
    (1, 1, -1),
    (1, -1, 1),
    (1, -1, -1),
)
"""The 13 unique 3D neighbour directions (dz, dy, dx) at Chebyshev distance 1."""

SHAPE_NAMES: tuple[str, ...] = (
    "shape_volume_mm3",
    "shape_surface_area_mm2",
    "shape_surface_volume_ratio",
    "shape_sphericity",
    "shape_compactness2",
    "shape_spherical_disproportion",
    "shape_max_3d_diameter_mm",
    "shape_major_axis_mm",
    "shape_minor_axis_mm",
    "shape_least_axis_mm",
    "shape_elongation",
    "shape_flatness",
    "shape_max_2d_diameter_mm",
)
FIRST_ORDER_NAMES: tuple[str, ...] = (
    "fo_mean",
    "fo_sd",
    "fo_skewness",
    "fo_kurtosis",
    "fo_median",
    "fo_minimum",
    "fo_maximum",
    "fo_p10",
    "fo_p90",
    "fo_iqr",
    "fo_mad",
    "fo_rms",
    "fo_energy",
    "fo_entropy",
    "fo_uniformity",
)
GLCM_NAMES: tuple[str, ...] = (
    "glcm_joint_energy",
    "glcm_joint_entropy",
    "glcm_contrast",
    "glcm_dissimilarity",
    "glcm_homogeneity",
    "glcm_idm",
    "glcm_correlation",
    "glcm_joint_average",
    "glcm_cluster_shade",
    "glcm_cluster_prominence",
    "glcm_autocorrelation",
)
GLRLM_NAMES: tuple[str, ...] = (
    "glrlm_sre",
    "glrlm_lre",
    "glrlm_lgre",
    "glrlm_hgre",
    "glrlm_gln_norm",
    "glrlm_rln_norm",
    "glrlm_run_percentage",
    "glrlm_gl_variance",
    "glrlm_run_variance",
    "glrlm_run_entropy",
)
RADIOMICS_NAMES: tuple[str, ...] = SHAPE_NAMES + FIRST_ORDER_NAMES + GLCM_NAMES + GLRLM_NAMES
"""Names of the vector :func:`radiomics_matrix` returns, in order (shape, first order, GLCM, GLRLM)."""


def crop_to_hu(crop_u8: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Hounsfield units of a training-scale crop (inverse of the lung window; exact up to its 5.9 HU step)."""
    return np.asarray(crop_u8, dtype=np.float64) / 255.0 * LUNG_WINDOW.width_hu + LUNG_WINDOW.low_hu


def crop_radiomics(crop_u8: NDArray[np.uint8]) -> dict[str, float]:
    """Radiomics of a masked crop on the training scale: the one function used in training and on uploads.

    Args:
        crop_u8: (D, 64, 64) or (64, 64) uint8 masked crop (0 outside the nodule), pixels of
            ``TRAINING_PIXEL_MM``; slices assumed :data:`CROP_SLICE_MM` apart.

    Returns:
        ``{name: value}`` for every name in :data:`RADIOMICS_NAMES` (all finite).

    Raises:
        ValueError: the crop holds no masked voxel.
    """
    crop = np.asarray(crop_u8)
    if crop.ndim == 2:
        crop = crop[None]
    return radiomics(crop_to_hu(crop), crop > 0, (CROP_SLICE_MM, TRAINING_PIXEL_MM, TRAINING_PIXEL_MM))


def radiomics_matrix(crops: list[NDArray[np.uint8]] | tuple[NDArray[np.uint8], ...]) -> NDArray[np.float64]:
    """(N, len(RADIOMICS_NAMES)) radiomics of N masked crops (rows in input order)."""
    rows = [crop_radiomics(c) for c in crops]
    return np.array([[row[name] for name in RADIOMICS_NAMES] for row in rows], dtype=np.float64)


def radiomics(image_hu: NDArray[Any], mask: NDArray[Any], spacing_mm: tuple[float, float, float]) -> dict[str, float]:
    """IBSI-style shape, first-order, GLCM and GLRLM features of the region ``mask`` of ``image_hu``.

    Args:
        image_hu: (D, H, W) Hounsfield units.
        mask: (D, H, W) boolean segmentation, same shape.
        spacing_mm: (slice, row, column) voxel spacing in mm; all finite and positive.

    Returns:
        ``{name: value}`` for every name in :data:`RADIOMICS_NAMES`; volumes in mm^3, areas in mm^2, lengths in
        mm, intensities in HU, entropies in bits.

    Raises:
        ValueError: shapes differ, the spacing is not finite and positive, or the mask is empty.
    """
    image = np.asarray(image_hu, dtype=np.float64)
    roi = np.asarray(mask, dtype=bool)
    if image.shape != roi.shape or image.ndim != 3:
        raise ValueError(f"image and mask must be the same 3D shape, got {image.shape} and {roi.shape}")
    spacing = tuple(float(s) for s in spacing_mm)
    if len(spacing) != 3 or not all(np.isfinite(s) and s > 0 for s in spacing):
        raise ValueError(f"spacing must be three positive millimetre values, got {spacing_mm!r}")
    if not roi.any():
        raise ValueError("the segmentation mask is empty: no radiomics")
    # Work on the mask's bounding box only (texture and shape ignore everything outside).
    box = tuple(slice(int(ix.min()), int(ix.max()) + 1) for ix in np.nonzero(roi))
    image, roi = image[box], roi[box]
    values = image[roi]
    levels = np.zeros(image.shape, dtype=np.int64)
    levels[roi] = np.floor((values - _BIN_LOW_HU) / BIN_WIDTH_HU).astype(np.int64) + 1
    levels[roi] = np.maximum(levels[roi], 1)
    out: dict[str, float] = {}
    out.update(_shape(roi, spacing))
    out.update(_first_order(values, levels[roi]))
    out.update(_glcm(levels, roi))
    out.update(_glrlm(levels, roi))
    return {name: float(out[name]) for name in RADIOMICS_NAMES}


def _shape(roi: NDArray[np.bool_], spacing: tuple[float, float, float]) -> dict[str, float]:
    """Mesh-based morphology (IBSI 3.1): volume, area, sphericity, diameters, PCA axes."""
    from skimage.measure import marching_cubes, mesh_surface_area

    padded = np.pad(roi.astype(np.float32), 1)
    verts, faces, _, _ = marching_cubes(padded, level=0.5, spacing=spacing)
    area = float(mesh_surface_area(verts, faces))
    # Signed mesh volume (divergence theorem); faces from marching cubes are consistently oriented.
    a, b, c = verts[faces[:, 0]], verts[faces[:, 1]], verts[faces[:, 2]]
    volume = abs(float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum()) / 6.0)
    if volume <= 0:  # a degenerate mesh: fall back to the voxel volume
        volume = float(roi.sum()) * float(np.prod(spacing))
    sphericity = float((36.0 * np.pi * volume**2) ** (1.0 / 3.0) / area)
    max_3d = _max_distance(verts)
    coords = np.argwhere(roi).astype(np.float64) * np.asarray(spacing)
    if len(coords) > 1:
        eig = np.sort(np.clip(np.linalg.eigvalsh(np.cov(coords.T, bias=True)), 0.0, None))[::-1]
    else:
        eig = np.zeros(3)
    major, minor, least = (4.0 * np.sqrt(e) for e in eig)
    largest = int(np.argmax(roi.reshape(roi.shape[0], -1).sum(axis=1)))
    ys, xs = np.nonzero(roi[largest])
    max_2d = _max_distance(np.stack([ys * spacing[1], xs * spacing[2]], 1).astype(np.float64)) + 0.5 * (
        spacing[1] + spacing[2]
    )
    return {
        "shape_volume_mm3": volume,
        "shape_surface_area_mm2": area,
        "shape_surface_volume_ratio": area / volume,
        "shape_sphericity": sphericity,
        "shape_compactness2": sphericity**3,
        "shape_spherical_disproportion": 1.0 / sphericity,
        "shape_max_3d_diameter_mm": max_3d,
        "shape_major_axis_mm": major,
        "shape_minor_axis_mm": minor,
        "shape_least_axis_mm": least,
        "shape_elongation": float(np.sqrt(eig[1] / eig[0])) if eig[0] > 0 else 1.0,
        "shape_flatness": float(np.sqrt(eig[2] / eig[0])) if eig[0] > 0 else 1.0,
        "shape_max_2d_diameter_mm": max_2d,
    }


def _max_distance(points: NDArray[np.float64]) -> float:
    """Largest Euclidean distance between two of ``points`` (convex-hull vertices where the hull exists)."""
    if len(points) < 2:
        return 0.0
    from scipy.spatial import ConvexHull, QhullError

    with contextlib.suppress(QhullError, ValueError):  # flat or collinear: all points are kept
        points = points[ConvexHull(points).vertices]
    diff = points[:, None, :] - points[None, :, :]
    return float(np.sqrt((diff**2).sum(-1)).max())


def _first_order(values: NDArray[np.float64], levels: NDArray[np.int64]) -> dict[str, float]:
    """Intensity statistics (IBSI 3.3) on HU, and the discretised entropy and uniformity (IBSI 3.4)."""
    mean = float(values.mean())
    sd = float(values.std())
    centred = values - mean
    skewness = float((centred**3).mean() / sd**3) if sd > 0 else 0.0
    kurtosis = float((centred**4).mean() / sd**4 - 3.0) if sd > 0 else 0.0
    p10, p25, p50, p75, p90 = np.percentile(values, [10, 25, 50, 75, 90])
    _, counts = np.unique(levels, return_counts=True)
    prob = counts / counts.sum()
    return {
        "fo_mean": mean,
        "fo_sd": sd,
        "fo_skewness": skewness,
        "fo_kurtosis": kurtosis,
        "fo_median": float(p50),
        "fo_minimum": float(values.min()),
        "fo_maximum": float(values.max()),
        "fo_p10": float(p10),
        "fo_p90": float(p90),
        "fo_iqr": float(p75 - p25),
        "fo_mad": float(np.abs(centred).mean()),
        "fo_rms": float(np.sqrt((values**2).mean())),
        "fo_energy": float((values**2).sum()),
        "fo_entropy": float(-(prob * np.log2(prob)).sum()),
        "fo_uniformity": float((prob**2).sum()),
    }


def _pairs(levels: NDArray[np.int64], roi: NDArray[np.bool_], d: tuple[int, int, int]) -> tuple[Any, Any]:
    """Grey levels of every voxel pair (v, v + d) with both voxels in the mask."""
    shape = roi.shape
    src = tuple(slice(max(0, -k), n - max(0, k)) for k, n in zip(d, shape, strict=True))
    dst = tuple(slice(max(0, k), n - max(0, -k)) for k, n in zip(d, shape, strict=True))
    both = roi[src] & roi[dst]
    return levels[src][both], levels[dst][both]


def _glcm(levels: NDArray[np.int64], roi: NDArray[np.bool_]) -> dict[str, float]:
    """Grey-level co-occurrence features (IBSI 3.6), symmetric, distance 1, averaged over 13 directions."""
    n_levels = int(levels.max())
    per_direction: list[dict[str, float]] = []
    i_idx, j_idx = np.meshgrid(np.arange(1, n_levels + 1), np.arange(1, n_levels + 1), indexing="ij")
    for d in _DIRECTIONS:
        a, b = _pairs(levels, roi, d)
        if a.size == 0:
            continue
        m = np.zeros((n_levels, n_levels))
        np.add.at(m, (a - 1, b - 1), 1.0)
        m = m + m.T
        p = m / m.sum()
        pi, pj = p.sum(axis=1), p.sum(axis=0)
        levels_1d = np.arange(1, n_levels + 1)
        mu_i, mu_j = float((levels_1d * pi).sum()), float((levels_1d * pj).sum())
        sd_i = float(np.sqrt(((levels_1d - mu_i) ** 2 * pi).sum()))
        sd_j = float(np.sqrt(((levels_1d - mu_j) ** 2 * pj).sum()))
        diff = np.abs(i_idx - j_idx)
        nz = p > 0
        corr = float(((i_idx - mu_i) * (j_idx - mu_j) * p).sum() / (sd_i * sd_j)) if sd_i * sd_j > 0 else 1.0
        shade = i_idx + j_idx - mu_i - mu_j
        per_direction.append(
            {
                "glcm_joint_energy": float((p**2).sum()),
                "glcm_joint_entropy": float(-(p[nz] * np.log2(p[nz])).sum()),
                "glcm_contrast": float((diff**2 * p).sum()),
                "glcm_dissimilarity": float((diff * p).sum()),
                "glcm_homogeneity": float((p / (1.0 + diff)).sum()),
                "glcm_idm": float((p / (1.0 + diff**2)).sum()),
                "glcm_correlation": corr,
                "glcm_joint_average": mu_i,
                "glcm_cluster_shade": float((shade**3 * p).sum()),
                "glcm_cluster_prominence": float((shade**4 * p).sum()),
                "glcm_autocorrelation": float((i_idx * j_idx * p).sum()),
            }
        )
    if not per_direction:  # a single voxel: no neighbours in any direction
        return dict.fromkeys(GLCM_NAMES, 0.0) | {"glcm_joint_energy": 1.0, "glcm_homogeneity": 1.0, "glcm_idm": 1.0}
    return {name: float(np.mean([row[name] for row in per_direction])) for name in GLCM_NAMES}


def _shifted(padded: NDArray[np.int64], d: tuple[int, int, int], sign: int) -> NDArray[np.int64]:
    """The grey level of every voxel's neighbour ``sign * d`` (``padded``: the levels with a one-voxel border of 0)."""
    return padded[tuple(slice(1 + sign * step, padded.shape[a] - 1 + sign * step) for a, step in enumerate(d))]


def _runs(levels: NDArray[np.int64], roi: NDArray[np.bool_], d: tuple[int, int, int]) -> tuple[Any, Any]:
    """(grey level, run length) of every maximal run along direction ``d`` inside the mask (order unspecified).

    ``levels`` is 0 outside the mask and at least 1 inside, so a voxel starts a run where the voxel before it (along
    ``d``) has another level, and ends one where the voxel after it does. Every run has one start and one end on
    its line; sorted by (line, position along the line), the k-th start and the k-th end belong to the same run.
    """
    padded = np.pad(levels, 1)
    starts = np.argwhere(roi & (_shifted(padded, d, -1) != levels))
    ends = np.argwhere(roi & (_shifted(padded, d, 1) != levels))
    step = np.asarray(d, dtype=np.int64)
    axis = int(np.flatnonzero(step)[0])  # along d this coordinate moves by one each step
    extent = 3 * max(roi.shape) + 1  # the bound of |line origin coordinate| and position, for one integer key

    def order(points: NDArray[np.int64]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        position = points[:, axis] * step[axis]
        origin = points - position[:, None] * step + extent  # the same for every voxel of one line, all >= 0
        line = (origin[:, 0] * (2 * extent + 1) + origin[:, 1]) * (2 * extent + 1) + origin[:, 2]
        keys = line * (2 * extent + 1) + position + extent
        sort = np.argsort(keys, kind="stable")
        return points[sort], position[sort]

    first, first_position = order(starts)
    _, last_position = order(ends)
    return levels[tuple(first.T)], last_position - first_position + 1


def _glrlm(levels: NDArray[np.int64], roi: NDArray[np.bool_]) -> dict[str, float]:
    """Grey-level run-length features (IBSI 3.7), averaged over 13 directions."""
    n_voxels = float(roi.sum())
    per_direction = []
    for d in _DIRECTIONS:
        grey, length = _runs(levels, roi, d)
        # The distinct (grey, length) pairs in lexicographic order with their counts, through one integer key
        # (length < base): as np.unique(axis=0) gives them, without its slow row-wise sort.
        base = int(length.max()) + 1
        pair_keys, counts = np.unique(grey * base + length, return_counts=True)
        keys = np.stack([pair_keys // base, pair_keys % base], 1)
        g_arr = keys[:, 0].astype(np.float64)
        r_arr = keys[:, 1].astype(np.float64)
        c_arr = counts.astype(np.float64)
        n_runs = c_arr.sum()
        p = c_arr / n_runs
        per_grey = np.bincount(keys[:, 0], weights=c_arr)
        per_run = np.bincount(keys[:, 1], weights=c_arr)
        mu_g = float((g_arr * p).sum())
        mu_r = float((r_arr * p).sum())
        per_direction.append(
            {
                "glrlm_sre": float((c_arr / r_arr**2).sum() / n_runs),
                "glrlm_lre": float((c_arr * r_arr**2).sum() / n_runs),
                "glrlm_lgre": float((c_arr / g_arr**2).sum() / n_runs),
                "glrlm_hgre": float((c_arr * g_arr**2).sum() / n_runs),
                "glrlm_gln_norm": float((per_grey**2).sum() / n_runs**2),
                "glrlm_rln_norm": float((per_run**2).sum() / n_runs**2),
                "glrlm_run_percentage": float(n_runs / n_voxels),
                "glrlm_gl_variance": float(((g_arr - mu_g) ** 2 * p).sum()),
                "glrlm_run_variance": float(((r_arr - mu_r) ** 2 * p).sum()),
                "glrlm_run_entropy": float(-(p * np.log2(p)).sum()),
            }
        )
    return {name: float(np.mean([row[name] for row in per_direction])) for name in GLRLM_NAMES}


def estimate_slice_mm(crops: list[NDArray[np.uint8]] | tuple[NDArray[np.uint8], ...]) -> float:
    """Median over crops of (largest in-plane diameter in mm / number of masked slices): how :data:`CROP_SLICE_MM`
    was chosen (the slice spacing that makes the median nodule as deep as it is wide)."""
    ratios = []
    for crop in crops:
        roi = np.asarray(crop) > 0
        depth = int(roi.reshape(roi.shape[0], -1).any(axis=1).sum())
        if depth == 0:
            continue
        largest = int(np.argmax(roi.reshape(roi.shape[0], -1).sum(axis=1)))
        ys, xs = np.nonzero(roi[largest])
        width = _max_distance(np.stack([ys, xs], 1).astype(np.float64)) + 1.0
        ratios.append(width * TRAINING_PIXEL_MM / depth)
    return float(np.median(ratios))
