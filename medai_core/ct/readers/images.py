"""PNG, JPEG and TIFF images of a CT slice or a nodule crop, and folders of numbered slice images.

An image is decoded to 8-bit grey and read as the training crops' lung window (:func:`~.study.study_from_u8`). The
EXIF orientation of a photo or export is applied (the pixels are then as a viewer shows them, so a nodule centre
read off the screen points at the nodule); transparent pixels are read as black (0, masked), whatever colour lies
under them; a colour image is turned grey with a note that counts its coloured pixels (annotations drawn in colour
become grey values that look like tissue). 16-bit and float images are refused: their values have no known
Hounsfield scale.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from medai_core import untrusted
from medai_core.config import CT_MAX_IMAGE_PIXELS, CT_MAX_VOXELS
from medai_core.ct.readers.study import ACCEPTED, LIBRARY_ERRORS, CTStudy, study_from_u8
from medai_core.errors import ImageInputError

__all__ = ["IMAGE_FORMATS", "read_image", "read_slice_folder", "read_slice_folder_study"]

IMAGE_FORMATS = {"png": "PNG", "jpeg": "JPEG", "tiff": "TIFF"}  # untrusted.sniff's kind -> the name shown
_NUMBERED = re.compile(r"^(\d+)\.(png|jpe?g|tiff?)$", re.IGNORECASE)
_COLOUR_SPREAD = 24  # grey levels between a pixel's channels above which it is coloured, not grey with JPEG noise
_HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I", "F")  # PIL modes of 16-bit and float images


def read_image(data: bytes, *, name: str) -> CTStudy:
    """Read a PNG, JPEG or TIFF image (recognised by content) as a study in the lung window.

    Raises:
        ImageInputError: the bytes are not one of these image formats, cannot be decoded, declare an image far
            larger than any CT image, are a 16-bit or float image, or the image is too small.
    """
    fmt = IMAGE_FORMATS.get(untrusted.sniff(data) or "")
    if fmt is None:
        raise ImageInputError(f"{name} is not an image, a DICOM file or a zip (unrecognised content). {ACCEPTED}")
    counts = _new_counts()
    volume = _decode_gray(data, name, counts)
    return _image_study(volume, fmt, counts)


def _decode_gray(data: bytes, name: str, counts: dict[str, Any]) -> NDArray[np.uint8]:
    """All frames of an image file as uint8 grey (D, H, W); what was changed to get there is added to ``counts``
    (see :func:`_decoding_notes`).

    The size is checked from the image header before any pixel is decoded (:data:`CT_MAX_IMAGE_PIXELS` per frame,
    :data:`CT_MAX_VOXELS` in all), and every PIL error, including its decompression-bomb check, is an
    ImageInputError.
    """
    from PIL import Image

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            frames = _gray_frames(data, name, counts)
        except ImageInputError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageInputError(
                f"{name} declares an image far larger than any CT image (a decompression bomb); it was not decoded."
            ) from None
        except MemoryError:
            raise ImageInputError(f"{name} is too large to decode in memory; it was not read.") from None
        except LIBRARY_ERRORS as exc:
            raise ImageInputError(f"{name} is not a readable image ({type(exc).__name__}). {ACCEPTED}") from None
    if not frames:
        raise ImageInputError(f"{name} holds no image frame. {ACCEPTED}")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise ImageInputError(f"the frames of {name} differ in size ({sorted(shapes)}); they must match")
    return np.stack(frames)


def _gray_frames(data: bytes, name: str, counts: dict[str, Any]) -> list[NDArray[np.uint8]]:
    """Every frame of the image as uint8 grey, after checking the declared size (PIL's own errors pass through).

    Raises:
        ImageInputError: the declared size is far larger than any CT image, or a frame is 16-bit or float.
    """
    from PIL import Image, ImageSequence

    frames = []
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
            if frame.mode in _HIGH_DEPTH_MODES:
                raise ImageInputError(
                    f"{name} is a 16-bit or float image; its values have no known Hounsfield scale. Upload "
                    "the DICOM file instead, or an 8-bit image in a lung window."
                )
            frames.append(_frame_gray(frame, counts))
    return frames


def _new_counts() -> dict[str, Any]:
    """Empty counts of what decoding changed (rotated, transparent and coloured pixels, the EXIF camera)."""
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
    """Read a folder of consecutive slice images ``<k>.png`` of one nodule (the LIDC crop layout) as uint8 grey
    (D, H, W) in slice order; see :func:`_read_slice_folder`."""
    return _read_slice_folder(folder, _new_counts())


def read_slice_folder_study(folder: Path) -> CTStudy:
    """A folder of numbered slice images as a study in the lung window, with notes on what decoding changed (EXIF
    rotation, transparency, colour); see :func:`_read_slice_folder`."""
    counts = _new_counts()
    volume = _read_slice_folder(folder, counts)
    return _image_study(volume, "image folder", counts)


def _read_slice_folder(folder: Path, counts: dict[str, Any]) -> NDArray[np.uint8]:
    """Read a folder of consecutive slice images ``<k>.png`` of one nodule (the LIDC crop layout).

    Args:
        folder: holds ``1.png, 2.png, ...`` (PNG, JPEG or TIFF), numbered in slice order.
        counts: what decoding changed is added to it (see :func:`_decoding_notes`).

    Returns:
        uint8 (D, H, W) in slice order.

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
    slices = [_decode_gray(p.read_bytes(), p.name, counts)[0] for _, p in sorted(numbered)]
    shapes = {s.shape for s in slices}
    if len(shapes) != 1:
        raise ImageInputError(f"the slices in {folder.name!r} differ in size ({sorted(shapes)}); they must match")
    return np.stack(slices)
