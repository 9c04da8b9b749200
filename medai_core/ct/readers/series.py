"""DICOM series: slice spacing from positions or the header, and a series assembled from its single-slice files.

A zip's files are one series (by SeriesInstanceUID) once localizer (scout, topogram) images are left out; its slices
must share orientation and pixel spacing and are ordered by ImagePositionPatient along the slice normal (by
InstanceNumber where no file has a position, with a note that the direction is unknown). Every slice spacing, from
tags, positions or per-frame positions, has one floor and ceiling
(:data:`~medai_core.ct.dicom_checks.SLICE_SPACING_MM`); duplicate slices, gaps and uneven steps are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from medai_core.config import CT_MAX_VOXELS
from medai_core.ct.dicom_checks import SLICE_SPACING_MM, check_pixel_data, implausible_hu, tag_numbers, tag_value
from medai_core.ct.readers.header import (
    deidentify,
    header_region_terms,
    pixel_spacing,
    shown_metadata,
    slice_normal,
    tilt_note,
)
from medai_core.ct.readers.pixels import pixels_hu
from medai_core.ct.readers.study import CTStudy, check_size
from medai_core.errors import ImageInputError

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["MAX_SLICE_SPACING_MM", "check_spacing", "header_slice_spacing", "one_series", "series_study"]

MAX_SLICE_SPACING_MM = SLICE_SPACING_MM[1]  # slices further apart than this are not one CT series
_IRREGULAR_SPACING = 0.1  # slice steps differing from their median by more than this fraction are not one spacing


def header_slice_spacing(ds: Dataset, name: str) -> tuple[float | None, str]:
    """SpacingBetweenSlices, else SliceThickness (validated), else None; and a note saying which was used."""
    spacing = tag_numbers(ds, "SpacingBetweenSlices", name)
    if spacing is not None:
        return spacing[0], f"slice spacing {spacing[0]:g} mm from SpacingBetweenSlices (no slice positions)"
    thickness = tag_numbers(ds, "SliceThickness", name)
    if thickness is not None:
        return thickness[0], (
            f"slice spacing taken as the slice thickness, {thickness[0]:g} mm (no slice positions): wrong for "
            "overlapping or gapped reconstructions, so volumes are approximate"
        )
    return None, "slice spacing unknown (no slice positions, thickness or spacing in the header): no volume"


def check_spacing(positions: Sequence[float], what: str) -> float | None:
    """Median slice spacing after checking for duplicates and gaps (positions sorted ascending)."""
    if len(positions) < 2:
        return None
    steps = np.diff(np.asarray(positions, dtype=float))
    duplicates = np.flatnonzero(steps < 1e-3)
    if duplicates.size:
        at = positions[int(duplicates[0])]
        raise ImageInputError(
            f"{what} holds {duplicates.size} duplicate slice(s) (two images at the same position, e.g. "
            f"{at:.1f} mm). Export each slice once, from one series."
        )
    spacing = float(np.median(steps))
    low, high = SLICE_SPACING_MM
    if not (np.isfinite(spacing) and spacing <= high):
        raise ImageInputError(
            f"{what}: its slices are {spacing:.3g} mm apart, more than the {high:g} mm of any CT "
            "series; the positions in the header are wrong or the files are not one series."
        )
    if spacing < low:
        raise ImageInputError(
            f"{what}: its slices are {spacing:.3g} mm apart by their positions, less than the {low:g} mm of the "
            "thinnest CT reconstruction (the same floor as for SliceThickness and SpacingBetweenSlices); the "
            "positions in the header are wrong, and volumes measured with them would be wrong. Export the series "
            "again."
        )
    gaps = np.flatnonzero(steps > 1.5 * spacing)
    if gaps.size:
        first = int(gaps[0])
        raise ImageInputError(
            f"{what} has {gaps.size} gap(s) between slices (e.g. {steps[first]:.1f} mm between positions "
            f"{positions[first]:.1f} and {positions[first + 1]:.1f} mm, where slices are {spacing:.1f} mm apart): "
            "slices are missing. Export the complete series."
        )
    irregular = np.flatnonzero(np.abs(steps - spacing) > _IRREGULAR_SPACING * spacing)
    if irregular.size:
        first = int(irregular[0])
        raise ImageInputError(
            f"{what}: its slices are not evenly spaced ({steps[first]:.2f} mm between positions "
            f"{positions[first]:.1f} and {positions[first + 1]:.1f} mm, where most are {spacing:.2f} mm apart), "
            "so no single slice spacing measures it. Export one reconstruction with one slice spacing."
        )
    return spacing


def _is_localizer(ds: Dataset, name: str) -> bool:
    """Whether ImageType names a localizer (scout, topogram, surview) image."""
    value = tag_value(ds, "ImageType", name)
    parts = [value] if isinstance(value, str) else list(value or [])
    return any(str(p).strip().upper() == "LOCALIZER" for p in parts)


def _same_in_all(items: list[tuple[str, Dataset]], keyword: str, what: str, name: str) -> None:
    """Refuse a series whose slices differ in a numeric tag (absent in all is allowed)."""
    found = {tag_numbers(ds, keyword, PurePosixPath(f).name) for f, ds in items}
    rounded = {None if v is None else tuple(round(x, 3) for x in v) for v in found}
    if len(rounded) > 1:
        raise ImageInputError(
            f"{name} mixes slices of different {what} ({keyword}: {len(rounded)} different values). One series has "
            "one; zip the slices of one reconstruction only."
        )


def _merge_counted_notes(notes: Sequence[str]) -> list[str]:
    """Per-slice notes merged: equal notes once, and notes that differ only in a leading count summed ("3 padding
    pixel(s) ..." and "5 padding pixel(s) ..." give "8 padding pixel(s) ...")."""
    counted: dict[str, int] = {}
    for note in notes:
        head, _, rest = note.partition(" ")
        key = rest if head.isdigit() else note
        counted[key] = counted.get(key, 0) + (int(head) if head.isdigit() else 0)
    return [f"{count} {key}" if count else key for key, count in counted.items()]


def one_series(datasets: list[tuple[str, Dataset]], name: str) -> tuple[list[tuple[str, Dataset]], int]:
    """The files of the one series among ``datasets`` (``(member name, dataset)``), localizers left out, and how
    many localizers were left out.

    Raises:
        ImageInputError: only localizers, or more than one series.
    """
    scouts = [item for item in datasets if _is_localizer(item[1], PurePosixPath(item[0]).name)]
    if len(scouts) == len(datasets):
        raise ImageInputError(
            f"{name} holds only localizer (scout) images, no CT slices. Zip the axial series of the chest."
        )
    series: dict[str, list[tuple[str, Dataset]]] = {}
    for filename, ds in datasets:
        if not any(ds is scout for _, scout in scouts):  # a scout, in the series or in its own, is no slice
            series.setdefault(str(ds.get("SeriesInstanceUID", "unknown")), []).append((filename, ds))
    if len(series) > 1:
        sizes = sorted((len(v) for v in series.values()), reverse=True)
        raise ImageInputError(
            f"{name} mixes {len(series)} DICOM series (with {', '.join(map(str, sizes))} slices). "
            "Zip one series only: the one in which the nodule is seen."
        )
    return next(iter(series.values())), len(scouts)


def series_study(items: list[tuple[str, Dataset]], name: str, *, scouts: int = 0) -> CTStudy:
    """The study of a series of two or more single-slice files (``(member name, dataset)`` of :func:`one_series`).

    Args:
        items: the series' files, in any order.
        name: how messages refer to the upload.
        scouts: how many localizer images were left out (noted).

    Raises:
        ImageInputError: a multi-frame file among them, slices that differ in orientation, pixel spacing or size,
            more voxels than :data:`~medai_core.config.CT_MAX_VOXELS`, unknown order, duplicate, missing or unevenly
            spaced slices, or values that are not a chest CT's; any per-file DICOM problem.
    """
    _check_series_header(items, name)
    first = items[0][1]
    normal = slice_normal(first, name)
    tilt = tilt_note(normal, name)
    order, slice_spacing, ordered_by, spacing_source = _slice_order(items, normal, name)
    hu, pixel_notes = _decode_series(items, order, name)
    spacing, spacing_note = pixel_spacing(first, name)
    fmt = "DICOM series (zip)"
    notes = [
        f"{hu.shape[0]} slices ordered by {ordered_by}",
        "header de-identified (DICOM PS3.15 basic profile, allow-list) before display",
        f"{scouts} localizer (scout) image(s) left out" if scouts else None,
        spacing_note,
        tilt,
        spacing_source,
        *pixel_notes,
    ]
    return CTStudy(
        hu=hu,
        spacing_mm=spacing,
        slice_spacing_mm=slice_spacing,
        source_format=fmt,
        metadata=shown_metadata(deidentify(first), fmt, hu.shape[0]),
        notes=tuple(n for n in notes if n),
        region_terms=header_region_terms(first),
    )


def _check_series_header(items: list[tuple[str, Dataset]], name: str) -> None:
    """Refuse, before any pixel is decoded, a series with a multi-frame file, mixed orientations or pixel spacings,
    or more voxels in all than :data:`~medai_core.config.CT_MAX_VOXELS`."""
    frame_counts = [tag_numbers(ds, "NumberOfFrames", PurePosixPath(f).name) for f, ds in items]
    if any(n is not None and n[0] > 1 for n in frame_counts):
        raise ImageInputError(
            f"{name} holds a multi-frame DICOM file beside other files of its series; zip either the one "
            "multi-frame file or the single-slice files, not both."
        )
    _same_in_all(items, "ImageOrientationPatient", "orientation", name)
    _same_in_all(items, "PixelSpacing", "pixel spacing", name)
    declared = [check_pixel_data(ds, PurePosixPath(f).name, CT_MAX_VOXELS) for f, ds in items]
    total = sum(f * r * c for f, r, c in declared)
    if total > CT_MAX_VOXELS:
        raise ImageInputError(
            f"{name} declares {total:,} voxels in {len(items)} files, above the {CT_MAX_VOXELS:,}-voxel limit of this "
            "tool; it was not decoded. Zip the slices around the nodule."
        )


def _slice_order(
    items: list[tuple[str, Dataset]], normal: NDArray[np.float64], name: str
) -> tuple[NDArray[np.intp], float | None, str, str | None]:
    """(the slices' order, slice spacing, what they were ordered by, a note where the spacing came from the header).

    By ImagePositionPatient along ``normal`` where every file has one; else by InstanceNumber, the spacing then
    from the first file's header.

    Raises:
        ImageInputError: neither tag in every file, or duplicate, missing or unevenly spaced slices.
    """
    positions = [tag_numbers(ds, "ImagePositionPatient", PurePosixPath(f).name) for f, ds in items]
    numbers = [tag_numbers(ds, "InstanceNumber", PurePosixPath(f).name) for f, ds in items]
    if all(p is not None for p in positions):
        keys = [float(np.array(p, dtype=float) @ normal) for p in positions]
        ordered_by = "ImagePositionPatient"
    elif all(n is not None for n in numbers):
        keys = [float(n[0]) if n is not None else 0.0 for n in numbers]
        ordered_by = "InstanceNumber (no ImagePositionPatient; the direction, feet or head first, is not known)"
    else:
        raise ImageInputError(
            f"{name}: its slices carry neither ImagePositionPatient nor InstanceNumber in every file, so their order "
            "is unknown. Export the series again from the PACS."
        )
    order = np.argsort(keys, kind="stable")
    slice_spacing = check_spacing([keys[i] for i in order], name)
    spacing_source = None
    if ordered_by != "ImagePositionPatient":
        slice_spacing, spacing_source = header_slice_spacing(items[0][1], name)
    return order, slice_spacing, ordered_by, spacing_source


def _decode_series(
    items: list[tuple[str, Dataset]], order: NDArray[np.intp], name: str
) -> tuple[NDArray[np.float32], list[str]]:
    """The slices' Hounsfield units stacked in ``order`` (D, H, W), and their notes merged.

    Raises:
        ImageInputError: any per-slice problem, slices of different sizes, too small an image, or a series whose
            values are not a chest CT's (the air rule holds for the series, not for each slice: some lie below the
            lungs).
    """
    decoded = [
        pixels_hu(items[i][1], PurePosixPath(items[i][0]).name, CT_MAX_VOXELS, whole_volume=False) for i in order
    ]
    volumes = [v for v, _ in decoded]
    pixel_notes = _merge_counted_notes([n for _, notes in decoded for n in notes])
    shapes = {v.shape[1:] for v in volumes}
    if len(shapes) != 1:
        raise ImageInputError(f"the slices in {name} differ in size ({sorted(shapes)}); one series has one size")
    hu = np.concatenate(volumes)
    check_size(hu.shape[1:], "DICOM")
    physics = implausible_hu(hu)
    if physics is not None:
        raise ImageInputError(
            f"{name}: the series' values are not a chest CT's Hounsfield units: {physics}. The rescale fields are "
            "wrong, or this is not a chest CT."
        )
    return hu, pixel_notes
