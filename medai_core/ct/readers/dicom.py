"""One DICOM CT file: a single slice or an (enhanced) multi-frame volume.

The frames of a multi-frame file are ordered by their per-frame ImagePositionPatient along the slice normal, with
the slice spacing from those positions; where the header gives no position per frame they stay in file order and
the spacing comes from SpacingBetweenSlices or SliceThickness, with a note.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from medai_core.config import CT_MAX_VOXELS
from medai_core.ct.dicom_checks import tag_numbers
from medai_core.ct.readers.header import (
    deidentify,
    header_region_terms,
    parse_dicom,
    pixel_spacing,
    shown_metadata,
    slice_normal,
    tilt_note,
)
from medai_core.ct.readers.pixels import pixels_hu
from medai_core.ct.readers.series import check_spacing, header_slice_spacing
from medai_core.ct.readers.study import CTStudy, check_size
from medai_core.errors import ImageInputError

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["dataset_study", "read_dicom"]


def read_dicom(data: bytes, *, name: str = "the DICOM file") -> CTStudy:
    """Read one DICOM CT file: a single slice or an (enhanced) multi-frame volume.

    Raises:
        ImageInputError: not DICOM, truncated or corrupt, not CT, no pixel data, sagittal or coronal, or too
            small.
    """
    return dataset_study(parse_dicom(data, name), name)


def dataset_study(ds: Dataset, name: str) -> CTStudy:
    """The study of one parsed DICOM CT file (single slice or multi-frame); see :func:`read_dicom`."""
    spacing, spacing_note = pixel_spacing(ds, name)
    tilt = tilt_note(slice_normal(ds, name), name)
    hu, pixel_notes = pixels_hu(ds, name, CT_MAX_VOXELS)
    check_size(hu.shape[1:], "DICOM")
    slice_spacing: float | None = None
    order_note = None
    fmt = "DICOM"
    if hu.shape[0] > 1:
        fmt = "DICOM multi-frame"
        positions = _frame_positions(ds, name)
        if positions is not None and len(positions) == hu.shape[0]:
            order = np.argsort(positions)
            hu = hu[order]
            slice_spacing = check_spacing([positions[i] for i in order], name)
        else:
            slice_spacing, spacing_source = header_slice_spacing(ds, name)
            order_note = f"frames kept in file order (the header gives no position per frame); {spacing_source}"
    clean = deidentify(ds)
    notes = [spacing_note, tilt, order_note, *pixel_notes]
    return CTStudy(
        hu=hu,
        spacing_mm=spacing,
        slice_spacing_mm=slice_spacing,
        source_format=fmt,
        metadata=shown_metadata(clean, fmt, hu.shape[0]),
        region_terms=header_region_terms(ds),
        notes=(
            "header de-identified (DICOM PS3.15 basic profile, allow-list) before display",
            *(n for n in notes if n),
        ),
    )


def _frame_positions(ds: Dataset, name: str) -> list[float] | None:
    """Per-frame position along the slice normal for an enhanced multi-frame CT, or None."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            groups = ds.get("PerFrameFunctionalGroupsSequence")
            items = [g.get("PlanePositionSequence") for g in groups] if groups else None
    except Exception as exc:
        raise ImageInputError(
            f"{name}: the per-frame groups of the DICOM header cannot be read ({type(exc).__name__}); the file is "
            "corrupt"
        ) from None
    if not items or not all(items):
        return None
    positions = []
    for item in items:
        values = tag_numbers(item[0], "ImagePositionPatient", name)
        if values is None:
            return None
        positions.append(np.array(values, dtype=float))
    normal = slice_normal(ds, name)
    return [float(p @ normal) for p in positions]
