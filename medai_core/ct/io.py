"""Readers for CT inputs: images (PNG/JPEG/TIFF), a folder of slice images, DICOM files and zipped DICOM series.

Every reader returns a :class:`CTStudy`: the image in Hounsfield units, its spacing where known, and a
*de-identified* metadata dict. DICOM headers are de-identified (the DICOM PS3.15 Annex E basic application level
confidentiality profile, by allow-list: :mod:`medai_core.deid`) before any field is copied out, so nothing
identifying reaches the page, the report, the audit log or a log line. Uploads stay in memory.

Plain images carry no Hounsfield units; they are taken to be in the training crops' lung window (width 1500 HU,
level -600 HU, mapped to 0..255) and mapped back to HU with the inverse of that window. They carry no pixel size
either, and the model's probability depends on it (a nodule drawn with twice the pixels looks twice as large). So
a plain image is used without a pixel size only when it already *is* a nodule crop in the training format
(64 x 64, masked outside the nodule, lung window); any other image needs its pixel size from the user
(:func:`with_pixel_size`; ``--pixel-mm`` on the command line, a number input on the page), never an assumed one.

DICOM: Hounsfield units come from RescaleSlope/RescaleIntercept at the top level, in the shared or in the
per-frame functional groups (Enhanced CT); a RescaleType other than HU, a colour model other than MONOCHROME1/2
and secondary captures are refused; MONOCHROME1 is not inverted (it inverts the display only); PixelPaddingValue
pixels below air become air (-1024 HU). The pixel size is PixelSpacing (top level, shared or per-frame), never
ImagerPixelSpacing. Slices run feet to head along the ImageOrientationPatient normal; sagittal and coronal slices,
mixed orientations or pixel sizes, uneven slice steps and unknown order are refused, localizers left out, and
gantry tilt and every assumed spacing or order noted. The tag tables are in :mod:`medai_core.ct.dicom_checks`; every
attribute read must have the VR and number of values DICOM PS3.6 gives it (:mod:`medai_core.ct.dicom_dictionary`).
Stored values must lie within BitsStored and PixelRepresentation, and the Hounsfield units within what a chest CT
holds (:func:`~medai_core.ct.dicom_checks.implausible_hu`); a file whose pixel bytes are in the other byte order is
refused as such. Every slice spacing, from tags, positions or per-frame positions, has one floor and ceiling
(:data:`~medai_core.ct.dicom_checks.SLICE_SPACING_MM`).
"""

from __future__ import annotations

import io
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core import untrusted
from medai_core.config import CT_MAX_IMAGE_PIXELS, CT_MAX_VOXELS, get_settings
from medai_core.ct.dicom_checks import (
    AIR_HU,
    HU_RANGE,
    IMPLAUSIBLE_SHARE,
    SLICE_SPACING_MM,
    check_deflate_size,
    check_pixel_data,
    has_tag,
    implausible_hu,
    is_native,
    orientation_normal,
    outside_stored_range,
    stored_value_range,
    tag_code,
    tag_numbers,
    tag_value,
)
from medai_core.ct.prepare import LUNG_WINDOW
from medai_core.deid import deidentify_dataset
from medai_core.errors import ImageInputError, InputError
from medai_core.files import read_input_file

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = [
    "ACCEPTED",
    "CTStudy",
    "MIN_IMAGE_SIDE",
    "PIXEL_MM_RANGE",
    "check_pixel_mm",
    "deidentify",
    "read_ct",
    "read_ct_path",
    "read_dicom",
    "read_dicom_zip",
    "read_slice_folder",
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
MAX_SLICE_SPACING_MM = SLICE_SPACING_MM[1]  # slices further apart than this are not one CT series
_IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF"}  # untrusted.sniff's kind -> the name shown
_ZIP_ADVICE = "Zip the folder of the one DICOM CT series that holds the nodule."
MAX_TILT_DEG = 45.0  # slices tilted further than this from axial are sagittal or coronal, not (tilted) axial
_TILT_NOTE_DEG = 0.5  # a tilt above this is reported (gantry tilt or oblique reconstruction)
_MAX_PADDING_SHARE = 0.9  # outside the circular field of view is ~21 % of a square slice; beyond 90 % the header lies
_AIR_CHECK_HU = -500.0  # a CT slice holds air or lung at or below this; stored values that never reach it are not HU
_IRREGULAR_SPACING = 0.1  # slice steps differing from their median by more than this fraction are not one spacing
_LIBRARY_ERRORS: tuple[type[BaseException], ...] = (
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
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"  # and its multi-frame variants .7.1 to .7.4
_CT_SOP_CLASSES = {"1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.5.1.4.1.1.2.2"}
_NUMBERED = re.compile(r"^(\d+)\.(png|jpe?g|tiff?)$", re.IGNORECASE)

_SHOWN = (
    "Modality",
    "Manufacturer",
    "ManufacturerModelName",
    "BodyPartExamined",
    "KVP",
    "ConvolutionKernel",
    "SliceThickness",
    "PixelSpacing",
    "Rows",
    "Columns",
    "RescaleSlope",
    "RescaleIntercept",
    "PatientIdentityRemoved",
    "DeidentificationMethod",
)


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
    _check_size(volume_u8.shape[1:], source_format)
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


def _check_size(shape: Sequence[int], what: str) -> None:
    if min(shape) < MIN_IMAGE_SIDE:
        raise ImageInputError(
            f"the {what} image is {shape[1]} x {shape[0]} pixels, too small to hold a nodule and its margin "
            f"(at least {MIN_IMAGE_SIDE} x {MIN_IMAGE_SIDE} needed). Upload the whole slice or a larger crop."
        )


def _decode_gray(data: bytes, name: str, counts: dict[str, Any] | None = None) -> NDArray[np.uint8]:
    """All frames of an image file as uint8 grey (D, H, W); what was changed to get there is added to ``counts``
    (see :func:`_decoding_notes`).

    The EXIF orientation of a photo or export is applied (the pixels are then as a viewer shows them, so a
    nodule centre read off the screen points at the nodule); transparent pixels are read as black (0, masked),
    whatever colour lies under them; a colour image is turned grey with a note that counts its coloured pixels
    (annotations drawn in colour become grey values that look like tissue).

    The size is checked from the image header before any pixel is decoded (:data:`CT_MAX_IMAGE_PIXELS` per frame,
    :data:`CT_MAX_VOXELS` in all), and every PIL error, including its decompression-bomb check, is an
    ImageInputError.
    """
    import warnings

    from PIL import Image, ImageSequence

    frames = []
    counts = _new_counts() if counts is None else counts
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
                count = int(getattr(image, "n_frames", 1) or 1)
                if width * height > CT_MAX_IMAGE_PIXELS or width * height * count > CT_MAX_VOXELS:
                    raise ImageInputError(
                        f"{name} declares {width} x {height} pixels x {count} frame(s), far larger than any CT "
                        "image; it was not decoded."
                    )
                for frame in ImageSequence.Iterator(image):
                    frame.load()
                    if frame.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                        raise ImageInputError(
                            f"{name} is a 16-bit or float image; its values have no known Hounsfield scale. Upload "
                            "the DICOM file instead, or an 8-bit image in a lung window."
                        )
                    frames.append(_frame_gray(frame, counts))
        except ImageInputError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageInputError(
                f"{name} declares an image far larger than any CT image (a decompression bomb); it was not decoded."
            ) from None
        except MemoryError:
            raise ImageInputError(f"{name} is too large to decode in memory; it was not read.") from None
        except _LIBRARY_ERRORS as exc:
            raise ImageInputError(f"{name} is not a readable image ({type(exc).__name__}). {ACCEPTED}") from None
    if not frames:
        raise ImageInputError(f"{name} holds no image frame. {ACCEPTED}")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise ImageInputError(f"the frames of {name} differ in size ({sorted(shapes)}); they must match")
    return np.stack(frames)


def _new_counts() -> dict[str, Any]:
    return {"rotated": 0, "transparent": 0, "coloured": 0, "camera": ""}


def _image_study(volume_u8: NDArray[np.uint8], source_format: str, counts: dict[str, Any]) -> CTStudy:
    """:func:`study_from_u8` of a decoded image, carrying its coloured-pixel count and EXIF camera (checked before
    any score by :mod:`medai_core.ct.appropriateness`)."""
    study = study_from_u8(volume_u8, source_format, _decoding_notes(counts))
    return replace(study, coloured_pixels=int(counts["coloured"]), camera=str(counts["camera"]))


def _decoding_notes(counts: dict[str, Any]) -> tuple[str, ...]:
    """Notes on what :func:`_decode_gray` changed, from its counts."""
    notes = []
    if counts["rotated"]:
        notes.append(f"{counts['rotated']} image(s) turned upright by their EXIF orientation, as viewers show them")
    if counts["transparent"]:
        notes.append(f"{counts['transparent']} transparent pixel(s) read as black (0, outside the nodule)")
    if counts["coloured"]:
        notes.append(
            f"colour image turned grey: {counts['coloured']} coloured pixel(s) (annotations?) became grey values "
            "that are read as tissue; upload the image without coloured marks"
        )
    return tuple(notes)


_COLOUR_SPREAD = 24  # grey levels between a pixel's channels above which it is coloured, not grey with JPEG noise


def _frame_gray(frame: Any, counts: dict[str, Any]) -> NDArray[np.uint8]:
    """One decoded PIL frame as uint8 grey, counting in ``counts`` what was rotated, transparent or coloured, and
    noting the camera its EXIF names (Make 0x010F, Model 0x0110)."""
    from PIL import ImageOps

    exif = frame.getexif() if hasattr(frame, "getexif") else {}
    camera = " ".join(str(exif.get(tag, "")).strip("\x00 ") for tag in (0x010F, 0x0110)).strip()
    if camera and not counts["camera"]:
        counts["camera"] = camera[:60]
    orientation = exif.get(0x0112, 1)
    if orientation not in (1, None):
        frame = ImageOps.exif_transpose(frame)
        counts["rotated"] += 1
    has_alpha = frame.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in frame.info
    rgba = np.asarray(frame.convert("RGBA"), dtype=np.uint8)
    rgb = rgba[..., :3].astype(np.int16)
    spread = rgb.max(axis=-1) - rgb.min(axis=-1)
    counts["coloured"] += int((spread > _COLOUR_SPREAD).sum())
    grey = np.asarray(frame.convert("L"), dtype=np.uint8)
    if has_alpha:
        transparent = rgba[..., 3] < 128
        counts["transparent"] += int(transparent.sum())
        grey = np.where(transparent, np.uint8(0), grey).astype(np.uint8)
    return grey


def read_slice_folder(folder: Path) -> NDArray[np.uint8]:
    """Read a folder of consecutive slice images ``<k>.png`` of one nodule (the LIDC crop layout).

    See :func:`_read_slice_folder`, which also returns the notes on the decoding.
    """
    return _read_slice_folder(folder)[0]


def _read_slice_folder(folder: Path, counts: dict[str, Any] | None = None) -> tuple[NDArray[np.uint8], tuple[str, ...]]:
    """Read a folder of consecutive slice images ``<k>.png`` of one nodule (the LIDC crop layout).

    Args:
        folder: holds ``1.png, 2.png, ...`` (PNG, JPEG or TIFF), numbered in slice order.

    Returns:
        uint8 (D, H, W) in slice order, and notes on what decoding changed (EXIF rotation, transparency, colour).

    Raises:
        ImageInputError: no numbered images, or slices of different sizes.
    """
    folder = Path(folder)
    numbered = [(int(m[1]), p) for p in folder.iterdir() if (m := _NUMBERED.match(p.name))] if folder.is_dir() else []
    if not numbered:
        raise ImageInputError(
            f"folder {folder.name!r} holds no numbered slice images (1.png, 2.png, ...). "
            "Give a folder of consecutive slices of one nodule, or a single image or DICOM file."
        )
    counts = _new_counts() if counts is None else counts
    slices = [_decode_gray(p.read_bytes(), p.name, counts)[0] for _, p in sorted(numbered)]
    shapes = {s.shape for s in slices}
    if len(shapes) != 1:
        raise ImageInputError(f"the slices in {folder.name!r} differ in size ({sorted(shapes)}); they must match")
    return np.stack(slices), _decoding_notes(counts)


def deidentify(ds: Dataset) -> Dataset:
    """A de-identified copy of ``ds``: :func:`medai_core.deid.deidentify_dataset` (PS3.15 basic profile, by
    allow-list, at every depth; UIDs replaced consistently with the per-install key). For the header shown beside
    the image, so an image with burned-in annotation is read (it then says PatientIdentityRemoved NO)."""
    return deidentify_dataset(ds, allow_burned_in=True)


def _shown_metadata(ds: Dataset, source_format: str, slices: int) -> dict[str, str]:
    """Display-safe fields of an already de-identified dataset."""
    out = {"Format": source_format, "Slices": str(slices)}
    for keyword in _SHOWN:
        if keyword in ds and ds.get(keyword) not in (None, ""):
            value = ds.get(keyword)
            out[keyword] = "\\".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
            if hasattr(value, "__iter__") and not isinstance(value, str) and keyword == "PixelSpacing":
                out[keyword] = " x ".join(f"{float(v):g}" for v in value)
    return out


def _region_terms(ds: Dataset) -> tuple[tuple[str, str], ...]:
    """Body-region words of the header (BodyPartExamined, protocol and descriptions), read before de-identification;
    only the vocabulary's terms are kept (:func:`medai_core.ct.appropriateness.region_terms`)."""
    from medai_core.ct.appropriateness import REGION_KEYWORDS, region_terms

    fields = {}
    for keyword in REGION_KEYWORDS:
        try:
            value = ds.get(keyword)
        except Exception:  # a malformed value names no region
            value = None
        if value is not None and not isinstance(value, bytes):
            fields[keyword] = str(value)
    return region_terms(fields)


def _parse_dicom(data: bytes, name: str) -> Dataset:
    import pydicom

    check_deflate_size(data, name, get_settings().max_upload_bytes)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns on odd headers; what is used is validated below
            ds = pydicom.dcmread(io.BytesIO(data), force=False)
    except MemoryError:
        raise ImageInputError(f"{name} is too large to read in memory; it was not read.") from None
    except Exception as exc:  # pydicom raises many types on truncated or corrupt files
        from pydicom.errors import InvalidDicomError

        if isinstance(exc, InvalidDicomError):
            raise ImageInputError(f"{name} is not a DICOM file. {ACCEPTED}") from None
        raise ImageInputError(
            f"{name} is a truncated or corrupt DICOM file ({type(exc).__name__}). Export it again from the PACS."
        ) from None
    modality = str(tag_value(ds, "Modality", name) or "").strip().upper()
    sop_class = str(tag_value(ds, "SOPClassUID", name) or "").strip()
    if not modality and not sop_class:
        raise ImageInputError(
            f"{name} is a truncated or corrupt DICOM file (its header ends before the modality and SOP class). "
            "Export it again from the PACS."
        )
    if modality != "CT" and not (not modality and sop_class in _CT_SOP_CLASSES):
        what = f"DICOM {modality[:16]} file" if modality else "DICOM object of unknown modality"
        raise ImageInputError(
            f"{name} is a {what}, not CT. This tool reads chest CT only (Modality CT); segmentations (SEG), MR and "
            "other modalities are not supported."
        )
    if sop_class == _SECONDARY_CAPTURE or sop_class.startswith(_SECONDARY_CAPTURE + "."):
        raise ImageInputError(
            f"{name} is a DICOM secondary capture (a screenshot or converted image, Modality {modality or 'unknown'}), "
            "not a CT image: its grey values are not Hounsfield units. Upload the original CT series, or the "
            "image as a PNG in a lung window with its pixel size."
        )
    if all(tag_value(ds, k, name) is None for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
        raise ImageInputError(f"{name} is a DICOM CT header with no pixel data; upload the image slices themselves.")
    return ds


def _functional_item(ds: Dataset, sequence: str, name: str, group: str = "SharedFunctionalGroupsSequence") -> Any:
    """``ds.<group>[0].<sequence>[0]`` of an enhanced CT, or None where absent.

    Raises:
        ImageInputError: the sequence is present but corrupt.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            groups = ds.get(group)
            if not groups:
                return None
            items = groups[0].get(sequence)
            return items[0] if items else None
    except Exception as exc:  # lazily parsed sequences fail on first access
        raise ImageInputError(
            f"{name}: the {group} of the DICOM header cannot be read ({type(exc).__name__}); the file is corrupt"
        ) from None


def _per_frame_items(ds: Dataset, sequence: str, name: str) -> list[Any] | None:
    """``item.<sequence>[0]`` of every PerFunctionalGroupsSequence item of an enhanced CT, or None where any frame
    lacks it.

    Raises:
        ImageInputError: the per-frame groups are present but corrupt.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            groups = ds.get("PerFrameFunctionalGroupsSequence")
            if not groups:
                return None
            items = [g.get(sequence) for g in groups]
            return [i[0] for i in items] if all(items) else None
    except Exception as exc:  # lazily parsed sequences fail on first access
        raise ImageInputError(
            f"{name}: the per-frame groups of the DICOM header cannot be read ({type(exc).__name__}); the file is "
            "corrupt"
        ) from None


@dataclass(frozen=True)
class _Rescale:
    """Per-frame rescale to Hounsfield units: HU = stored x slope + intercept (one value per frame)."""

    slopes: NDArray[np.float32]
    intercepts: NDArray[np.float32]
    note: str | None

    def describe(self) -> str:
        slopes, intercepts = np.unique(self.slopes), np.unique(self.intercepts)
        if slopes.size == 1 and intercepts.size == 1:
            return f"slope {slopes[0]:g}, intercept {intercepts[0]:g}"
        return "per-frame slopes and intercepts"


_NO_INTERCEPT = "the header gives a RescaleSlope but no RescaleIntercept: intercept taken as 0 HU"


def _rescale_pair(source: Any, name: str) -> tuple[float, float, bool]:
    """(slope, intercept, whether the intercept was absent) of one header level, after checking RescaleType (HU
    or absent). An absent slope is 1 (the identity)."""
    tag_code(source, "RescaleType", name)
    slope = tag_numbers(source, "RescaleSlope", name)
    intercept = tag_numbers(source, "RescaleIntercept", name)
    return (1.0 if slope is None else slope[0]), (0.0 if intercept is None else intercept[0]), intercept is None


def _rescale(ds: Dataset, name: str, frames: int) -> _Rescale:
    """The rescale from the top level, the shared functional groups or the per-frame functional groups (Enhanced
    CT often gives one per frame).

    Raises:
        ImageInputError: a rescale value is empty, not a number, non-finite, a zero or negative slope, or out of
            range (see :data:`medai_core.ct.dicom_checks.TAG_RANGES`); RescaleType is not HU; the per-frame groups
            do not hold one item per frame; the stored values go through a modality look-up table instead.
    """

    def constant(slope: float, intercept: float, note: str | None = None) -> _Rescale:
        return _Rescale(np.full(frames, slope, np.float32), np.full(frames, intercept, np.float32), note)

    if has_tag(ds, "ModalityLUTSequence", name):
        raise ImageInputError(
            f"{name} maps its stored values through a modality look-up table (ModalityLUTSequence), which a CT "
            "image does not use and this tool does not read; its Hounsfield units cannot be known. Export the "
            "original CT slices, with RescaleSlope and RescaleIntercept."
        )
    source: Any = ds
    if not (has_tag(ds, "RescaleSlope", name) or has_tag(ds, "RescaleIntercept", name)):
        source = _functional_item(ds, "PixelValueTransformationSequence", name)
    if source is not None:
        slope, intercept, no_intercept = _rescale_pair(source, name)
        return constant(slope, intercept, _NO_INTERCEPT if no_intercept else None)
    per_frame = _per_frame_items(ds, "PixelValueTransformationSequence", name)
    if per_frame is not None:
        if len(per_frame) != frames:
            raise ImageInputError(
                f"{name}: the header gives a rescale for {len(per_frame)} frame(s) but the image has {frames}; the "
                "Hounsfield units of the frames cannot be known. Export the series again."
            )
        triples = [_rescale_pair(item, name) for item in per_frame]
        slopes = np.array([t[0] for t in triples], dtype=np.float32)
        intercepts = np.array([t[1] for t in triples], dtype=np.float32)
        return _Rescale(slopes, intercepts, _NO_INTERCEPT if any(t[2] for t in triples) else None)
    return constant(1.0, 0.0, "no rescale slope/intercept in the header: stored values taken as Hounsfield units")


def _pixel_spacing(ds: Dataset, name: str) -> tuple[tuple[float, float] | None, str | None]:
    """Validated (row, column) pixel spacing in mm, or None where the header gives none, and a note.

    PixelSpacing is read at the top level, then in the shared, then in the per-frame PixelMeasuresSequence (all
    frames must agree). ImagerPixelSpacing is measured at the detector, not in the patient, and is never used.

    Raises:
        ImageInputError: a spacing value is malformed or out of range, or the frames differ in pixel spacing.
    """
    values = tag_numbers(ds, "PixelSpacing", name)
    if values is None:
        item = _functional_item(ds, "PixelMeasuresSequence", name)
        values = None if item is None else tag_numbers(item, "PixelSpacing", name)
    if values is None:
        items = _per_frame_items(ds, "PixelMeasuresSequence", name) or []
        found = {tag_numbers(item, "PixelSpacing", name) for item in items}
        if len(found) > 1:
            raise ImageInputError(
                f"{name}: the frames differ in pixel spacing ({len(found)} different values); one volume has one "
                "pixel spacing. Export the series again."
            )
        values = next(iter(found)) if found else None
    if values is not None:
        return (values[0], values[1]), None
    note = "pixel size unknown: the DICOM header gives no PixelSpacing, it must be given"
    if has_tag(ds, "ImagerPixelSpacing", name):
        note += " (its ImagerPixelSpacing is measured at the detector, not in the patient, and was not used)"
    return None, note


def _padding_mask(
    ds: Dataset, pixels: NDArray[Any], hu: NDArray[np.float32], rescale: _Rescale, name: str
) -> tuple[NDArray[np.bool_] | None, str | None]:
    """Pixels outside the scanned field by the header's PixelPaddingValue (and PixelPaddingRangeLimit), and a note
    where the declared padding was not used.

    Padding is only taken where it lies below air after the rescale (-2000 stored is -3024 HU): a padding value
    inside the range of tissue (0 stored with intercept 0 is water) is a header error, and using it would blank
    tissue. There, stored values equal to the padding (or within the range) are padding, and so is every pixel
    nearer to it than to air: lossy compression smears the padding value (pydicom's 693_J2KI.dcm holds -2016,
    -2015, ... for -2000), and nothing in a body lies below air.
    """
    pad = tag_numbers(ds, "PixelPaddingValue", name)
    if pad is None:
        return None, None
    limit = tag_numbers(ds, "PixelPaddingRangeLimit", name)
    low, high = sorted((pad[0], pad[0] if limit is None else limit[0]))
    if np.issubdtype(pixels.dtype, np.signedinteger) and high > np.iinfo(pixels.dtype).max:
        # the value was written as unsigned (US VR) for signed pixel data: its two's complement is meant
        bits = 8 * pixels.dtype.itemsize
        low, high = sorted(v - 2**bits if v >= 2 ** (bits - 1) else v for v in (low, high))
    padding_hu = np.float32(high) * rescale.slopes + rescale.intercepts  # per frame
    below_air = padding_hu < AIR_HU
    declared = (pixels >= low) & (pixels <= high)
    note = None
    if not below_air.all() and declared[~below_air].any():
        note = (
            f"the header's PixelPaddingValue ({low:g}) is {float(padding_hu.max()):g} HU, not below air: not used "
            "(it would blank tissue)"
        )
    halfway = np.where(below_air, (padding_hu + np.float32(AIR_HU)) / 2, -np.inf).astype(np.float32)
    mask = (declared & below_air[:, None, None]) | (hu < halfway[:, None, None])
    return (mask if mask.any() else None), note


def _transfer_syntax(ds: Dataset) -> str:
    """The transfer syntax in words, e.g. ``'JPEG Lossless, Non-Hierarchical, First-Order Prediction (...)'``."""
    meta = getattr(ds, "file_meta", None)
    uid = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    if uid is None:
        return "an unknown transfer syntax"
    named = getattr(uid, "name", "") or ""
    return f"{named} ({uid})" if named and named != str(uid) else str(uid)


def _pixels_hu(
    ds: Dataset, name: str, max_voxels: int, *, whole_volume: bool = True
) -> tuple[NDArray[np.float32], tuple[str, ...]]:
    """Decoded, rescaled pixels (D, H, W) in HU and notes about the rescale, after checking the size first.

    PhotometricInterpretation MONOCHROME1 only inverts the *display* (PS3.3 C.7.6.3.1.2): the rescale gives
    Hounsfield units whatever it is, so the values are not inverted. Pixels holding the header's PixelPaddingValue
    (outside the scanned field of view, often -2000 or -3024 HU after the rescale) are set to air (-1024 HU).

    ``whole_volume`` False (one slice of a series) leaves the air rule of
    :func:`~medai_core.ct.dicom_checks.implausible_hu` to the caller, for the whole series.

    Raises:
        ImageInputError: the header's size is implausible, above ``max_voxels`` or inconsistent with the pixel
            data; the colour model or RescaleType is not a CT's; decoding fails; the decoded shape differs from
            the header's; values are non-finite or beyond :data:`medai_core.ct.dicom_checks.HU_RANGE` after
            rescaling (padding below it is set to its floor); a rescale that is absent or lacks its intercept leaves
            no value low enough for air; stored values outside BitsStored; pixel bytes in the other byte order;
            Hounsfield units no chest CT holds (:func:`~medai_core.ct.dicom_checks.implausible_hu`).
    """
    frames, rows, columns = check_pixel_data(ds, name, max_voxels)
    photometric = tag_code(ds, "PhotometricInterpretation", name)
    rescale = _rescale(ds, name, frames)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pixels = np.asarray(ds.pixel_array)
    except MemoryError:
        raise ImageInputError(f"the pixel data of {name} is too large to decode in memory") from None
    except Exception as exc:  # missing codec, truncated pixel data, bad transfer syntax
        raise ImageInputError(
            f"the pixel data of {name} cannot be decoded ({type(exc).__name__}). It is stored as "
            f"{_transfer_syntax(ds)}: the file may be truncated, or compressed with a codec this installation "
            "does not have. Export it uncompressed (Explicit VR Little Endian)."
        ) from None
    if pixels.ndim == 2:
        pixels = pixels[None]
    if pixels.shape != (frames, rows, columns):
        raise ImageInputError(
            f"{name} decodes to pixel data of shape {pixels.shape}, but its header says {frames} frame(s) of "
            f"{columns} x {rows}; expected grey slices matching the header (colour or a malformed header?)"
        )
    pixels = _checked_stored_values(ds, pixels, rescale, name)
    hu, padding, notes = _to_hu(ds, pixels, rescale, name)
    if photometric == "MONOCHROME1":
        notes.append(
            "MONOCHROME1 image (shown inverted by DICOM viewers): Hounsfield units taken from the rescale, which "
            "does not depend on the display"
        )
    if padding is not None and padding.mean() > _MAX_PADDING_SHARE:
        raise ImageInputError(
            f"{name}: after the header's rescale ({rescale.describe()}) {padding.mean():.0%} of the pixels would be "
            f"padding outside the scanned field (PixelPaddingValue); a CT slice is mostly body and air. The rescale "
            "or the padding value is wrong."
        )
    if not np.isfinite(hu).all():
        raise ImageInputError(f"{name} holds non-finite pixel values (NaN or infinity); it is not a CT image")
    low_hu, high_hu = HU_RANGE
    peak = float(hu.max()) if hu.size else 0.0
    below = hu < low_hu
    physics = implausible_hu(np.maximum(hu, np.float32(low_hu)), need_air=whole_volume)
    if physics is not None or peak > high_hu or below.mean() > 0.5:
        _refuse_byte_swap(ds, pixels, rescale, name)
    if rescale.note is not None and hu.size and float(hu.min()) > _AIR_CHECK_HU:
        raise ImageInputError(
            f"{name}: {rescale.note}, and the values ({float(hu.min()):.6g} to {float(hu.max()):.6g}) then hold no "
            f"air or lung (nothing at or below {_AIR_CHECK_HU:g} HU), so they are not Hounsfield units. Export the "
            "original CT slices, with RescaleSlope and RescaleIntercept."
        )
    if peak > high_hu or below.mean() > 0.5:
        value = peak if peak > high_hu else float(hu.min())
        raise ImageInputError(
            f"{name}: after the header's rescale ({rescale.describe()}) values reach "
            f"{value:.6g} HU, beyond any CT ({low_hu:g} to {high_hu:g} HU). The rescale fields are wrong."
        )
    if physics is not None:
        raise ImageInputError(
            f"{name}: after the header's rescale ({rescale.describe()}) the values are not a CT's Hounsfield units: "
            f"{physics}. The rescale, BitsStored or PixelRepresentation fields are wrong, or this is not a CT image."
        )
    if below.any():  # padding outside the scanned field: below every window, set to the floor
        np.maximum(hu, np.float32(low_hu), out=hu)
        notes.append(f"{int(below.sum())} padding value(s) below {low_hu:g} HU set to {low_hu:g} HU (outside the body)")
    return hu, tuple(notes)


def _to_hu(
    ds: Dataset, pixels: NDArray[Any], rescale: _Rescale, name: str
) -> tuple[NDArray[np.float32], NDArray[np.bool_] | None, list[str]]:
    """Stored values rescaled to HU with the header's padding set to air: (hu, padding mask, notes)."""
    hu = pixels.astype(np.float32)
    hu *= rescale.slopes[:, None, None]
    hu += rescale.intercepts[:, None, None]
    padding, padding_note = _padding_mask(ds, pixels, hu, rescale, name)
    notes = [note for note in (rescale.note, padding_note) if note]
    if padding is not None and padding.mean() <= _MAX_PADDING_SHARE:
        hu[padding] = np.float32(AIR_HU)
        notes.append(
            f"{int(padding.sum())} padding pixel(s) outside the scanned field (PixelPaddingValue) set to "
            f"{AIR_HU:g} HU (air)"
        )
    return hu, padding, notes


def _checked_stored_values(ds: Dataset, pixels: NDArray[Any], rescale: _Rescale, name: str) -> NDArray[Any]:
    """The decoded stored values after checking them against the header's BitsStored and PixelRepresentation.

    pydicom masks the bits above BitsStored, so a value the header does not allow (5000 in 12 bits) would silently
    become another (904). For uncompressed data the values are read unmasked and any outside the declared range,
    other than the declared PixelPaddingValue, refuse the file (a byte-swapped file, said so, where swapping the
    bytes gives a CT's values). Padding written outside the range is kept as written, so that it is found.

    Raises:
        ImageInputError: stored values outside what BitsStored and PixelRepresentation allow, or BitsStored above
            BitsAllocated.
    """
    if not np.issubdtype(pixels.dtype, np.integer) or not is_native(ds, name):
        return pixels
    low, high, signed = stored_value_range(ds, name, pixels.dtype)
    if (low, high) == (int(np.iinfo(pixels.dtype).min), int(np.iinfo(pixels.dtype).max)):
        return pixels
    from pydicom.pixels import pixel_array

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = np.asarray(pixel_array(ds, correct_unused_bits=False)).reshape(pixels.shape)
    bad = outside_stored_range(raw, low, high, signed)
    if not bad.any():
        return pixels
    padding = _declared_padding(ds, raw, name)
    if padding is not None:
        bad &= ~padding
    if bad.any():
        _refuse_byte_swap(ds, raw, rescale, name)
        first = raw[bad].ravel()[0]
        raise ImageInputError(
            f"{name}: {int(bad.sum()):,} stored pixel value(s) (e.g. {int(first)}) lie outside the {low} to {high} "
            f"that the header allows (BitsStored {int(np.log2(high - low + 1))}, PixelRepresentation {int(signed)}); "
            "masked to those bits they would become other values. The header does not describe the pixel data; "
            "export the file again."
        )
    return np.where(padding, raw, pixels) if padding is not None else pixels


def _declared_padding(ds: Dataset, raw: NDArray[Any], name: str) -> NDArray[np.bool_] | None:
    """Stored values equal to the header's PixelPaddingValue (or within its PixelPaddingRangeLimit), or None."""
    pad = tag_numbers(ds, "PixelPaddingValue", name)
    if pad is None:
        return None
    limit = tag_numbers(ds, "PixelPaddingRangeLimit", name)
    values = [pad[0], pad[0] if limit is None else limit[0]]
    if np.issubdtype(raw.dtype, np.signedinteger):  # written as unsigned (US VR) for signed data: two's complement
        bits = 8 * raw.dtype.itemsize
        values = [v - 2**bits if v >= 2 ** (bits - 1) else v for v in values]
    low, high = sorted(values)
    return np.asarray((raw >= low) & (raw <= high))


def _refuse_byte_swap(ds: Dataset, pixels: NDArray[Any], rescale: _Rescale, name: str) -> None:
    """Refuse, saying so, a file whose multi-byte stored values read as CT values only with their bytes swapped
    (a header saying little endian over big-endian pixel bytes, or the reverse); return where swapping does not
    explain the implausible values.

    Raises:
        ImageInputError: the byte-swapped values are a CT's (plausible Hounsfield units) and the values as read are not.
    """
    if pixels.dtype.itemsize < 2 or not np.issubdtype(pixels.dtype, np.integer) or not is_native(ds, name):
        return
    swapped = pixels.byteswap()
    low, high, signed = stored_value_range(ds, name, pixels.dtype)
    if outside_stored_range(swapped, low, high, signed).mean() > IMPLAUSIBLE_SHARE:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hu, _, _ = _to_hu(ds, swapped, rescale, name)
    if not np.isfinite(hu).all() or implausible_hu(np.maximum(hu, np.float32(HU_RANGE[0])), need_air=False):
        return
    raise ImageInputError(
        f"{name}: its pixel bytes are in the opposite byte order to the one its header declares "
        f"({_transfer_syntax(ds)}): read as declared the values are not Hounsfield units, and with each value's "
        "bytes swapped they are. The file was written wrongly; it was not read. Export it again from the PACS."
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
    normal = _slice_normal(ds, name)
    return [float(p @ normal) for p in positions]


def _slice_normal(ds: Dataset, name: str) -> NDArray[np.float64]:
    """Unit normal of the slices from a validated ImageOrientationPatient: top level, shared functional groups, or
    per-frame functional groups (which must agree); axial where the header gives none."""
    values = tag_numbers(ds, "ImageOrientationPatient", name)
    if values is None:
        item = _functional_item(ds, "PlaneOrientationSequence", name)
        values = None if item is None else tag_numbers(item, "ImageOrientationPatient", name)
    if values is None:
        items = _per_frame_items(ds, "PlaneOrientationSequence", name) or []
        found = {tag_numbers(item, "ImageOrientationPatient", name) for item in items}
        rounded = {None if v is None else tuple(round(x, 3) for x in v) for v in found}
        if len(rounded) > 1:
            raise ImageInputError(
                f"{name}: its frames differ in orientation (ImageOrientationPatient); one volume has one. Export "
                "one reconstruction only."
            )
        values = next(iter(found)) if found else None
    if values is None:
        return np.array([0.0, 0.0, 1.0])
    normal = orientation_normal(values, name)
    return -normal if normal[2] < 0 else normal  # slices sorted along it run feet to head


def _tilt_note(normal: NDArray[np.float64], name: str) -> str | None:
    """A note on slices tilted from axial (gantry tilt), None for axial ones.

    Raises:
        ImageInputError: the slices are sagittal or coronal (tilted more than :data:`MAX_TILT_DEG` from axial).
    """
    tilt = float(np.degrees(np.arccos(min(1.0, abs(float(normal[2]))))))
    if tilt > MAX_TILT_DEG:
        plane = "sagittal" if abs(normal[0]) >= abs(normal[1]) else "coronal"
        raise ImageInputError(
            f"{name} holds {plane} slices (tilted {tilt:.0f} degrees from axial, by ImageOrientationPatient). This "
            "tool measures nodules on axial slices, as it was trained; upload the axial series."
        )
    if tilt > _TILT_NOTE_DEG:
        return (
            f"slices tilted {tilt:.1f} degrees from axial (gantry tilt or oblique reconstruction): sizes are "
            "measured in the tilted plane, slice spacing perpendicular to it"
        )
    return None


def _header_slice_spacing(ds: Dataset, name: str) -> tuple[float | None, str]:
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


def _check_spacing(positions: Sequence[float], what: str) -> float | None:
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


def read_dicom(data: bytes, name: str = "the DICOM file") -> CTStudy:
    """Read one DICOM CT file: a single slice or an (enhanced) multi-frame volume.

    Raises:
        ImageInputError: not DICOM, truncated or corrupt, not CT, no pixel data, sagittal or coronal, or too
            small.
    """
    return _dataset_study(_parse_dicom(data, name), name)


def _dataset_study(ds: Dataset, name: str) -> CTStudy:
    """The study of one parsed DICOM CT file (single slice or multi-frame); see :func:`read_dicom`."""
    spacing, spacing_note = _pixel_spacing(ds, name)
    tilt_note = _tilt_note(_slice_normal(ds, name), name)
    hu, pixel_notes = _pixels_hu(ds, name, CT_MAX_VOXELS)
    _check_size(hu.shape[1:], "DICOM")
    slice_spacing: float | None = None
    order_note = None
    fmt = "DICOM"
    if hu.shape[0] > 1:
        fmt = "DICOM multi-frame"
        positions = _frame_positions(ds, name)
        if positions is not None and len(positions) == hu.shape[0]:
            order = np.argsort(positions)
            hu = hu[order]
            slice_spacing = _check_spacing([positions[i] for i in order], name)
        else:
            slice_spacing, spacing_source = _header_slice_spacing(ds, name)
            order_note = f"frames kept in file order (the header gives no position per frame); {spacing_source}"
    clean = deidentify(ds)
    notes = [spacing_note, tilt_note, order_note, *pixel_notes]
    return CTStudy(
        hu=hu,
        spacing_mm=spacing,
        slice_spacing_mm=slice_spacing,
        source_format=fmt,
        metadata=_shown_metadata(clean, fmt, hu.shape[0]),
        region_terms=_region_terms(ds),
        notes=(
            "header de-identified (DICOM PS3.15 basic profile, allow-list) before display",
            *(n for n in notes if n),
        ),
    )


def read_dicom_zip(data: bytes, name: str = "the zip file", *, max_bytes: int | None = None) -> CTStudy:
    """Read a zip holding one DICOM CT series, ordered by ImagePositionPatient along the slice normal.

    Args:
        data: the zip's bytes.
        name: how messages refer to it.
        max_bytes: largest total uncompressed size accepted; defaults to the upload limit in settings.

    Raises:
        UploadTooLargeError: the members add up to more than ``max_bytes`` uncompressed.
        ImageInputError: a member name escapes the archive, no DICOM inside, more than one series, duplicate or
            missing slices, slices of different sizes, or any per-file DICOM problem.
    """
    limit = max_bytes if max_bytes is not None else get_settings().max_upload_bytes
    members = untrusted.unzip(data, name=name, error=ImageInputError, max_bytes=limit, advice=_ZIP_ADVICE)
    datasets = [
        (member, _parse_dicom(body, PurePosixPath(member).name))
        for member, body in members
        if untrusted.sniff(body) == "dicom"
    ]
    if not datasets:
        raise ImageInputError(f"{name} holds no DICOM files (none starts with the DICM preamble). {ACCEPTED}")
    return _series_study(datasets, name)


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


def _series_study(datasets: list[tuple[str, Dataset]], name: str) -> CTStudy:
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
    items = next(iter(series.values()))
    if len(items) == 1:  # one file, perhaps multi-frame: its frames are ordered as a multi-frame file's are
        study = _dataset_study(items[0][1], PurePosixPath(items[0][0]).name)
        fmt = f"{study.source_format} (zip)"
        scout_note = (f"{len(scouts)} localizer (scout) image(s) left out",) if scouts else ()
        metadata = {**study.metadata, "Format": fmt}
        return replace(study, source_format=fmt, metadata=metadata, notes=(*study.notes, *scout_note))
    frame_counts = [tag_numbers(ds, "NumberOfFrames", PurePosixPath(f).name) for f, ds in items]
    if any(n is not None and n[0] > 1 for n in frame_counts):
        raise ImageInputError(
            f"{name} holds a multi-frame DICOM file beside other files of its series; zip either the one "
            "multi-frame file or the single-slice files, not both."
        )
    _same_in_all(items, "ImageOrientationPatient", "orientation", name)
    _same_in_all(items, "PixelSpacing", "pixel spacing", name)
    first = items[0][1]
    declared = [check_pixel_data(ds, PurePosixPath(f).name, CT_MAX_VOXELS) for f, ds in items]
    total = sum(f * r * c for f, r, c in declared)
    if total > CT_MAX_VOXELS:
        raise ImageInputError(
            f"{name} declares {total:,} voxels in {len(items)} files, above the {CT_MAX_VOXELS:,}-voxel limit of this "
            "tool; it was not decoded. Zip the slices around the nodule."
        )
    normal = _slice_normal(first, name)
    tilt_note = _tilt_note(normal, name)
    positions = [tag_numbers(ds, "ImagePositionPatient", PurePosixPath(f).name) for f, ds in items]
    numbers = [tag_numbers(ds, "InstanceNumber", PurePosixPath(f).name) for f, ds in items]
    spacing_source = None
    if all(p is not None for p in positions):
        keys = [float(np.array(p, dtype=float) @ normal) for p in positions]
        ordered_by = "ImagePositionPatient"
    elif len(items) == 1 or all(n is not None for n in numbers):
        keys = [float(n[0]) if n is not None else 0.0 for n in numbers]
        ordered_by = "InstanceNumber (no ImagePositionPatient; the direction, feet or head first, is not known)"
    else:
        raise ImageInputError(
            f"{name}: its slices carry neither ImagePositionPatient nor InstanceNumber in every file, so their order "
            "is unknown. Export the series again from the PACS."
        )
    order = np.argsort(keys, kind="stable")
    slice_spacing = _check_spacing([keys[i] for i in order], name)
    if not ordered_by.startswith("ImagePositionPatient") and len(items) > 1:
        slice_spacing, spacing_source = _header_slice_spacing(first, name)
    decoded = [
        _pixels_hu(items[i][1], PurePosixPath(items[i][0]).name, CT_MAX_VOXELS, whole_volume=False) for i in order
    ]
    volumes = [v for v, _ in decoded]
    pixel_notes = _merge_counted_notes([n for _, notes in decoded for n in notes])
    shapes = {v.shape[1:] for v in volumes}
    if len(shapes) != 1:
        raise ImageInputError(f"the slices in {name} differ in size ({sorted(shapes)}); one series has one size")
    hu = np.concatenate(volumes)
    _check_size(hu.shape[1:], "DICOM")
    physics = implausible_hu(hu)  # the air rule holds for the series, not for each slice (some lie below the lungs)
    if physics is not None:
        raise ImageInputError(
            f"{name}: the series' values are not a chest CT's Hounsfield units: {physics}. The rescale fields are "
            "wrong, or this is not a chest CT."
        )
    spacing, spacing_note = _pixel_spacing(first, name)
    fmt = "DICOM series (zip)"
    notes = [
        f"{hu.shape[0]} slices ordered by {ordered_by}",
        "header de-identified (DICOM PS3.15 basic profile, allow-list) before display",
        f"{len(scouts)} localizer (scout) image(s) left out" if scouts else None,
        spacing_note,
        tilt_note,
        spacing_source,
        *pixel_notes,
    ]
    return CTStudy(
        hu=hu,
        spacing_mm=spacing,
        slice_spacing_mm=slice_spacing,
        source_format=fmt,
        metadata=_shown_metadata(deidentify(first), fmt, hu.shape[0]),
        notes=tuple(n for n in notes if n),
        region_terms=_region_terms(first),
    )


def read_ct(data: bytes, name: str = "the upload", *, pixel_mm: float | None = None) -> CTStudy:
    """Read any accepted CT input from its bytes, recognised by content (not by file name).

    A pure function of its arguments returning a picklable :class:`CTStudy`, so it can run in a worker process.

    Args:
        data: the file's bytes.
        name: how messages refer to it (never shown in reports).
        pixel_mm: in-plane pixel size (mm) for an input that carries none (plain images); see
            :func:`with_pixel_size`.

    Raises:
        ImageInputError: the bytes are none of the accepted formats, the content cannot be used, or ``pixel_mm``
            is implausible.
        UploadTooLargeError: a zip unpacks to more than the upload limit.
    """
    if pixel_mm is not None:
        check_pixel_mm(pixel_mm)
    if not data:
        raise ImageInputError(f"{name} is empty. {ACCEPTED}")
    try:
        kind = untrusted.sniff(data)
        if kind == "zip":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pydicom's value warnings on hostile headers; used values are checked
                study = read_dicom_zip(data, name)
        elif kind == "dicom":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                study = read_dicom(data, name)
        else:
            fmt = _IMAGE_FORMATS.get(kind or "")
            if fmt is None:
                raise ImageInputError(
                    f"{name} is not an image, a DICOM file or a zip (unrecognised content). {ACCEPTED}"
                )
            counts = _new_counts()
            volume = _decode_gray(data, name, counts)
            study = _image_study(volume, fmt, counts)
    except InputError:
        raise
    except MemoryError:
        raise ImageInputError(f"{name} is too large to read in memory; it was not read.") from None
    except Exception as exc:  # the reader boundary: any library failure on hostile bytes is bad input
        library = type(exc).__module__.split(".")[0] in ("pydicom", "PIL", "zipfile", "zlib", "numpy")
        if not (isinstance(exc, _LIBRARY_ERRORS) or library):
            raise
        raise ImageInputError(
            f"{name} could not be read ({type(exc).__name__}): the file is corrupt or not a supported CT format. "
            f"{ACCEPTED}"
        ) from None
    return with_pixel_size(study, pixel_mm)


def read_ct_path(path: Path, *, pixel_mm: float | None = None) -> CTStudy:
    """Read a CT input from disk: a file (any accepted format) or a folder of numbered slice images.

    Args:
        path: the file or folder.
        pixel_mm: in-plane pixel size (mm) for an input that carries none; see :func:`with_pixel_size`.

    Raises:
        ImageInputError: the path does not exist, or its content cannot be used.
        UploadTooLargeError: the file is above the upload limit.
    """
    path = Path(path)
    if path.is_dir():
        counts = _new_counts()
        volume, _ = _read_slice_folder(path, counts)
        return with_pixel_size(_image_study(volume, "image folder", counts), pixel_mm)
    data = read_input_file(path, ImageInputError, "an image, a DICOM file, a zip or a folder of slices")
    return read_ct(data, path.name, pixel_mm=pixel_mm)
