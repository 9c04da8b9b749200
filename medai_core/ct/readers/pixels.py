"""DICOM pixel data to Hounsfield units, with every check that the values are a CT's.

PhotometricInterpretation other than MONOCHROME1/2 is refused; MONOCHROME1 is not inverted (it inverts the display
only); PixelPaddingValue pixels below air become air (-1024 HU). Stored values must lie within BitsStored and
PixelRepresentation, and the Hounsfield units within what a chest CT holds
(:func:`~medai_core.ct.dicom_checks.implausible_hu`); a file whose pixel bytes are in the other byte order is
refused as such.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from medai_core.ct.dicom_checks import (
    AIR_HU,
    HU_RANGE,
    IMPLAUSIBLE_SHARE,
    check_pixel_data,
    implausible_hu,
    is_native,
    outside_stored_range,
    stored_value_range,
    tag_code,
    tag_numbers,
)
from medai_core.ct.readers.header import Rescale, read_rescale, transfer_syntax
from medai_core.errors import ImageInputError

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["pixels_hu"]

_MAX_PADDING_SHARE = 0.9  # outside the circular field of view is ~21 % of a square slice; beyond 90 % the header lies
_AIR_CHECK_HU = -500.0  # a CT slice holds air or lung at or below this; stored values that never reach it are not HU


def pixels_hu(
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
    rescale = read_rescale(ds, name, frames)
    pixels = _decoded_pixels(ds, name, (frames, rows, columns))
    pixels = _checked_stored_values(ds, pixels, rescale, name)
    hu, padding, notes = _to_hu(ds, pixels, rescale, name)
    if photometric == "MONOCHROME1":
        notes.append(
            "MONOCHROME1 image (shown inverted by DICOM viewers): Hounsfield units taken from the rescale, which "
            "does not depend on the display"
        )
    _check_hounsfield(ds, pixels, hu, padding, rescale, name, whole_volume=whole_volume)
    low_hu = HU_RANGE[0]
    below = hu < low_hu
    if below.any():  # padding outside the scanned field: below every window, set to the floor
        np.maximum(hu, np.float32(low_hu), out=hu)
        notes.append(f"{int(below.sum())} padding value(s) below {low_hu:g} HU set to {low_hu:g} HU (outside the body)")
    return hu, tuple(notes)


def _decoded_pixels(ds: Dataset, name: str, shape: tuple[int, int, int]) -> NDArray[Any]:
    """The decoded stored values (frames, rows, columns), checked against the header's ``shape``.

    Raises:
        ImageInputError: decoding fails (too large, missing codec, truncated data), or the decoded shape differs
            from the header's.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pixels = np.asarray(ds.pixel_array)
    except MemoryError:
        raise ImageInputError(f"the pixel data of {name} is too large to decode in memory") from None
    except Exception as exc:  # missing codec, truncated pixel data, bad transfer syntax
        raise ImageInputError(
            f"the pixel data of {name} cannot be decoded ({type(exc).__name__}). It is stored as "
            f"{transfer_syntax(ds)}: the file may be truncated, or compressed with a codec this installation "
            "does not have. Export it uncompressed (Explicit VR Little Endian)."
        ) from None
    if pixels.ndim == 2:
        pixels = pixels[None]
    if pixels.shape != shape:
        frames, rows, columns = shape
        raise ImageInputError(
            f"{name} decodes to pixel data of shape {pixels.shape}, but its header says {frames} frame(s) of "
            f"{columns} x {rows}; expected grey slices matching the header (colour or a malformed header?)"
        )
    return pixels


def _check_hounsfield(
    ds: Dataset,
    pixels: NDArray[Any],
    hu: NDArray[np.float32],
    padding: NDArray[np.bool_] | None,
    rescale: Rescale,
    name: str,
    *,
    whole_volume: bool,
) -> None:
    """Refuse values that are not a CT's Hounsfield units after the rescale (see :func:`pixels_hu`); a file whose
    values are a CT's only with their bytes swapped is refused as such first.

    Raises:
        ImageInputError: mostly padding, non-finite values, no air where the rescale was assumed, values beyond
            :data:`~medai_core.ct.dicom_checks.HU_RANGE`, Hounsfield units no chest CT holds, or swapped bytes.
    """
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


def _to_hu(
    ds: Dataset, pixels: NDArray[Any], rescale: Rescale, name: str
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


def _checked_stored_values(ds: Dataset, pixels: NDArray[Any], rescale: Rescale, name: str) -> NDArray[Any]:
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


def _refuse_byte_swap(ds: Dataset, pixels: NDArray[Any], rescale: Rescale, name: str) -> None:
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
        f"({transfer_syntax(ds)}): read as declared the values are not Hounsfield units, and with each value's "
        "bytes swapped they are. The file was written wrongly; it was not read. Export it again from the PACS."
    )


def _padding_mask(
    ds: Dataset, pixels: NDArray[Any], hu: NDArray[np.float32], rescale: Rescale, name: str
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
