"""Reading an input file named on the command line: it must exist and stay under the upload limit."""

from __future__ import annotations

from pathlib import Path

from medai_core.config import get_settings
from medai_core.errors import InputError, UploadTooLargeError

__all__ = ["read_input_file"]


def read_input_file(path: Path, missing: type[InputError], accepted: str) -> bytes:
    """The bytes of ``path``, read whole (inputs are held in memory, as uploads are).

    Args:
        path: the file to read.
        missing: the domain's InputError subclass to raise when ``path`` is not a file.
        accepted: what the command accepts, for the message (e.g. "a MAF, annotated VCF or CSV panel").

    Raises:
        InputError: ``path`` does not exist or is not a file (as ``missing``).
        UploadTooLargeError: the file is above ``MEDAI_MAX_UPLOAD_MB``.
    """
    path = Path(path)
    if not path.is_file():
        raise missing(f"{path}: no such file (does not exist or is not a file). Give {accepted}.")
    limit = get_settings().max_upload_bytes
    size = path.stat().st_size
    if size > limit:
        raise UploadTooLargeError(
            f"{path.name} is {size / 2**20:.1f} MiB, above the {limit / 2**20:.0f} MiB limit (MEDAI_MAX_UPLOAD_MB)."
        )
    return path.read_bytes()
