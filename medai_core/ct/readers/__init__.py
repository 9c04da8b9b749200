"""Readers for CT inputs: images (PNG/JPEG/TIFF), a folder of slice images, DICOM files and zipped DICOM series.

Every reader returns a :class:`CTStudy`: the image in Hounsfield units, its spacing where known, and a
*de-identified* metadata dict. Uploads stay in memory, and every byte of them is first looked at through
:mod:`medai_core.untrusted` (the format is sniffed from the content, never from the name; zips are unpacked with
its limits). One module per kind of input:

=========================  ===================================================================================
module                     reads
=========================  ===================================================================================
:mod:`.study`              what every reader returns, shared limits, lung-window grey values as a study
:mod:`.images`             PNG, JPEG and TIFF images, folders of numbered slice images
:mod:`.header`             DICOM parsing, the CT checks, de-identification, rescale, pixel spacing, orientation
:mod:`.pixels`             DICOM pixel data to Hounsfield units, with the checks that they are a CT's
:mod:`.dicom`              one DICOM file, single slice or (enhanced) multi-frame
:mod:`.series`             slice spacing from positions or the header; a series assembled from its files
:mod:`.archive`            a zip of one DICOM series
=========================  ===================================================================================

Each reader takes ``(data: bytes, *, name: str, **options)``; :func:`read_ct` recognises the input and calls the
right one.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from medai_core import untrusted
from medai_core.ct.readers.archive import read_dicom_zip
from medai_core.ct.readers.dicom import read_dicom
from medai_core.ct.readers.header import deidentify
from medai_core.ct.readers.images import read_image, read_slice_folder, read_slice_folder_study
from medai_core.ct.readers.study import (
    ACCEPTED,
    LIBRARY_ERRORS,
    MIN_IMAGE_SIDE,
    PIXEL_MM_RANGE,
    CTStudy,
    check_pixel_mm,
    study_from_u8,
    with_pixel_size,
)
from medai_core.errors import ImageInputError, InputError
from medai_core.files import read_input_file

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
    "read_image",
    "read_slice_folder",
    "study_from_u8",
    "with_pixel_size",
]

_LIBRARY_MODULES = ("pydicom", "PIL", "zipfile", "zlib", "numpy")  # whose exceptions on hostile bytes are bad input


def read_ct(data: bytes, *, name: str = "the upload", pixel_mm: float | None = None) -> CTStudy:
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
        study = _read_by_content(data, name)
    except InputError:
        raise
    except MemoryError:
        raise ImageInputError(f"{name} is too large to read in memory; it was not read.") from None
    except Exception as exc:  # the reader boundary: any library failure on hostile bytes is bad input
        library = type(exc).__module__.split(".")[0] in _LIBRARY_MODULES
        if not (isinstance(exc, LIBRARY_ERRORS) or library):
            raise
        raise ImageInputError(
            f"{name} could not be read ({type(exc).__name__}): the file is corrupt or not a supported CT format. "
            f"{ACCEPTED}"
        ) from None
    return with_pixel_size(study, pixel_mm)


def _read_by_content(data: bytes, name: str) -> CTStudy:
    """The reader :func:`medai_core.untrusted.sniff` picks: zip, DICOM, else an image (which refuses anything
    else). pydicom's value warnings on hostile headers are silenced: the values used are checked."""
    kind = untrusted.sniff(data)
    if kind not in ("zip", "dicom"):
        return read_image(data, name=name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_dicom_zip(data, name=name) if kind == "zip" else read_dicom(data, name=name)


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
        return with_pixel_size(read_slice_folder_study(path), pixel_mm)
    data = read_input_file(path, ImageInputError, "an image, a DICOM file, a zip or a folder of slices")
    return read_ct(data, name=path.name, pixel_mm=pixel_mm)
