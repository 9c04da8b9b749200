"""The mutation operators of the fuzz command: bytes (flips, splices, truncation, ...), text (interesting numbers
and times, very wide headers, long lines, other encodings, ...), DICOM tag edits, PNG headers that claim huge sizes,
re-encoded images and zip members. Each domain's :attr:`~medai_core.fuzz.target.FuzzTarget.mutate_step` picks among
them for its formats; :func:`mutate` applies one to three steps."""

from __future__ import annotations

import gzip
import io
import random
import re
import struct
import warnings
import zipfile
import zlib
from collections.abc import Callable, Sequence

from medai_core.fuzz.target import fuzz_target

__all__ = [
    "MAX_CASE_BYTES",
    "bytes_op",
    "dicom_op",
    "image_op",
    "mutate",
    "png_op",
    "text_op",
    "text_step",
    "zip_op",
]

MAX_CASE_BYTES = 8 * 1024 * 1024
"""Largest mutated case; a longer one is cut (wide headers and long lines stay well within it)."""
_INTERESTING_NUMBERS = (
    "0", "-0", "-1", "1", "nan", "NaN", "inf", "-inf", "1e308", "-1e308", "1e-320", "99999999999999999999",
    "2147483648", "-2147483649", "65535", "", " ", "0.0000001", "1,5", "abc", "3.5.1",
)  # fmt: skip
_INTERESTING_BYTES = (0x00, 0xFF, 0x7F, 0x80, 0x0A, 0x0D, 0x2C, 0x09, 0x22, 0x5C)
_INTERESTING_TIMES = (
    "2025-03-03T00:00:00Z", "2025-03-03T00:00:00+05:00", "2025-03-31T02:30:00+02:00", "1900-01-01 00:00",
    "2125-01-01 00:00", "9999-12-31T23:59:59", "2025-13-45 25:61", "03/04/2025 12:00 AM", "", "NaT", "0",
)  # fmt: skip
_DICOM_TAGS: dict[str, tuple[str, ...]] = {
    "RescaleSlope": ("0", "-1", "NaN", "inf", "1e308", "", "abc", "0.0000001"),
    "RescaleIntercept": ("NaN", "-inf", "1e308", "", "-99999"),
    "PixelSpacing": ("0\\0", "-1\\-1", "NaN\\1", "inf\\inf", "1e308\\1e308", "", "1", "0.5\\0.5\\0.5"),
    "SliceThickness": ("0", "-1", "NaN", "1e308"),
    "ImagePositionPatient": ("NaN\\0\\0", "0\\0", "", "1e308\\1e308\\1e308", "0\\0\\0"),
    "ImageOrientationPatient": ("0\\0\\0\\0\\0\\0", "1\\0\\0", "", "NaN\\0\\0\\0\\1\\0"),
    "Rows": ("0", "1", "65535", "2"),
    "Columns": ("0", "1", "65535", "3"),
    "NumberOfFrames": ("0", "-1", "99999", "2"),
    "BitsAllocated": ("0", "1", "7", "32", "64"),
    "BitsStored": ("0", "17", "1"),
    "PixelRepresentation": ("1", "0", "2"),
    "SamplesPerPixel": ("0", "3", "4"),
    "PhotometricInterpretation": ("RGB", "PALETTE COLOR", "", "YBR_FULL"),
}


def bytes_op(rng: random.Random, data: bytes, other: bytes) -> tuple[bytes, str]:
    """One byte-level operator (flip, interesting byte, insert, delete, duplicate, truncate, splice with ``other``,
    zero run); random bytes for empty data."""
    b = bytearray(data)
    n = len(b)
    op = rng.choice(("flip", "byte", "insert", "delete", "duplicate", "truncate", "splice", "zero_run"))
    if n == 0:
        return bytes(rng.randbytes(rng.randint(1, 64))), "random"
    i = rng.randrange(n)
    if op == "flip":
        for _ in range(rng.randint(1, 8)):
            j = rng.randrange(n)
            b[j] ^= 1 << rng.randrange(8)
    elif op == "byte":
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(n)] = rng.choice(_INTERESTING_BYTES)
    elif op == "insert":
        b[i:i] = rng.randbytes(rng.randint(1, 256))
    elif op == "delete":
        del b[i : i + rng.randint(1, max(1, n // 8))]
    elif op == "duplicate":
        j = min(n, i + rng.randint(1, 4096))
        b[j:j] = b[i:j] * rng.randint(1, 16)
    elif op == "truncate":
        del b[i:]
    elif op == "splice":
        k = rng.randrange(len(other)) if other else 0
        b = b[:i] + bytearray(other[k:])
    else:
        b[i : i + rng.randint(1, 4096)] = bytes(rng.randint(1, 4096))
    return bytes(b), op


# ------------------------------------------------------------------------------------------------ text

_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_TIME = re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?|\d{2}-\d{2}-\d{4} \d{2}:\d{2} [AP]M")
_TextOp = Callable[[random.Random, bytes, list[bytes], Sequence[str]], bytes | None]
"""A text operator: ``(rng, data, its lines, VCF sample values) -> mutated bytes``, or None where it does not apply
(the case then gets a byte operator)."""


def _number(rng: random.Random, data: bytes, lines: list[bytes], vcf_values: Sequence[str]) -> bytes | None:
    found = list(_NUMBER.finditer(data))
    if not found:
        return None
    m = rng.choice(found)
    return data[: m.start()] + rng.choice(_INTERESTING_NUMBERS).encode() + data[m.end() :]


def _time(rng: random.Random, data: bytes, lines: list[bytes], vcf_values: Sequence[str]) -> bytes | None:
    found = list(_TIME.finditer(data))
    if not found:
        return None
    for m in sorted(rng.sample(found, min(len(found), rng.randint(1, 20))), key=lambda m: -m.start()):
        data = data[: m.start()] + rng.choice(_INTERESTING_TIMES).encode() + data[m.end() :]
    return data


def _wide_header(rng: random.Random, data: bytes, lines: list[bytes], vcf_values: Sequence[str]) -> bytes | None:
    sep = b"\t" if b"\t" in lines[0] else b","
    k = rng.randrange(len(lines))
    lines[k] = lines[k] + sep * rng.choice((200, 5_000, 170_000))
    return b"\n".join(lines)


def _long_line(rng: random.Random, data: bytes, lines: list[bytes], vcf_values: Sequence[str]) -> bytes | None:
    k = rng.randrange(len(lines))
    lines[k] = lines[k] + b"A" * rng.choice((70_000, 140_000, 300_000))
    return b"\n".join(lines)


def _repeat_line(rng: random.Random, data: bytes, lines: list[bytes], vcf_values: Sequence[str]) -> bytes | None:
    k = rng.randrange(len(lines))
    lines[k:k] = [lines[k]] * rng.choice((2, 100, 20_000))
    return b"\n".join(lines)


def _blank_field(rng: random.Random, data: bytes, lines: list[bytes], vcf_values: Sequence[str]) -> bytes | None:
    if len(lines) <= 1:
        return None
    k = rng.randrange(1, len(lines))
    sep = b"\t" if b"\t" in lines[k] else b","
    parts = lines[k].split(sep)
    parts[rng.randrange(len(parts))] = rng.choice((b"", b" ", b"NA", b"nan", b'"', b"-"))
    lines[k] = sep.join(parts)
    return b"\n".join(lines)


def _vcf_value(rng: random.Random, data: bytes, lines: list[bytes], vcf_values: Sequence[str]) -> bytes | None:
    if not vcf_values:
        return None
    found = list(re.finditer(rb"\t(0/1|0/0|0\|1):([^\t\n]*)", data))
    if not found:
        return None
    m = rng.choice(found)
    value = rng.choice(vcf_values).encode()
    repl = value if b":" in value or rng.random() < 0.5 else m.group(1) + b":" + value
    return data[: m.start() + 1] + repl + data[m.end() :]


def _encoding(rng: random.Random, data: bytes, lines: list[bytes], vcf_values: Sequence[str]) -> bytes | None:
    text = data.decode("utf-8", errors="replace")
    return text.encode(rng.choice(("utf-16", "utf-8-sig", "latin-1")), errors="replace")


def _header_name(rng: random.Random, data: bytes, lines: list[bytes], vcf_values: Sequence[str]) -> bytes | None:
    if not lines:
        return None
    sep = b"\t" if b"\t" in lines[0] else b","
    parts = lines[0].split(sep)
    if not parts:
        return None
    j = rng.randrange(len(parts))
    parts[j] = rng.choice((b"", parts[j].upper(), parts[j] + b" ", b"Glucose Value", b"Event Type", b"gene"))
    lines[0] = sep.join(parts)
    return b"\n".join(lines)


def _drop_lines(rng: random.Random, data: bytes, lines: list[bytes], vcf_values: Sequence[str]) -> bytes | None:
    if len(lines) <= 2:
        return None
    i = rng.randrange(1, len(lines))
    del lines[i : i + rng.randint(1, len(lines))]
    return b"\n".join(lines)


_TEXT_OPS: dict[str, _TextOp] = {
    "number": _number,
    "time": _time,
    "wide_header": _wide_header,
    "long_line": _long_line,
    "repeat_line": _repeat_line,
    "blank_field": _blank_field,
    "vcf_value": _vcf_value,
    "encoding": _encoding,
    "header_name": _header_name,
    "drop_lines": _drop_lines,
}
_TEXT_DRAW = ("number", "number", "time", "wide_header", "long_line", "repeat_line", "blank_field", "vcf_value",
              "encoding", "header_name", "drop_lines")  # fmt: skip
"""The text operators as drawn (numbers twice as often)."""


def text_op(rng: random.Random, data: bytes, vcf_values: Sequence[str] = ()) -> tuple[bytes, str]:
    """One text operator on ``data`` (a byte operator where the drawn one does not apply).

    Args:
        rng: the seeded random source.
        data: the text's bytes.
        vcf_values: values for a VCF call's sample fields (``GT:AD``); empty: the ``vcf_value`` operator does not
            apply.
    """
    op = rng.choice(_TEXT_DRAW)
    mutated = _TEXT_OPS[op](rng, data, data.split(b"\n"), vcf_values)
    if mutated is None:
        return bytes_op(rng, data, b"")
    return mutated, op


def text_step(rng: random.Random, data: bytes, other: bytes, vcf_values: Sequence[str] = ()) -> tuple[bytes, str]:
    """A text format's mutation step: mostly a text operator (inside the gzip wrapping where the data is gzipped,
    sometimes adding one), otherwise a byte operator."""
    if rng.random() >= 0.7:
        return bytes_op(rng, data, other)
    gz = data[:2] == b"\x1f\x8b"
    if gz:
        data = gzip.decompress(data)
    data, op = text_op(rng, data, vcf_values)
    if gz or rng.random() < 0.05:
        data, op = gzip.compress(data, mtime=0), op + "+gzip"
    return data, op


# ------------------------------------------------------------------------------------------------ binary formats


def dicom_op(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Set one DICOM tag of a file to a value no scanner writes (raw text for DS/IS/CS values).

    Raises:
        Exception: pydicom cannot parse the file (the caller falls back to byte mutations).
    """
    import pydicom
    from pydicom import config

    old = config.settings.writing_validation_mode
    config.settings.writing_validation_mode = config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(io.BytesIO(data), force=True)
            ds.decode()  # raises for a seed pydicom cannot parse: the caller falls back to byte mutations
            keyword = rng.choice(tuple(_DICOM_TAGS))
            value = rng.choice(_DICOM_TAGS[keyword])
            vr = pydicom.datadict.dictionary_VR(keyword)
            if vr in ("US", "SS", "UL", "SL") and value.lstrip("-").isdigit():
                setattr(ds, keyword, int(value) & 0xFFFF if vr == "US" else int(value))
            else:
                ds.add_new(keyword, vr, value)  # raw text (DS/IS/CS): exactly what a hostile file can hold
            out = io.BytesIO()
            ds.save_as(out, enforce_file_format=False)
            return out.getvalue(), f"dicom:{keyword}={value!r}"
    finally:
        config.settings.writing_validation_mode = old


def png_op(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """A PNG whose header claims a huge (or empty) size, with a valid checksum."""
    width, height = rng.choice(((20000, 20000), (65535, 1), (1, 65535), (0, 64), (100000, 100000)))
    body = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
    return data[:12] + body + struct.pack(">I", zlib.crc32(body)) + data[33:], f"png_ihdr:{width}x{height}"


def image_op(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Change the decoded pixels or the image mode and re-encode (byte flips alone fail the PNG checksums)."""
    import numpy as np
    from PIL import Image

    with Image.open(io.BytesIO(data)) as opened:
        pixels = np.asarray(opened.convert("L"), dtype=np.uint8).copy()
    how = rng.choice(("rectangle", "noise", "constant", "resize", "rgb", "16bit", "tiny", "transpose"))
    h, w = pixels.shape
    if how == "rectangle":
        r, c = rng.randrange(h), rng.randrange(w)
        pixels[r : r + rng.randint(1, h), c : c + rng.randint(1, w)] = rng.choice((0, 1, 128, 255))
    elif how == "noise":
        pixels = np.random.default_rng(rng.randrange(2**32)).integers(0, 256, pixels.shape, dtype=np.uint8)
    elif how == "constant":
        pixels[:] = rng.choice((0, 1, 255))
    elif how == "resize":
        size = (rng.choice((1, 7, 33, 64, 300, 1024)), rng.choice((1, 7, 33, 64, 300, 1024)))
        pixels = np.asarray(Image.fromarray(pixels).resize(size), dtype=np.uint8)
    elif how == "tiny":
        pixels = pixels[: rng.randint(1, 4), : rng.randint(1, 4)]
    elif how == "transpose":
        pixels = np.ascontiguousarray(pixels.T)
    image = Image.fromarray(pixels)
    if how == "rgb":
        image = image.convert("RGB")
    elif how == "16bit":
        image = Image.fromarray(pixels.astype(np.uint16) * 257)
    out = io.BytesIO()
    image.save(out, format=rng.choice(("PNG", "PNG", "TIFF", "JPEG")) if how != "16bit" else "PNG")
    return out.getvalue(), f"image:{how}"


def zip_op(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """Change one member of a zip archive (a DICOM tag edit, dropped, duplicated, truncated, an unsafe path) or add
    a junk member, and write the archive again."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    k = rng.randrange(len(members))
    name, member = members[k]
    how = rng.choice(("dicom", "dicom", "drop", "duplicate", "truncate", "junk_member", "nested_path"))
    if how == "dicom":
        member, op = dicom_op(rng, member)
        members[k] = (name, member)
    elif how == "drop":
        del members[k]
        op = "drop_member"
    elif how == "duplicate":
        members.append((name + "_copy.dcm", member))
        op = "duplicate_member"
    elif how == "truncate":
        members[k] = (name, member[: rng.randrange(len(member) + 1)])
        op = "truncate_member"
    elif how == "junk_member":
        members.append(("notes.txt", rng.randbytes(100)))
        op = "junk_member"
    else:
        members[k] = ("../../" + name, member)
        op = "unsafe_path"
    out = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        warnings.simplefilter("ignore")  # duplicate member names are one of the mutations, not a mistake
        for member_name, content in members:
            archive.writestr(member_name, content)
    return out.getvalue(), f"zip:{op}"


def mutate(rng: random.Random, data: bytes, domain: str, other: bytes = b"") -> tuple[bytes, tuple[str, ...]]:
    """Apply 1-3 mutation steps of ``domain`` (its :attr:`~medai_core.fuzz.target.FuzzTarget.mutate_step`).

    Args:
        rng: the seeded random source (a run is reproducible from its seed).
        data: the seed bytes.
        domain: ``ct``, ``glucose`` or ``genes``.
        other: another seed, for splicing.

    Returns:
        (mutated bytes, names of the operators applied).
    """
    step = fuzz_target(domain).mutate_step
    ops: list[str] = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        try:
            data, op = step(rng, data, other)
        except Exception:  # a seed the structured operator cannot handle: mutate its bytes instead
            data, op = bytes_op(rng, data, other)
        if len(data) > MAX_CASE_BYTES:  # several growing operators in a row: keep cases at upload-like sizes
            data, op = data[:MAX_CASE_BYTES], op + "+cut"
        ops.append(op)
    return data, tuple(ops)
