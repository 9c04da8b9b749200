"""Untrusted bytes: the one layer every reader uses before it parses a format.

An upload (or a file named on the command line) is bytes from an unknown source. This module turns them into
something a format parser may look at, or refuses them with the calling domain's ``InputError`` (each function
takes the class as ``error``, so a CGM file fails with ``CGMInputError`` and a panel with ``PanelInputError``):

=============================  ==========================================================================
step                           rule
=============================  ==========================================================================
:func:`sniff`                  the format from the content (magic numbers), never from the file name
:func:`gunzip`                 every gzip member is read and joined (``cat a.gz b.gz``, BGZF, many
                               exporters); zero padding after the last member is allowed, anything else,
                               a truncated or corrupt member, or more than :data:`MAX_DECOMPRESSED_BYTES`
                               unpacked is refused
:func:`unzip`                  at most :data:`MAX_ZIP_MEMBERS` files, no name escaping the archive, the
                               unpacked total under the caller's limit (``UploadTooLargeError``) and no
                               member packed tighter than :data:`MAX_ZIP_RATIO` to 1 (a zip bomb)
:func:`refuse_binary`          NUL bytes in the first :data:`SNIFF_BYTES` mean a binary file, not text
:func:`decode_text`            UTF-8 (a byte-order mark is dropped); if the bytes are not UTF-8, the one
                               fallback is Windows-1252 (what Excel and Windows tools write), where the
                               five bytes Windows-1252 leaves undefined read as Latin-1, so every byte
                               string decodes and nothing is silently dropped
:func:`check_lines`            at most ``max_lines`` lines, ``max_line_chars`` characters per line and
                               ``max_columns`` fields in the first :data:`WIDTH_SAMPLE_LINES` lines
=============================  ==========================================================================

The domain readers keep the limits that are facts about their own files (how many readings or variant rows a
file may hold, how long its lines are) as named constants beside them and pass them in; the limits here are facts
about compressed containers and are the same for every domain.
"""

from __future__ import annotations

import codecs
import io
import re
import struct
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import PurePosixPath

from medai_core.errors import InputError, UploadTooLargeError

__all__ = [
    "MAX_DECOMPRESSED_BYTES",
    "MAX_ZIP_MEMBERS",
    "MAX_ZIP_RATIO",
    "SNIFF_BYTES",
    "TEXT_FALLBACK_ENCODING",
    "WIDTH_SAMPLE_LINES",
    "check_lines",
    "decode_text",
    "gunzip",
    "refuse_binary",
    "sniff",
    "unzip",
]

MAX_DECOMPRESSED_BYTES = 256 * 2**20
"""Largest size a gzip-compressed upload may unpack to (256 MiB; a compressed MAF of 100,000 rows, or two years of
CGM readings, unpack to far less)."""
MAX_ZIP_MEMBERS = 4096
"""Most files one zip upload may hold (a CT series has a few hundred slices)."""
MAX_ZIP_RATIO = 250
"""Largest unpacked-to-packed size ratio of one zip member. Deflate reaches about 1,000 to 1 only on runs of one
byte; real DICOM slices pack 2 to 20 to 1, so a member above this is a zip bomb, refused before it is inflated."""
SNIFF_BYTES = 4096
"""Bytes looked at to recognise a format, and searched for NUL bytes before text is decoded."""
TEXT_FALLBACK_ENCODING = "cp1252"
"""The one encoding tried when the bytes are not UTF-8 (see the module docstring)."""
WIDTH_SAMPLE_LINES = 50
"""Lines whose field count :func:`check_lines` checks against ``max_columns``."""

_GZIP_MAGIC = b"\x1f\x8b"
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"DICM", 128, "dicom"),  # first: the 128-byte preamble may itself hold another header (DICOM-TIFF files)
    (_GZIP_MAGIC, 0, "gzip"),
    (b"PK\x03\x04", 0, "zip"),
    (b"PK\x05\x06", 0, "zip"),  # an empty archive
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"II*\x00", 0, "tiff"),
    (b"MM\x00*", 0, "tiff"),
    (b"%PDF", 0, "pdf"),
    (b"\xd0\xcf\x11\xe0", 0, "ole"),  # old Office documents (.xls, .doc)
)
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, struct.error)


def _latin1_for_undefined(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: a byte Windows-1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) reads as Latin-1."""
    if not isinstance(exc, UnicodeDecodeError):  # pragma: no cover - registered for decoding only
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error("medai_latin1_fallback", _latin1_for_undefined)


def sniff(data: bytes) -> str | None:
    """The container or binary format of ``data`` from its first bytes, or None for anything else (e.g. text).

    Returns:
        one of ``gzip``, ``zip``, ``dicom`` (the ``DICM`` preamble at byte 128), ``png``, ``jpeg``, ``tiff``,
        ``pdf``, ``ole`` (old Office documents), or None.
    """
    for magic, offset, kind in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return kind
    return None


def gunzip(data: bytes, *, name: str, error: type[InputError], limit: int | None = None) -> bytes:
    """The unpacked bytes of a gzip file, every member joined.

    Args:
        data: the compressed bytes (starting with the gzip magic number).
        name: how messages refer to the file.
        error: the domain's ``InputError`` subclass.
        limit: largest unpacked size in bytes (None: :data:`MAX_DECOMPRESSED_BYTES`).

    Raises:
        InputError: (``error``) a corrupt or truncated member, data after the last member, or more than ``limit``
            bytes unpacked.
    """
    cap = MAX_DECOMPRESSED_BYTES if limit is None else limit
    out = bytearray()
    rest = data
    problem = None
    while rest and problem is None:
        if rest[:2] != _GZIP_MAGIC:
            if rest.strip(b"\x00"):  # gzip allows zero padding after the last member, nothing else
                problem = "data after the last gzip member"
            break
        unpacker = zlib.decompressobj(wbits=31)
        try:
            out += unpacker.decompress(rest, cap + 1 - len(out))
        except zlib.error as exc:
            problem = str(exc)
            break
        if len(out) > cap or unpacker.unconsumed_tail:
            raise error(
                f"{name} unpacks to more than {cap / 2**20:g} MiB when decompressed, far more than this kind of file "
                "holds. Upload the file itself, uncompressed."
            )
        if not unpacker.eof:
            problem = "the compressed stream ends before its end marker (truncated file)"
        rest = unpacker.unused_data
    if problem is not None:
        raise error(
            f"{name} looks gzip-compressed but cannot be unpacked ({problem}): the file is damaged or truncated. "
            "Upload it again, or upload the uncompressed file."
        )
    return bytes(out)


def _safe_member_name(member: str) -> bool:
    path = PurePosixPath(member.replace("\\", "/"))
    return not (path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", member))


def unzip(data: bytes, *, name: str, error: type[InputError], max_bytes: int, advice: str) -> list[tuple[str, bytes]]:
    """The files of a zip archive as ``(member name, bytes)``, hidden files and ``__MACOSX`` entries left out.

    Args:
        data: the archive's bytes.
        name: how messages refer to it.
        error: the domain's ``InputError`` subclass.
        max_bytes: largest total unpacked size (the upload limit).
        advice: what the user should zip instead, ending the messages (e.g. "Zip the series folder itself.").

    Raises:
        InputError: (``error``) not a readable zip, more than :data:`MAX_ZIP_MEMBERS` files, a member name that
            escapes the archive, a member packed tighter than :data:`MAX_ZIP_RATIO` to 1, or a corrupt, encrypted
            or unsupported member.
        UploadTooLargeError: the members add up to more than ``max_bytes``.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _ZIP_ERRORS:
        raise error(f"{name} is not a readable zip archive. {advice}") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > MAX_ZIP_MEMBERS:
            raise error(f"{name} holds {len(infos):,} files, more than the {MAX_ZIP_MEMBERS:,} accepted. {advice}")
        unsafe = [i.filename for i in infos if not _safe_member_name(i.filename)]
        if unsafe:
            raise error(
                f"{name} contains unsafe file names that point outside the archive (e.g. {unsafe[0]!r}); "
                f"it was not opened. {advice}"
            )
        total = sum(i.file_size for i in infos)
        if total > max_bytes:
            raise UploadTooLargeError(
                f"{name} unpacks to {total / 2**20:.0f} MiB, above the {max_bytes / 2**20:.0f} MiB limit. {advice}"
            )
        dense = [i for i in infos if i.file_size > MAX_ZIP_RATIO * max(i.compress_size, 1)]
        if dense:
            ratio = dense[0].file_size / max(dense[0].compress_size, 1)
            raise error(
                f"{name}: {dense[0].filename!r} would unpack to {ratio:,.0f} times its packed size (at most "
                f"{MAX_ZIP_RATIO} are accepted); it looks like a zip bomb and was not opened. {advice}"
            )
        members: list[tuple[str, bytes]] = []
        read = 0
        for info in infos:
            if PurePosixPath(info.filename).name.startswith(".") or "__MACOSX" in info.filename:
                continue
            try:
                with archive.open(info) as handle:
                    member = handle.read(max_bytes - read + 1)
            except (*_ZIP_ERRORS, RuntimeError):  # corrupt member, bad CRC, unsupported method or encryption
                raise error(
                    f"{name}: a file inside the zip cannot be unpacked (corrupt, encrypted or compressed with an "
                    f"unsupported method). {advice}"
                ) from None
            read += len(member)
            if read > max_bytes:  # the headers understated the sizes
                raise UploadTooLargeError(f"{name} unpacks to more than the {max_bytes / 2**20:.0f} MiB limit")
            members.append((info.filename, member))
    return members


def refuse_binary(data: bytes, *, name: str, error: type[InputError], accepted: str) -> None:
    """Refuse bytes with a NUL in their first :data:`SNIFF_BYTES` (a binary file, not text).

    Raises:
        InputError: (``error``) naming ``accepted``.
    """
    if b"\x00" in data[:SNIFF_BYTES]:
        raise error(f"{name} is a binary file, not a text file. {accepted}")


def decode_text(data: bytes) -> str:
    """``data`` as text: UTF-8 without its byte-order mark, else :data:`TEXT_FALLBACK_ENCODING` (never fails)."""
    try:
        return data.decode("utf-8-sig").lstrip("\ufeff")
    except UnicodeDecodeError:
        return data.decode(TEXT_FALLBACK_ENCODING, errors="medai_latin1_fallback")


def check_lines(
    lines: Sequence[str],
    *,
    name: str,
    error: type[InputError],
    max_line_chars: int,
    advice: str,
    max_lines: int | None = None,
    max_columns: int | None = None,
) -> None:
    """Refuse text whose shape no accepted file has, before a parser allocates anything for it.

    Args:
        lines: the text's lines.
        name: how messages refer to the file.
        error: the domain's ``InputError`` subclass.
        max_line_chars: longest line accepted.
        advice: what is accepted, ending the messages.
        max_lines: most lines accepted (None: no limit here; the reader counts its rows).
        max_columns: most fields (split on comma, semicolon or tab, whichever is most) in the first
            :data:`WIDTH_SAMPLE_LINES` lines (None: not checked).

    Raises:
        InputError: (``error``) too many lines, a line too long, or a row too wide.
    """
    if max_lines is not None and len(lines) > max_lines:
        raise error(f"{name} has {len(lines):,} lines, more than the {max_lines:,} read from one file. {advice}")
    longest = max(map(len, lines), default=0)
    if longest > max_line_chars:
        raise error(f"{name} has a line of {longest:,} characters (at most {max_line_chars:,} are read). {advice}")
    if max_columns is not None:
        sample = lines[:WIDTH_SAMPLE_LINES]
        widest = max((max(line.count(","), line.count(";"), line.count("\t")) for line in sample), default=0)
        if widest + 1 > max_columns:
            raise error(f"{name} has a row of {widest + 1:,} columns (at most {max_columns:,} are read). {advice}")
