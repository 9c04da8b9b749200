"""DICOM CT headers: parsing, the checks that a file is a CT image, de-identification, and the header fields the
readers use (rescale to Hounsfield units, pixel spacing, slice orientation).

Headers are de-identified (the DICOM PS3.15 Annex E basic application level confidentiality profile, by
allow-list: :mod:`medai_core.deid`) before any field is copied out, so nothing identifying reaches the page, the
report, the audit log or a log line. Hounsfield units come from RescaleSlope/RescaleIntercept at the top level, in
the shared or in the per-frame functional groups (Enhanced CT); a RescaleType other than HU and secondary captures
are refused. The pixel size is PixelSpacing (top level, shared or per-frame), never ImagerPixelSpacing. Slices run
feet to head along the ImageOrientationPatient normal; sagittal and coronal slices are refused and gantry tilt is
noted. The tag tables are in :mod:`medai_core.ct.dicom_checks`; every attribute read must have the VR and number of
values DICOM PS3.6 gives it (:mod:`medai_core.ct.dicom_dictionary`).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.config import get_settings
from medai_core.ct.dicom_checks import (
    check_deflate_size,
    has_tag,
    orientation_normal,
    tag_code,
    tag_numbers,
    tag_value,
)
from medai_core.ct.readers.study import ACCEPTED
from medai_core.deid import deidentify_dataset
from medai_core.errors import ImageInputError

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = [
    "MAX_TILT_DEG",
    "Rescale",
    "deidentify",
    "header_region_terms",
    "parse_dicom",
    "pixel_spacing",
    "read_rescale",
    "shown_metadata",
    "slice_normal",
    "tilt_note",
    "transfer_syntax",
]

MAX_TILT_DEG = 45.0  # slices tilted further than this from axial are sagittal or coronal, not (tilted) axial
_TILT_NOTE_DEG = 0.5  # a tilt above this is reported (gantry tilt or oblique reconstruction)
_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"  # and its multi-frame variants .7.1 to .7.4
_CT_SOP_CLASSES = {"1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.2.1", "1.2.840.10008.5.1.4.1.1.2.2"}

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


def deidentify(ds: Dataset) -> Dataset:
    """A de-identified copy of ``ds``: :func:`medai_core.deid.deidentify_dataset` (PS3.15 basic profile, by
    allow-list, at every depth; UIDs replaced consistently with the per-install key). For the header shown beside
    the image, so an image with burned-in annotation is read (it then says PatientIdentityRemoved NO)."""
    return deidentify_dataset(ds, allow_burned_in=True)


def shown_metadata(ds: Dataset, source_format: str, slices: int) -> dict[str, str]:
    """Display-safe fields of an already de-identified dataset."""
    out = {"Format": source_format, "Slices": str(slices)}
    for keyword in _SHOWN:
        if keyword in ds and ds.get(keyword) not in (None, ""):
            value = ds.get(keyword)
            out[keyword] = "\\".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
            if hasattr(value, "__iter__") and not isinstance(value, str) and keyword == "PixelSpacing":
                out[keyword] = " x ".join(f"{float(v):g}" for v in value)
    return out


def header_region_terms(ds: Dataset) -> tuple[tuple[str, str], ...]:
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


def parse_dicom(data: bytes, name: str) -> Dataset:
    """Parse one DICOM file and check that it is a CT image with pixel data (the size of a deflated file is checked
    before it is inflated).

    Raises:
        ImageInputError: not DICOM, truncated or corrupt, too large to read, not CT, a secondary capture, or no
            pixel data.
    """
    check_deflate_size(data, name, get_settings().max_upload_bytes)
    ds = _read_dataset(data, name)
    _check_ct_image(ds, name)
    return ds


def _read_dataset(data: bytes, name: str) -> Dataset:
    """pydicom's dataset of ``data``, every pydicom failure an ImageInputError."""
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns on odd headers; what is used is validated later
            return pydicom.dcmread(io.BytesIO(data), force=False)
    except MemoryError:
        raise ImageInputError(f"{name} is too large to read in memory; it was not read.") from None
    except Exception as exc:  # pydicom raises many types on truncated or corrupt files
        from pydicom.errors import InvalidDicomError

        if isinstance(exc, InvalidDicomError):
            raise ImageInputError(f"{name} is not a DICOM file. {ACCEPTED}") from None
        raise ImageInputError(
            f"{name} is a truncated or corrupt DICOM file ({type(exc).__name__}). Export it again from the PACS."
        ) from None


def _check_ct_image(ds: Dataset, name: str) -> None:
    """Refuse a dataset that is not a CT image with pixel data (by Modality, or SOPClassUID where it has none).

    Raises:
        ImageInputError: the header ends before the modality and SOP class, another modality, a secondary capture,
            or no pixel data.
    """
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
class Rescale:
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


def read_rescale(ds: Dataset, name: str, frames: int) -> Rescale:
    """The rescale from the top level, the shared functional groups or the per-frame functional groups (Enhanced
    CT often gives one per frame).

    Raises:
        ImageInputError: a rescale value is empty, not a number, non-finite, a zero or negative slope, or out of
            range (see :data:`medai_core.ct.dicom_checks.TAG_RANGES`); RescaleType is not HU; the per-frame groups
            do not hold one item per frame; the stored values go through a modality look-up table instead.
    """

    def constant(slope: float, intercept: float, note: str | None = None) -> Rescale:
        return Rescale(np.full(frames, slope, np.float32), np.full(frames, intercept, np.float32), note)

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
        return Rescale(slopes, intercepts, _NO_INTERCEPT if any(t[2] for t in triples) else None)
    return constant(1.0, 0.0, "no rescale slope/intercept in the header: stored values taken as Hounsfield units")


def _top_or_shared_numbers(ds: Dataset, sequence: str, keyword: str, name: str) -> tuple[float, ...] | None:
    """An attribute's validated numbers at the top level, else in the shared functional group's ``sequence``."""
    values = tag_numbers(ds, keyword, name)
    if values is None:
        item = _functional_item(ds, sequence, name)
        values = None if item is None else tag_numbers(item, keyword, name)
    return values


def _per_frame_numbers(ds: Dataset, sequence: str, keyword: str, name: str) -> set[tuple[float, ...] | None]:
    """The distinct validated values of an attribute across the per-frame functional groups' ``sequence``."""
    items = _per_frame_items(ds, sequence, name) or []
    return {tag_numbers(item, keyword, name) for item in items}


def pixel_spacing(ds: Dataset, name: str) -> tuple[tuple[float, float] | None, str | None]:
    """Validated (row, column) pixel spacing in mm, or None where the header gives none, and a note.

    PixelSpacing is read at the top level, then in the shared, then in the per-frame PixelMeasuresSequence (all
    frames must agree). ImagerPixelSpacing is measured at the detector, not in the patient, and is never used.

    Raises:
        ImageInputError: a spacing value is malformed or out of range, or the frames differ in pixel spacing.
    """
    values = _top_or_shared_numbers(ds, "PixelMeasuresSequence", "PixelSpacing", name)
    if values is None:
        found = _per_frame_numbers(ds, "PixelMeasuresSequence", "PixelSpacing", name)
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


def transfer_syntax(ds: Dataset) -> str:
    """The transfer syntax in words, e.g. ``'JPEG Lossless, Non-Hierarchical, First-Order Prediction (...)'``."""
    meta = getattr(ds, "file_meta", None)
    uid = getattr(meta, "TransferSyntaxUID", None) if meta is not None else None
    if uid is None:
        return "an unknown transfer syntax"
    named = getattr(uid, "name", "") or ""
    return f"{named} ({uid})" if named and named != str(uid) else str(uid)


def slice_normal(ds: Dataset, name: str) -> NDArray[np.float64]:
    """Unit normal of the slices from a validated ImageOrientationPatient: top level, shared functional groups, or
    per-frame functional groups (which must agree); axial where the header gives none."""
    values = _top_or_shared_numbers(ds, "PlaneOrientationSequence", "ImageOrientationPatient", name)
    if values is None:
        found = _per_frame_numbers(ds, "PlaneOrientationSequence", "ImageOrientationPatient", name)
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


def tilt_note(normal: NDArray[np.float64], name: str) -> str | None:
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
