"""Checks of untrusted DICOM headers before any value is used: every numeric tag the CT reader needs, read once,
validated against one table of plausible ranges, and the size of the pixel data checked against Rows x Columns x
Frames before anything is decoded.

A value outside its range is never replaced by a default that looks like an answer: the file is refused with a
message that names the field, what it held and what a CT file holds there. Pure functions of a parsed
:class:`pydicom.dataset.Dataset`; nothing here keeps state.
"""

from __future__ import annotations

import math
import struct
import warnings
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.ct.dicom_dictionary import ATTRIBUTES, vm_text
from medai_core.errors import ImageInputError

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = [
    "AIR_HU",
    "HU_RANGE",
    "SLICE_SPACING_MM",
    "TAG_CODES",
    "TAG_RANGES",
    "TagRange",
    "check_deflate_size",
    "check_pixel_data",
    "has_tag",
    "orientation_normal",
    "tag_code",
    "tag_integer",
    "tag_numbers",
    "tag_value",
]


@dataclass(frozen=True)
class TagRange:
    """What a CT file holds in one numeric tag (how many values: :data:`~medai_core.ct.dicom_dictionary.ATTRIBUTES`).

    Attributes:
        low: smallest plausible value (inclusive).
        high: largest plausible value (inclusive).
        meaning: the tag in words, with its unit, for messages.
        positive: the value must also be strictly above 0.
        empty_means_unknown: an empty value is allowed and means unknown (DICOM type 2 attributes).
    """

    low: float
    high: float
    meaning: str
    positive: bool = False
    empty_means_unknown: bool = False


SLICE_SPACING_MM = (0.1, 50.0)
"""The one floor and ceiling (mm) of a slice spacing however it is obtained: SliceThickness or SpacingBetweenSlices,
ImagePositionPatient differences in a series, per-frame positions in an Enhanced CT. The thinnest clinical CT
reconstructions are about 0.2-0.25 mm; a smaller step is a header error (a 0.002 mm step turns a 10 mm nodule into
a 1 mm3 volume), and slices further apart than 50 mm are not one series."""

TAG_RANGES: dict[str, TagRange] = {
    "RescaleSlope": TagRange(1e-3, 1e3, "the rescale slope (HU per stored value)", positive=True),
    "RescaleIntercept": TagRange(-1e5, 1e5, "the rescale intercept (HU)"),
    "PixelSpacing": TagRange(0.05, 5.0, "the pixel spacing (mm, row and column)", positive=True),
    "SliceThickness": TagRange(*SLICE_SPACING_MM, "the slice thickness (mm)", positive=True, empty_means_unknown=True),
    "SpacingBetweenSlices": TagRange(*SLICE_SPACING_MM, "the spacing between slices (mm)", positive=True),
    "ImagePositionPatient": TagRange(-1e6, 1e6, "the image position (x, y, z in mm)"),
    "ImageOrientationPatient": TagRange(-1.0001, 1.0001, "the image orientation (two unit direction vectors)"),
    "Rows": TagRange(1, 8192, "the number of rows", positive=True),
    "Columns": TagRange(1, 8192, "the number of columns", positive=True),
    "NumberOfFrames": TagRange(1, 65536, "the number of frames", positive=True),
    "BitsAllocated": TagRange(1, 64, "the bits per stored value", positive=True),
    "BitsStored": TagRange(1, 64, "the bits used per stored value", positive=True),
    "PixelRepresentation": TagRange(0, 1, "the pixel representation (0 unsigned, 1 signed)"),
    "SamplesPerPixel": TagRange(1, 4, "the samples per pixel", positive=True),
    "InstanceNumber": TagRange(-1e9, 1e9, "the instance number"),
    "PixelPaddingValue": TagRange(-32768, 65535, "the pixel padding value (stored value outside the scan)"),
    "PixelPaddingRangeLimit": TagRange(-32768, 65535, "the pixel padding range limit (stored value)"),
}
"""The one table of numeric DICOM tags the CT reader uses and their plausible values."""

TAG_CODES: dict[str, tuple[frozenset[str], str]] = {
    "RescaleType": (frozenset({"HU"}), "the unit of the rescaled values (RescaleType)"),
    "PhotometricInterpretation": (
        frozenset({"MONOCHROME1", "MONOCHROME2"}),
        "the pixel colour model (PhotometricInterpretation)",
    ),
}
"""The one table of coded (text) DICOM tags the CT reader uses: the values accepted, and the tag in words."""

AIR_HU = -1024.0
"""Hounsfield value given to padding pixels (outside the scanned field of view): air, as scanners write it."""

HU_RANGE = (-32768.0, 32767.0)
"""Hounsfield values a CT holds after rescaling (the int16 range; tissue and metal lie within about -1024..+30000).
Values above are refused (the rescale is wrong); padding below is set to the floor (it is outside the body)."""

_NATIVE_SYNTAXES = {
    "1.2.840.10008.1.2",  # implicit VR little endian
    "1.2.840.10008.1.2.1",  # explicit VR little endian
    "1.2.840.10008.1.2.2",  # explicit VR big endian
    "1.2.840.10008.1.2.1.99",  # deflated explicit VR little endian (native once inflated)
}
DEFLATED_SYNTAX = b"1.2.840.10008.1.2.1.99"


_ABSENT = object()


def _element_value(ds: Dataset, keyword: str, name: str) -> Any:
    """The element's value, or ``_ABSENT`` where the tag is not in ``ds``; a corrupt element, or one whose VR or
    number of values is not what DICOM PS3.6 gives it (:data:`~medai_core.ct.dicom_dictionary.ATTRIBUTES`), is an
    ImageInputError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pydicom warns on invalid DS/IS strings; they are refused below
            if keyword not in ds:
                return _ABSENT
            element = ds[keyword]
            value = element.value
            vr, vm = str(element.VR), int(element.VM)
    except Exception as exc:  # pydicom parses lazily: a corrupt element fails here (many exception types)
        raise ImageInputError(
            f"{name}: the {keyword} field of the DICOM header cannot be read ({type(exc).__name__}); the file is "
            "corrupt. Export it again from the PACS."
        ) from None
    _check_vr_vm(keyword, vr, vm, name)
    return value


def _meaning(keyword: str) -> str:
    """The attribute in words for messages: ``'the pixel spacing (mm, row and column) (PixelSpacing)'``."""
    if keyword in TAG_RANGES:
        return f"{TAG_RANGES[keyword].meaning} ({keyword})"
    if keyword in TAG_CODES:
        return TAG_CODES[keyword][1]
    return keyword


def _check_vr_vm(keyword: str, vr: str, vm: int, name: str) -> None:
    """Refuse an element whose VR or (non-zero) number of values is not PS3.6's; an empty element (0 values) is left
    to the caller (type 2 attributes may be empty)."""
    rule = ATTRIBUTES.get(keyword)
    if rule is None:
        return
    if vr not in rule.vrs:
        raise ImageInputError(
            f"{name}: {_meaning(keyword)} is stored as {vr[:12]!r}, where DICOM (PS3.6) gives it the value "
            f"representation {' or '.join(rule.vrs[:2])}. The header is malformed; its value is not used. Export the "
            "file again."
        )
    if vm and (vm < rule.vm_min or (rule.vm_max is not None and vm > rule.vm_max)):
        raise ImageInputError(
            f"{name}: {_meaning(keyword)} holds {vm} value(s), where DICOM (PS3.6) gives it {vm_text(rule)}. The "
            "header is malformed; which of its values is meant cannot be known. Export the file again."
        )


def tag_value(ds: Dataset, keyword: str, name: str) -> Any:
    """The element's raw value, or None where the tag is absent.

    Raises:
        ImageInputError: the element cannot be parsed (a corrupt, lazily read header).
    """
    value = _element_value(ds, keyword, name)
    return None if value is _ABSENT else value


def has_tag(ds: Dataset, keyword: str, name: str) -> bool:
    """Whether the tag is present (even empty).

    Raises:
        ImageInputError: the element cannot be parsed.
    """
    return _element_value(ds, keyword, name) is not _ABSENT


def _as_floats(value: Any, keyword: str, name: str) -> tuple[float, ...]:
    """Every value of a DS/IS/US/FL/FD element as a float (empty tuple for an empty element)."""
    if value is None or (isinstance(value, (str, bytes)) and not value.strip()):
        return ()
    items = list(value) if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue" else [value]
    out = []
    for item in items:
        text = item.decode("ascii", "replace") if isinstance(item, bytes) else item
        try:
            out.append(float(text))
        except (TypeError, ValueError, OverflowError):
            shown = str(text)[:24]
            raise ImageInputError(
                f"{name}: {TAG_RANGES[keyword].meaning} ({keyword}) is {shown!r}, not a number. The header is "
                "malformed; export the file again."
            ) from None
    return tuple(out)


def tag_numbers(ds: Dataset, keyword: str, name: str) -> tuple[float, ...] | None:
    """The validated values of a numeric tag from :data:`TAG_RANGES`, or None where the tag is absent.

    Args:
        ds: the parsed header (or a functional-group item).
        keyword: a key of :data:`TAG_RANGES`.
        name: how messages refer to the file.

    Returns:
        exactly as many finite values within the range as DICOM PS3.6 gives the tag
        (:data:`~medai_core.ct.dicom_dictionary.ATTRIBUTES`).

    Raises:
        ImageInputError: the tag is present but empty (except type 2 tags, where empty means unknown and None is
            returned), stored with another VR, holding more or fewer values than PS3.6 gives it, not numeric,
            non-finite or out of range.
    """
    rule = TAG_RANGES[keyword]
    value = _element_value(ds, keyword, name)
    if value is _ABSENT:
        return None
    values = _as_floats(value, keyword, name)
    if not values and rule.empty_means_unknown:
        return None
    count = ATTRIBUTES[keyword].vm_min
    if len(values) != count:
        held = "is empty" if not values else f"holds {len(values)} value(s)"
        raise ImageInputError(
            f"{name}: {rule.meaning} ({keyword}) {held}; DICOM (PS3.6) gives it {count}. The header is malformed; "
            "export the file again."
        )
    for v in values:
        if not (math.isfinite(v) and rule.low <= v <= rule.high and (v > 0 or not rule.positive)):
            raise ImageInputError(
                f"{name}: {rule.meaning} ({keyword}) is {v:g}, outside what a CT file holds ({rule.low:g} to "
                f"{rule.high:g}{', above 0' if rule.positive else ''}). The header is wrong; the image cannot be "
                "measured or scaled safely."
            )
    return values


def tag_code(ds: Dataset, keyword: str, name: str) -> str | None:
    """The value of a coded tag from :data:`TAG_CODES` (stripped, upper case), or None where absent or empty.

    Raises:
        ImageInputError: the tag holds a value that is not accepted (the message names what it held and what a CT
            file holds).
    """
    accepted, meaning = TAG_CODES[keyword]
    value = _element_value(ds, keyword, name)
    if value is _ABSENT or value is None:
        return None
    text = str(value).strip().upper()
    if not text:
        return None
    if text not in accepted:
        raise ImageInputError(
            f"{name}: {meaning} is {text[:32]!r}, where a CT image holds {' or '.join(sorted(accepted))}. Its pixel "
            "values are not Hounsfield units, so it cannot be measured; upload the original CT series."
        )
    return text


def tag_integer(ds: Dataset, keyword: str, name: str, default: int | None = None) -> int:
    """One whole-number tag (Rows, Columns, NumberOfFrames, ...), validated; ``default`` where absent.

    Raises:
        ImageInputError: absent without a default, or not a whole number within its range.
    """
    values = tag_numbers(ds, keyword, name)
    if values is None:
        if default is None:
            raise ImageInputError(f"{name}: the DICOM header has no {keyword}; {TAG_RANGES[keyword].meaning} is needed")
        return default
    if not float(values[0]).is_integer():
        raise ImageInputError(f"{name}: {TAG_RANGES[keyword].meaning} ({keyword}) is {values[0]:g}, not a whole number")
    return int(values[0])


def orientation_normal(values: tuple[float, ...], name: str) -> NDArray[np.float64]:
    """The slice normal of a validated ImageOrientationPatient (row and column direction cosines).

    Raises:
        ImageInputError: the two vectors are not unit vectors, or are parallel.
    """
    row, col = np.array(values[:3]), np.array(values[3:6])
    if not (0.9 <= np.linalg.norm(row) <= 1.1 and 0.9 <= np.linalg.norm(col) <= 1.1):
        raise ImageInputError(
            f"{name}: the image orientation (ImageOrientationPatient) does not hold two unit vectors; the slice "
            "order cannot be known. The header is wrong; export the series again."
        )
    normal = np.cross(row, col)
    if np.linalg.norm(normal) < 0.5:
        raise ImageInputError(
            f"{name}: the image orientation (ImageOrientationPatient) gives parallel row and column directions; the "
            "header is wrong. Export the series again."
        )
    return np.asarray(normal / np.linalg.norm(normal), dtype=np.float64)


def check_pixel_data(ds: Dataset, name: str, max_voxels: int) -> tuple[int, int, int]:
    """Check the image size from the header before decoding: (frames, rows, columns).

    Rows x Columns x Frames must stay within ``max_voxels``; one sample per pixel (grey); and for uncompressed
    transfer syntaxes the PixelData length must equal Rows x Columns x Frames x bytes per value (one padding byte
    allowed), so a slice is never read as two, nor two as one.

    Raises:
        ImageInputError: missing or implausible Rows/Columns/NumberOfFrames/BitsAllocated, colour data, a volume
            above ``max_voxels``, or pixel data whose length does not match the header.
    """
    rows = tag_integer(ds, "Rows", name)
    columns = tag_integer(ds, "Columns", name)
    frames = tag_integer(ds, "NumberOfFrames", name, default=1)
    samples = tag_integer(ds, "SamplesPerPixel", name, default=1)
    bits = tag_integer(ds, "BitsAllocated", name, default=16)
    if samples != 1:
        raise ImageInputError(f"{name} holds colour pixel data ({samples} samples per pixel); CT slices are grey")
    voxels = rows * columns * frames
    if voxels > max_voxels:
        raise ImageInputError(
            f"{name} declares {columns} x {rows} pixels x {frames} frame(s) = {voxels:,} voxels, above the "
            f"{max_voxels:,}-voxel limit of this tool; it was not decoded. Upload the slices around the nodule."
        )
    syntax = ""
    meta = getattr(ds, "file_meta", None)
    if meta is not None:
        syntax = str(tag_value(meta, "TransferSyntaxUID", name) or "")
    if (not syntax or syntax in _NATIVE_SYNTAXES) and bits % 8 == 0:
        try:
            element = ds.get_item("PixelData")
            length = None if element is None else len(element.value or b"")
        except Exception as exc:
            raise ImageInputError(
                f"{name}: the pixel data cannot be read ({type(exc).__name__}); the file is truncated or corrupt"
            ) from None
        if length is not None:
            expected = voxels * bits // 8
            if length not in (expected, expected + 1):
                raise ImageInputError(
                    f"{name}: the pixel data holds {length:,} bytes, but the header's {columns} x {rows} pixels x "
                    f"{frames} frame(s) at {bits} bits need {expected:,}. The header does not match the image "
                    "(truncated file, or wrong Rows/Columns/NumberOfFrames); it was not read."
                )
    return frames, rows, columns


def check_deflate_size(data: bytes, name: str, max_bytes: int) -> None:
    """Refuse a deflated DICOM file that inflates to more than ``max_bytes`` (a zip bomb), before pydicom
    inflates it. Other transfer syntaxes pass unchanged.

    Raises:
        ImageInputError: the deflated data set is corrupt or inflates beyond ``max_bytes``.
    """
    if len(data) < 144 or data[128:132] != b"DICM" or DEFLATED_SYNTAX not in data[132:1024]:
        return
    try:
        tag, vr, _, length = struct.unpack("<I2sHI", data[132:144])
    except struct.error:
        return
    if tag != 0x00000002 or vr != b"UL":  # (0002,0000) group length: the data set follows the file meta group
        return
    start = 144 + length
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data[start:], max_bytes + 1)
    except zlib.error as exc:
        raise ImageInputError(f"{name}: the deflated DICOM data set is corrupt ({exc}); export it again") from None
    if len(out) > max_bytes:
        raise ImageInputError(
            f"{name} is a deflated DICOM file that unpacks to more than {max_bytes / 2**20:.0f} MiB; it was not read"
        )


def is_native(ds: Dataset, name: str) -> bool:
    """Whether the pixel data is stored uncompressed (a native transfer syntax, or none named)."""
    meta = getattr(ds, "file_meta", None)
    syntax = "" if meta is None else str(tag_value(meta, "TransferSyntaxUID", name) or "")
    return not syntax or syntax in _NATIVE_SYNTAXES


def stored_value_range(ds: Dataset, name: str, dtype: np.dtype[Any]) -> tuple[int, int, bool]:
    """(lowest, highest, signed) stored value the header allows: BitsStored bits, signed where PixelRepresentation
    is 1 (PS3.3 C.7.6.3.1.1); defaults to the full range of ``dtype``.

    Raises:
        ImageInputError: BitsStored is larger than BitsAllocated, or BitsStored/PixelRepresentation are malformed.
    """
    allocated = 8 * dtype.itemsize
    bits = tag_integer(ds, "BitsStored", name, default=allocated)
    signed = tag_integer(ds, "PixelRepresentation", name, default=int(np.issubdtype(dtype, np.signedinteger))) == 1
    declared = tag_integer(ds, "BitsAllocated", name, default=allocated)
    if bits > declared:
        raise ImageInputError(
            f"{name}: {TAG_RANGES['BitsStored'].meaning} (BitsStored) is {bits}, more than the {declared} bits "
            "allocated per value (BitsAllocated). The header is malformed; export the file again."
        )
    bits = min(bits, allocated)
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1, True
    return 0, 2**bits - 1, False


def outside_stored_range(raw: NDArray[Any], low: int, high: int, signed: bool) -> NDArray[np.bool_]:
    """Stored values (as read, unused high bits not masked) that the header's BitsStored does not allow.

    Signed values written without sign extension (the unused high bits 0, e.g. -2000 in 12 bits stored as 2096)
    are allowed: their meaning is fixed by PS3.5 8.1.1.
    """
    inside = (raw >= low) & (raw <= high)
    if signed:
        inside |= (raw >= 0) & (raw <= 2 * high + 1)
    return np.asarray(~inside)


PLAUSIBLE_HU = (-1100.0, 3500.0)
"""Hounsfield units a chest CT holds inside its field of view: air (-1000) and its noise down to about -1100, bone
and contrast up to about +3000; metal beyond +3500 is a small fraction of a slice."""
IMPLAUSIBLE_SHARE = 0.05
"""Largest share of the pixels inside the field of view beyond :data:`PLAUSIBLE_HU`."""
AIR_OR_LUNG_HU = -700.0
AIR_SHARE = 0.005
"""A chest CT slice holds air or lung (at or below :data:`AIR_OR_LUNG_HU`) in at least this share of its pixels."""


def _field_of_view(shape: tuple[int, ...]) -> NDArray[np.bool_]:
    """Pixels inside the circle inscribed in the slice, where a scanner reconstructs (outside it, it writes a fill)."""
    rows, columns = shape[-2], shape[-1]
    r = (np.arange(rows) + 0.5 - rows / 2) / (rows / 2)
    c = (np.arange(columns) + 0.5 - columns / 2) / (columns / 2)
    return np.asarray(r[:, None] ** 2 + c[None, :] ** 2 <= 1.0)


def implausible_hu(hu: NDArray[np.float32], *, need_air: bool = True) -> str | None:
    """Why ``hu`` (D, H, W, after rescale and padding) is not a CT's Hounsfield units, or None where it is.

    Inside the field of view (the inscribed circle) at most :data:`IMPLAUSIBLE_SHARE` of the pixels may lie below
    or above :data:`PLAUSIBLE_HU` (outside it scanners write a fill, often -2048 or -3024 HU), and, where
    ``need_air`` (a whole volume, not one slice of a series, which may lie below the lungs), at least
    :data:`AIR_SHARE` of the pixels must be air or lung.
    """
    if hu.size == 0:
        return None
    low, high = PLAUSIBLE_HU
    inside = hu[:, _field_of_view(hu.shape)] if min(hu.shape[1:]) >= 8 else hu.reshape(hu.shape[0], -1)
    below = float((inside < low).mean())
    above = float((hu > high).mean())
    air = float((hu <= AIR_OR_LUNG_HU).mean())
    if below > IMPLAUSIBLE_SHARE:
        return f"{below:.0%} of the pixels inside the field of view lie below {low:g} HU (air is -1000 HU)"
    if above > IMPLAUSIBLE_SHARE:
        return f"{above:.0%} of the pixels lie above {high:g} HU (bone and contrast stay below; metal is small)"
    if need_air and air < AIR_SHARE:
        return f"no air or lung: {air:.1%} of the pixels at or below {AIR_OR_LUNG_HU:g} HU, where a chest CT has air"
    return None
