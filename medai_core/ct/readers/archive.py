"""A zip of one DICOM CT series: unpacked through :func:`medai_core.untrusted.unzip` (member count, names, size and
ratio limits), its DICOM members recognised by content, then read as one multi-frame file or one series."""

from __future__ import annotations

from dataclasses import replace
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from medai_core import untrusted
from medai_core.config import get_settings
from medai_core.ct.readers.dicom import dataset_study
from medai_core.ct.readers.header import parse_dicom
from medai_core.ct.readers.series import one_series, series_study
from medai_core.ct.readers.study import ACCEPTED, CTStudy
from medai_core.errors import ImageInputError

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

__all__ = ["read_dicom_zip"]

_ZIP_ADVICE = "Zip the folder of the one DICOM CT series that holds the nodule."


def read_dicom_zip(data: bytes, *, name: str = "the zip file", max_bytes: int | None = None) -> CTStudy:
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
        (member, parse_dicom(body, PurePosixPath(member).name))
        for member, body in members
        if untrusted.sniff(body) == "dicom"
    ]
    if not datasets:
        raise ImageInputError(f"{name} holds no DICOM files (none starts with the DICM preamble). {ACCEPTED}")
    items, scouts = one_series(datasets, name)
    if len(items) == 1:
        return _one_file_study(items[0], scouts)
    return series_study(items, name, scouts=scouts)


def _one_file_study(item: tuple[str, Dataset], scouts: int) -> CTStudy:
    """The study of a series zipped as one file, perhaps multi-frame: its frames are ordered as a multi-frame file's
    are (:func:`~medai_core.ct.readers.dicom.dataset_study`), the format says it came zipped."""
    study = dataset_study(item[1], PurePosixPath(item[0]).name)
    fmt = f"{study.source_format} (zip)"
    scout_note = (f"{scouts} localizer (scout) image(s) left out",) if scouts else ()
    metadata = {**study.metadata, "Format": fmt}
    return replace(study, source_format=fmt, metadata=metadata, notes=(*study.notes, *scout_note))
