"""What every CT reader returns (:class:`CTStudy`), the limits shared by the readers, and the study of lung-window
grey values (plain images, slice folders, synthetic phantoms).

Plain images carry no Hounsfield units; they are taken to be in the training crops' lung window (width 1500 HU,
level -600 HU, mapped to 0..255) and mapped back to HU with the inverse of that window. They carry no pixel size
either, and the model's probability depends on it (a nodule drawn with twice the pixels looks twice as large). So
a plain image is used without a pixel size only when it already *is* a nodule crop in the training format
(64 x 64, masked outside the nodule, lung window); any other image needs its pixel size from the user
(:func:`with_pixel_size`; ``--pixel-mm`` on the command line, a number input on the page), never an assumed one.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from medai_core.ct.prepare import LUNG_WINDOW
from medai_core.errors import ImageInputError

__all__ = [
    "ACCEPTED",
    "LIBRARY_ERRORS",
    "MIN_IMAGE_SIDE",
    "PIXEL_MM_RANGE",
    "TRAINING_CROP_SIDE",
    "CTStudy",
    "check_pixel_mm",
    "check_size",
    "study_from_u8",
    "with_pixel_size",
]

ACCEPTED = (
    "Accepted: a PNG, JPEG or TIFF image (a nodule crop or a whole slice in a lung window), a DICOM CT file "
    "(single or multi-frame), or a zip of one DICOM CT series."
)
MIN_IMAGE_SIDE = 16  # pixels: below this an image cannot hold a nodule and its margin
PIXEL_MM_RANGE = (0.05, 5.0)  # mm: a CT pixel (or a crop's enlarged pixel) outside this is a typing error
TRAINING_CROP_SIDE = 64  # the training crops' side in pixels (see ct/prepare.py CROP_SIZE)
_MAX_MASKED_CROP_SIDE = 256  # a masked crop larger than this is taken for a whole image
LIBRARY_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    ArithmeticError,  # OverflowError, ZeroDivisionError
    NotImplementedError,
    RuntimeError,  # includes RecursionError on deeply nested sequences
    OSError,
    EOFError,
    struct.error,
    zlib.error,
    zipfile.BadZipFile,
    UnicodeError,
    SyntaxError,  # PIL raises it on broken PNG chunks
)
"""Exception families the image, DICOM and zip libraries raise on hostile bytes; caught at the reader boundary."""


@dataclass(frozen=True)
class CTStudy:
    """One CT input, ready for windowing and segmentation.

    Attributes:
        hu: float32 (D, H, W) in Hounsfield units, slices in patient order (inferior to superior for series).
        spacing_mm: (row, column) pixel spacing in mm, or None where the input does not say (plain images).
        slice_spacing_mm: distance between slice centres in mm, or None (single slices, plain images).
        source_format: e.g. ``"PNG"``, ``"DICOM"``, ``"DICOM multi-frame"``, ``"DICOM series (zip)"``.
        is_masked_crop: True when the input already is a masked nodule crop (0 outside the nodule), as in the
            training data; such inputs need no seed point.
        metadata: de-identified, display-safe header fields (strings).
        notes: what the reader assumed or changed, for the page and the report.
        coloured_pixels: pixels of a decoded image whose channels differ (a colour image; 0 for DICOM).
        camera: the camera maker and model an image's EXIF names ("" where none: not a camera photograph).
        region_terms: body-region words found in the DICOM header (``(keyword, term)``, see
            :func:`medai_core.ct.appropriateness.region_terms`; the header's free text itself is not kept).
    """

    hu: NDArray[np.float32]
    spacing_mm: tuple[float, float] | None
    slice_spacing_mm: float | None
    source_format: str
    is_masked_crop: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    coloured_pixels: int = 0
    camera: str = ""
    region_terms: tuple[tuple[str, str], ...] = ()

    @property
    def shape(self) -> tuple[int, int, int]:
        """(D, H, W)."""
        d, h, w = self.hu.shape
        return int(d), int(h), int(w)

    @property
    def is_training_format_crop(self) -> bool:
        """A masked crop of exactly the training crops' size (64 x 64): usable without a pixel size."""
        return self.is_masked_crop and self.shape[1:] == (TRAINING_CROP_SIDE, TRAINING_CROP_SIDE)

    @property
    def needs_pixel_size(self) -> bool:
        """True when the pixel size is unknown and the input is not a training-format crop: it must be given."""
        return self.spacing_mm is None and not self.is_training_format_crop


def check_pixel_mm(pixel_mm: float) -> float:
    """Validate a pixel size typed by the user (mm).

    Raises:
        ImageInputError: not a finite number within :data:`PIXEL_MM_RANGE`.
    """
    low, high = PIXEL_MM_RANGE
    try:
        value = float(pixel_mm)
    except (TypeError, ValueError):
        value = float("nan")
    if not (np.isfinite(value) and low <= value <= high):
        raise ImageInputError(
            f"the pixel size must be a number of millimetres between {low:g} and {high:g} (CT pixels are usually "
            f"0.5-1.0 mm); got {pixel_mm!r}"
        )
    return value


def with_pixel_size(study: CTStudy, pixel_mm: float | None) -> CTStudy:
    """``study`` with its in-plane pixel size set by the user where the input itself carries none.

    Args:
        study: as read.
        pixel_mm: the square pixel's side in mm, or None (``study`` returned unchanged).

    Returns:
        the same study where ``pixel_mm`` is None; where the header already gives a spacing, that spacing is kept
        and a note says the typed value was not used; otherwise the study with ``spacing_mm = (pixel_mm,
        pixel_mm)`` and a note.

    Raises:
        ImageInputError: ``pixel_mm`` is not a plausible pixel size.
    """
    if pixel_mm is None:
        return study
    value = check_pixel_mm(pixel_mm)
    if study.spacing_mm is not None:
        note = (
            f"the typed pixel size {value:g} mm was not used: the file's header gives "
            f"{study.spacing_mm[0]:g} x {study.spacing_mm[1]:g} mm"
        )
        return replace(study, notes=(*study.notes, note))
    kept = [n for n in study.notes if "pixel size unknown" not in n]
    note = f"pixel size {value:g} mm as given by the user (the image carries none); resampled to the model's pixel size"
    return replace(study, spacing_mm=(value, value), notes=(*kept, note))


def _u8_to_hu(u8: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Inverse of the lung window 1500/-600 that maps HU to 0..255."""
    return (u8.astype(np.float32) / 255.0 * LUNG_WINDOW.width_hu + LUNG_WINDOW.low_hu).astype(np.float32)


def _looks_like_masked_crop(volume_u8: NDArray[np.uint8]) -> bool:
    """A masked crop: small, at least half exactly 0, and its non-zero pixels form one blob away from the border."""
    from scipy import ndimage

    if max(volume_u8.shape[1:]) > _MAX_MASKED_CROP_SIDE:
        return False
    if (volume_u8 == 0).mean() < 0.5 or not (volume_u8 > 0).any():
        return False
    labels, count = ndimage.label(volume_u8 > 0)
    return bool(count >= 1 and np.bincount(labels.ravel())[1:].max() >= 0.6 * (volume_u8 > 0).sum())


def study_from_u8(volume_u8: NDArray[np.uint8], source_format: str, notes: Sequence[str] = ()) -> CTStudy:
    """A study from lung-window grey values (D, H, W) (plain images, slice folders, synthetic phantoms).

    Raises:
        ImageInputError: the image is smaller than :data:`MIN_IMAGE_SIDE` on a side.
    """
    volume_u8 = np.asarray(volume_u8, dtype=np.uint8)
    if volume_u8.ndim == 2:
        volume_u8 = volume_u8[None]
    check_size(volume_u8.shape[1:], source_format)
    crop = _looks_like_masked_crop(volume_u8)
    assumed = "grey values taken as the lung window W1500/L-600 (0..255)"
    if crop and volume_u8.shape[1:] == (TRAINING_CROP_SIDE, TRAINING_CROP_SIDE):
        shape_note = (
            "masked 64 x 64 nodule crop in the training format: used as is, no seed needed; its pixels are taken to "
            "be the training crops' pixel size (the image carries none), and the probability depends on it"
        )
    elif crop:
        shape_note = (
            f"masked nodule crop of {volume_u8.shape[2]} x {volume_u8.shape[1]} pixels, not the training format "
            "(64 x 64): pixel size unknown, it must be given"
        )
    else:
        shape_note = "pixel size unknown: the image carries none, it must be given"
    return CTStudy(
        hu=_u8_to_hu(volume_u8),
        spacing_mm=None,
        slice_spacing_mm=None,
        source_format=source_format,
        is_masked_crop=crop,
        metadata={"Format": source_format, "Slices": str(volume_u8.shape[0])},
        notes=(assumed, shape_note, *notes),
    )


def check_size(shape: Sequence[int], what: str) -> None:
    """Refuse an image smaller than :data:`MIN_IMAGE_SIDE` on a side (``shape`` is (H, W); ``what`` names its format).

    Raises:
        ImageInputError: a side is below :data:`MIN_IMAGE_SIDE`.
    """
    if min(shape) < MIN_IMAGE_SIDE:
        raise ImageInputError(
            f"the {what} image is {shape[1]} x {shape[0]} pixels, too small to hold a nodule and its margin "
            f"(at least {MIN_IMAGE_SIDE} x {MIN_IMAGE_SIDE} needed). Upload the whole slice or a larger crop."
        )
